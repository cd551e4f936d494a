#!/bin/bash
# The tern demo: checkpoint an unmodified MPI job, kill it, restart it, get the
# same answer. The program is the CG workload built without tern
# (tests/transparent: its binary calls nothing of tern's), so tern runs it in
# transparent mode: each rank under tern-proxy (docs/transparent.md).
#   1. install the dependencies (jobs/install-deps.sh, as root)
#   2. build into ./build
#   3. run the CG workload uninterrupted: the reference answer
#   4. run it again under `tern run`, ask for a checkpoint with `tern checkpoint`
#   5. simulate a failure: kill -9 mpirun and every rank
#   6. `tern restart` from the checkpoint
#   7. compare: exit 0 only when the answer is bit-identical to the reference
# Environment: DEMO_NP (ranks, default 4), DEMO_ITERS (default 300),
# BUILD_DIR (default ./build), DEMO_SKIP_INSTALL=1, DEMO_KEEP=1 (keep the work dir).
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT" || exit 1
BUILD=${BUILD_DIR:-$ROOT/build}
NP=${DEMO_NP:-4}
ITERS=${DEMO_ITERS:-300}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
n=0
step() { n=$((n + 1)); printf '\n=== %d/7 %s\n' "$n" "$*"; }
die() { printf '\ndemo: FAILED: %s\n' "$*" >&2; exit 1; }
jobpid=

step "install dependencies (jobs/install-deps.sh)"
if [ -n "${DEMO_SKIP_INSTALL:-}" ]; then
  echo "skipped (DEMO_SKIP_INSTALL)"
elif [ "$(id -u)" = 0 ]; then
  bash jobs/install-deps.sh || die "jobs/install-deps.sh failed"
  echo "dependencies are installed"
else
  echo "not root: not installing; the build below says what is missing"
fi

step "build (cmake into $BUILD)"
cmake -S . -B "$BUILD" > "$BUILD.cmake.log" 2>&1 ||
  { tail -20 "$BUILD.cmake.log"; die "cmake configure failed (log: $BUILD.cmake.log)"; }
targets=(tern tern-proxy tm_cg)
# everything (so that `ctest --test-dir build` works afterwards); if some
# part does not build, what the demo needs may still
if ! cmake --build "$BUILD" -j2 > "$BUILD.build.log" 2>&1; then
  echo "the full build failed (log: $BUILD.build.log); building what the demo needs: ${targets[*]}"
  cmake --build "$BUILD" -j2 --target "${targets[@]}" >> "$BUILD.build.log" 2>&1 ||
    { grep -E 'error|Error' "$BUILD.build.log" | head -20; die "build failed (log: $BUILD.build.log)"; }
fi
TERN=$BUILD/jobs/tern
APP=$BUILD/tests/transparent/tm_cg
[ -x "$TERN" ] || die "the tern command was not built"
LIB=$(find "$BUILD" -name libtern.so -print -quit 2>/dev/null)
[ -n "$LIB" ] || die "libtern.so was not built (coord/, mpiwrap/): nothing to checkpoint with"
export TERN_LIB=$LIB
[ -x "$APP" ] || die "the plain CG program (tests/transparent/tm_cg) was not built"
nm -D "$APP" | grep -q tern && die "$APP refers to tern: not an unmodified program"
echo "built: $TERN, $LIB, $APP"

W=$(mktemp -d /tmp/tern-demo.XXXXXX)
cleanup() {
  [ -n "$jobpid" ] && kill -9 "$jobpid" 2>/dev/null
  [ -n "${DEMO_KEEP:-}" ] && echo "work dir kept: $W" || rm -rf "$W"
}
trap cleanup EXIT
cd "$W" || die "no work dir"
MPI=(--oversubscribe --bind-to none -np "$NP")
ARGS=(--iters "$ITERS" --size 4096)

step "reference: CG on $NP ranks, uninterrupted, plain mpirun"
echo "\$ mpirun ${MPI[*]} cg ${ARGS[*]}"
mpirun "${MPI[@]}" "$APP" "${ARGS[@]}" > ref.out 2>&1 || { cat ref.out; die "the reference run failed"; }
ref=$(grep -m1 '^RESULT ' ref.out | awk '{print $2}')
[ -n "$ref" ] || die "the reference run printed no RESULT"
echo "reference answer: RESULT $ref"

step "tern run, and a checkpoint with tern checkpoint while it runs"
echo "\$ tern run --job cg -- ${MPI[*]} cg ${ARGS[*]} --sleep-us 20000 &"
TERN_JOBS_VERBOSE=1 "$TERN" run --job cg -- "${MPI[@]}" "$APP" "${ARGS[@]}" --sleep-us 20000 > run.out 2> run.err &
jobpid=$!
for ((i = 0; i < 200; i++)); do grep -q '^started' tern-ckpt/cg/events 2>/dev/null && break; sleep 0.1; done
grep -q '^started' tern-ckpt/cg/events 2>/dev/null || { cat run.err; die "the job did not start under tern"; }
grep -q 'tern-proxy' run.err || { cat run.err; die "the job did not run in transparent mode"; }
echo "transparent mode: each rank runs under tern-proxy"
sleep 2
echo "\$ tern checkpoint"
ck=$("$TERN" checkpoint --timeout 60) || { cat run.err; die "tern checkpoint failed"; }
echo "committed: $ck"
sleep 1
grep '^tern: checkpoint' run.err

step "failure: kill -9 of mpirun and every rank"
mp=$(sed -n 's/^mpirun_pid=//p' tern-ckpt/cg/job)
ranks=$(ps -o pid= --ppid "$mp" 2>/dev/null | tr '\n' ' ')
echo "\$ kill -9 $mp $ranks"
kill -9 "$mp" $ranks 2>/dev/null
wait "$jobpid"
st=$?
jobpid=
echo "tern run returned $st (the job died)"
grep -q '^RESULT' run.out && die "the killed job finished anyway: kill it earlier (DEMO_ITERS)"

step "tern restart from the latest checkpoint"
[ -x "$BUILD/jobs/tern" ] && "$TERN" ls tern-ckpt/cg 2>/dev/null
echo "\$ tern restart"
"$TERN" restart > restart.out 2> restart.err || { cat restart.out restart.err; die "tern restart failed"; }
cat restart.err
grep -q '^restarted epoch=' tern-ckpt/cg/events || die "the restarted job did not restart from the checkpoint"
grep '^restarted epoch=' tern-ckpt/cg/events

step "compare with the reference"
got=$(grep -m1 '^RESULT ' restart.out | awk '{print $2}')
echo "reference: RESULT $ref"
echo "restarted: RESULT ${got:-none}"
[ "$got" = "$ref" ] || die "the answers differ"
echo
echo "demo: PASSED: checkpointed, killed, restarted, and the answer is bit-identical"
