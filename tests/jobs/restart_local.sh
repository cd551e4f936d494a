#!/bin/bash
# jobs.restart_local: on this machine, a 4-rank job under `tern run` is
# checkpointed twice (`tern checkpoint --json`, then USR1 sent to tern run),
# killed with SIGKILL (mpirun and every rank), and `tern restart` finishes it
# from the second checkpoint with the same answer as an uninterrupted run.
# Also checks the progress line printed per checkpoint.
here=$(cd "$(dirname "$0")" && pwd)
source "$here/common.sh"
need TERN TERN_APPS_DIR
APP=$TERN_APPS_DIR/${TJ_APP:-cg}
need APP
W=$(mktemp -d /tmp/tern-jobs-local.XXXXXX)
runpid=
cleanup() {
  [ -n "$runpid" ] && kill -9 "$runpid" 2>/dev/null
  rm -rf "$W"
}
trap cleanup EXIT
cd "$W" || exit 1
ARGS=(--iters 200 --size 1024)
MPI=(--oversubscribe --bind-to none -np 4)

reference_run "uninterrupted" timeout 100 mpirun "${MPI[@]}" "$APP" "${ARGS[@]}"

say "tern run (20 ms per iteration)"
"$TERN" run --job local -- "${MPI[@]}" "$APP" "${ARGS[@]}" --sleep-us 20000 > run.out 2> run.err &
runpid=$!
for ((i = 0; i < 100; i++)); do grep -q '^started' tern-ckpt/local/events 2>/dev/null && break; sleep 0.1; done
grep -q '^started' tern-ckpt/local/events || { cat run.err; fail "the job did not start"; }
sleep 0.5
js=$("$TERN" checkpoint --json --timeout 30) || { echo "$js"; cat run.err; fail "tern checkpoint"; }
say "tern checkpoint --json: $js"
echo "$js" | grep -q '^{"status":"committed","job_dir":"[^"]*/tern-ckpt/local","epoch":1,"path":"[^"]*ckpt-0*1.h5"}$' ||
  fail "unexpected tern checkpoint --json output"
say "USR1 to tern run (forwarded through mpirun to the ranks)"
kill -USR1 $runpid
for ((i = 0; i < 200; i++)); do grep -q '^committed epoch=2' tern-ckpt/local/events && break; sleep 0.1; done
grep -q '^committed epoch=2' tern-ckpt/local/events || { cat run.err; fail "no checkpoint after USR1"; }
say "checkpoint 2 committed"
mp=$(sed -n 's/^mpirun_pid=//p' tern-ckpt/local/job)
ranks=$(ps -o pid= --ppid "$mp" 2>/dev/null | tr '\n' ' ')
say "failure: kill -9 mpirun ($mp) and its ranks ($ranks)"
kill -9 $mp $ranks
wait $runpid
st=$?
runpid=
say "tern run ended with status $st"
[ $st != 0 ] || fail "tern run returned 0 after SIGKILL"
grep -q '^RESULT' run.out && fail "the killed run printed a RESULT"
grep -E '^tern: checkpoint epoch 1: [0-9.]+ [KMG]?i?B stored as [0-9.]+ [KMG]?i?B \(ratio [0-9.]+\) in [0-9.]+ s, [0-9.]+ GB/s: .*ckpt-0*1\.h5$' run.err ||
  { cat run.err; fail "no progress line for checkpoint 1"; }
grep -E '^tern: checkpoint epoch 2: ' run.err || fail "no progress line for checkpoint 2"

say "tern restart"
timeout 100 "$TERN" restart > restart.out 2> restart.err || { cat restart.out restart.err; fail "tern restart"; }
cat restart.err
grep '^RESUMED' restart.out | grep -q 'epoch=2' || fail "did not resume from checkpoint 2"
got=$(result_of restart.out)
[ "$got" = "$ref" ] || fail "RESULT $got after restart, reference $ref"
say "RESULT $got: identical to the uninterrupted run"
say "PASSED"
