#!/bin/bash
# jobs.slurm_failure: jobs/slurm/tern.sbatch under a real Slurm on localhost;
# the program checkpoints (--ckpt-at) and then crashes (--die-at: every rank
# exits 42). The script's loop sees the failed run, asks Slurm which nodes
# failed (none here), and `tern restart`s from the checkpoint within the same
# allocation; the job completes with the answer of an uninterrupted run.
here=$(cd "$(dirname "$0")" && pwd)
source "$here/common.sh"
source "$here/slurm.sh"
slurm_test_begin
ARGS=(--iters 200 --size 1024)

reference_run "2 ranks, uninterrupted" timeout 100 mpirun --oversubscribe -np 2 "$APP" "${ARGS[@]}"

say "sbatch: checkpoint at iteration 50, crash at 120"
jid=$(TERN=$TERN TERN_JOBDIR=$W/ck MPIRUN_OPTS="--bind-to none" \
      sbatch --parsable -n 2 --time=2 -J ternfail -o "$W/slurm-%j.out" \
      "$SBATCH_FILE" "$APP" "${ARGS[@]}" --ckpt-at 50 --die-at 120) || fail "sbatch"
t0=$(date +%s)
while [ -n "$(squeue -h -j "$jid" 2>/dev/null)" ]; do
  [ $(($(date +%s) - t0)) -lt 100 ] || { scontrol cancel "$jid"; cat "$W"/slurm-*.out; fail "job still there after 100 s"; }
  sleep 1
done
info=$(scontrol show job "$jid" 2>/dev/null)
state=$(echo "$info" | grep -o 'JobState=[A-Z_]*' | cut -d= -f2)
grep -v setpgid "$W"/slurm-*.out
say "state $state"
[ "$state" = COMPLETED ] || fail "job ended $state"
grep -q 'dying at it=120' "$W"/slurm-*.out || fail "the first run did not crash"
grep -q 'tern.sbatch: .* restart from the latest checkpoint' "$W"/slurm-*.out || fail "the script did not restart"
grep -q '^RESUMED it=5[01] epoch=1' "$W"/slurm-*.out || fail "no resume from the checkpoint at iteration 50"
got=$(grep '^RESULT' "$W"/slurm-*.out | tail -1 | awk '{print $2}')
[ "$got" = "$ref" ] || fail "RESULT $got, reference $ref"
say "RESULT $got after a crash and a restart inside the allocation: identical"
say "PASSED"
