#!/bin/bash
# jobs.no_snapshot: an unmodified MPI program (no tern call) under tern run
# in API mode (--mode api; by default it would run in transparent mode).
# It runs as natively (same RESULT); tern run warns at start that it cannot
# be checkpointed; tern checkpoint answers at once (not after its timeout)
# with the reason; tern run --interval warns at start too.
here=$(cd "$(dirname "$0")" && pwd)
source "$here/common.sh"
need TERN PLAIN_LOOP
W=$(mktemp -d /tmp/tern-jobs-plain.XXXXXX)
runpid=
cleanup() {
  [ -n "$runpid" ] && kill -9 "$runpid" 2>/dev/null
  rm -rf "$W"
}
trap cleanup EXIT
cd "$W" || exit 1
MPI=(--oversubscribe --bind-to none -np 2)
WHY='the application has no snapshot points (it does not call tern_snapshot(); API mode checkpoints only there)'

reference_run "natively" timeout 60 mpirun "${MPI[@]}" "$PLAIN_LOOP" 150 20
"$TERN" run --job plain --mode api -- "${MPI[@]}" "$PLAIN_LOOP" 150 20 > run.out 2> run.err &
runpid=$!
for ((i = 0; i < 200; i++)); do grep -q '^no_snapshot_points' tern-ckpt/plain/events 2>/dev/null && break; sleep 0.05; done
grep -qx "no_snapshot_points reason=$WHY" tern-ckpt/plain/events || { cat run.err; fail "no no_snapshot_points event"; }
t0=$(date +%s.%N)
expect_err "tern checkpoint: $W/tern-ckpt/plain: checkpoint failed: $WHY" 1 \
  "$TERN" checkpoint --timeout 60 tern-ckpt/plain || fail "tern checkpoint's answer"
dt=$(awk -v a="$(date +%s.%N)" -v b="$t0" 'BEGIN{print a-b}')
awk -v d="$dt" 'BEGIN{exit !(d < 5)}' || fail "tern checkpoint took $dt s to answer"
kill -0 $runpid 2>/dev/null || fail "the job had ended before tern checkpoint answered: the test proves nothing"
wait $runpid || { cat run.err; fail "tern run ended with status $?"; }
runpid=
[ "$(result_of run.out)" = "$ref" ] || fail "RESULT $(result_of run.out) under tern, $ref natively"
grep -qx "tern: warning: this job cannot be checkpointed: $WHY" run.err || { cat run.err; fail "no warning from tern run"; }
say "tern checkpoint answered in $dt s"

"$TERN" run --job plain2 --mode api --interval 1 -- "${MPI[@]}" "$PLAIN_LOOP" 20 10 > run2.out 2> run2.err || fail "tern run --interval: status $?"
grep -qx "tern: rank 0: TERN_INTERVAL=1: no checkpoint will be taken: $WHY" run2.err || { cat run2.err; fail "no warning for --interval"; }
say "PASSED"
