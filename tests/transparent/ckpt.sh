#!/bin/bash
# ckpt.sh NP NTRIG APP [ARGS...]: an unmodified MPI program (no tern call in
# it) in transparent mode is checkpointed at NTRIG random moments (SIGUSR1
# to mpirun, forwarded to every proxy), every process of the job is killed
# with SIGKILL after the last commit, and the job restarted from its latest
# checkpoint under new proxies must print the RESULT of an uninterrupted
# native run, bit for bit. Prints PASS, or "FAIL: " and why.
# env: TERN_PROXY, TERN_MPIEXEC (common.sh), SEED (the random moments)
set -u
. "$(dirname "$0")/common.sh"
np=$1 ntrig=$2
shift 2
app=$1
seed=${SEED:-$$}
RANDOM=$seed
echo "seed $seed"
dir=$work/job
commits() { local n; n=$(grep -c '^committed' "$dir/events" 2>/dev/null); echo "${n:-0}"; }
die() {
    echo "FAIL: $*"
    for f in "$work"/*.err "$work"/run.out; do [ -s "$f" ] && { echo "--- $f"; tail -20 "$f"; }; done
    [ -f "$dir/events" ] && { echo "--- events"; tail -20 "$dir/events"; }
    exit 1
}
rsleep() { local ms=$(( $1 + RANDOM % ($2 - $1 + 1) )); sleep "$(printf '%d.%03d' $((ms / 1000)) $((ms % 1000)))"; }
# this job's processes only (other tests may run the same program)
tree() { local c; for c in $(ps -o pid= --ppid "$1"); do echo "$c"; tree "$c"; done; }
proxies() { local p; for p in $(tree "$1"); do [ "$(ps -o comm= -p "$p")" = tern-proxy ] && echo "$p"; done; }
# a test killed by its timeout leaves nothing behind either
cleanup() { [ -n "${pid:-}" ] && kill -9 "$pid" $(tree "$pid") 2>/dev/null; rm -rf "$work"; }
[ -n "${TERN_TM_KEEP:-}" ] || trap cleanup EXIT
trap 'exit 1' TERM INT
killall9() {
    local all; all=$(tree "$1")
    kill -9 "$1" $all 2>/dev/null
    wait "$1" 2>/dev/null
}

# 1. the reference, native
tm_mpirun "$np" "$@" >"$work/ref.out" 2>"$work/ref.err" || die "the native run failed"
ref=$(grep '^RESULT' "$work/ref.out")
[ -n "$ref" ] || die "the native run printed no RESULT"

# 2. under the proxies, checkpointed at random moments, then killed
("$TERN_MPIEXEC" --oversubscribe --bind-to none -np "$np" -x TERN_TM_TAG="$work" -x TERN_TM_DEBUG=1 -x TERN_DIR="$dir" "$TERN_PROXY" -- "$@" \
    >"$work/run.out" 2>"$work/run.err" </dev/null) &
pid=$!
# a trigger before MPI_Init returns is dropped (as in API mode): wait for it
for i in $(seq 300); do grep -q '^started' "$dir/events" 2>/dev/null && break; sleep 0.02; done
for k in $(seq "$ntrig"); do
    rsleep 150 600
    kill -0 $pid 2>/dev/null || die "the job ended before checkpoint $k (make it run longer)"
    want=$(( $(commits) + 1 ))
    kill -USR1 $(proxies $pid) 2>/dev/null
    t=0
    while [ "$(commits)" -lt "$want" ]; do
        grep -q '^failed' "$dir/events" 2>/dev/null && die "checkpoint $k failed: $(grep '^failed' "$dir/events" | tail -1)"
        kill -0 $pid 2>/dev/null || die "the job ended before checkpoint $k was committed"
        sleep 0.02
        t=$((t + 1))
        [ $t -gt 1500 ] && { killall9 $pid; die "checkpoint $k was not committed within 30 s"; }
    done
    echo "checkpoint $k: $(grep '^committed' "$dir/events" | tail -1 | cut -d' ' -f1-6)"
done
killall9 $pid
grep -q '^RESULT' "$work/run.out" && die "the job finished before it was killed (make it run longer)"

# 3. restarted from the latest checkpoint, under new proxies
TM_TIMEOUT=120 tm_mpirun "$np" -x TERN_TM_TAG="$work" -x TERN_DIR="$dir" -x TERN_RESTART="$dir" "$TERN_PROXY" -- "$@" \
    >"$work/rst.out" 2>"$work/rst.err" || die "the restarted job failed"
got=$(grep '^RESULT' "$work/rst.out")
[ "$got" = "$ref" ] || die "restarted RESULT '$got', native '$ref'"
echo "restarted: $got, as natively"
# nothing of the restarted job is left (its processes carry TERN_TM_TAG)
sleep 0.5
left=$(grep -lsz "^TERN_TM_TAG=$work\$" /proc/[0-9]*/environ 2>/dev/null | cut -d/ -f3 | tr '\n' ' ')
[ -z "$left" ] || die "processes left after the restarted job: $left"
echo PASS
