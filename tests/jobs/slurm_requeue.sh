#!/bin/bash
# jobs.slurm_requeue: a real Slurm on localhost runs jobs/slurm/tern.sbatch
# with a 1-minute time limit and --signal=B:USR1@50. The job outlives its
# limit: on USR1 the script checkpoints and stops the job and requeues it;
# the requeued job restarts from that checkpoint (as often as needed) and
# finishes with the answer of an uninterrupted run.
# Slurm holds a requeued job for a while (Reason=BeginTime); the test
# releases it at once with `scontrol update StartTime=now`.
here=$(cd "$(dirname "$0")" && pwd)
source "$here/common.sh"
source "$here/slurm.sh"
slurm_test_begin
ARGS=(--iters 550 --size 1024)

reference_run "2 ranks, uninterrupted" timeout 100 mpirun --oversubscribe -np 2 "$APP" "${ARGS[@]}"

say "sbatch --time=1 --signal=B:USR1@50 (the program needs ~60 s: more than one run)"
jid=$(TERN=$TERN TERN_JOBDIR=$W/ck MPIRUN_OPTS="--bind-to none" \
      sbatch --parsable -n 2 --time=1 --signal=B:USR1@50 -J ternslurm -o "$W/slurm-%j.out" \
      "$SBATCH_FILE" "$APP" "${ARGS[@]}" --sleep-us 100000) || fail "sbatch"
say "job $jid submitted"
t0=$(date +%s)
last=
while :; do
  st=$(squeue -h -j "$jid" -o '%T %r' 2>/dev/null)
  [ "$st" != "$last" ] && say "job $jid: ${st:-finished}" && last=$st
  [ -z "$st" ] && break
  # release the requeued job once the node has finished the previous run
  if [[ $st == "PENDING BeginTime" ]] && [ "$(sinfo -h -o %T)" = idle ]; then
    sleep 1
    scontrol update jobid="$jid" StartTime=now
  fi
  [ $(($(date +%s) - t0)) -lt 200 ] || { scontrol cancel "$jid"; cat "$W"/slurm-*.out; fail "job still there after 200 s"; }
  sleep 1
done
info=$(scontrol show job "$jid" 2>/dev/null)
restarts=$(echo "$info" | grep -o 'Restarts=[0-9]*' | cut -d= -f2)
state=$(echo "$info" | grep -o 'JobState=[A-Z_]*' | cut -d= -f2)
cat "$W"/slurm-*.out | grep -v setpgid
say "state $state, restarts $restarts"
if [ "$state" != COMPLETED ]; then
  tail -15 "$TS_WORK/slurmctld.log" "$TS_WORK/slurmd.log"
  fail "job ended $state"
fi
[ "${restarts:-0}" -ge 1 ] || fail "the job was never requeued"
grep -q '^RESUMED' "$W"/slurm-*.out || fail "no run resumed from a checkpoint"
got=$(grep '^RESULT' "$W"/slurm-*.out | tail -1 | awk '{print $2}')
[ "$got" = "$ref" ] || fail "RESULT $got, reference $ref"
say "RESULT $got after $restarts requeue(s): identical to the uninterrupted run"
say "PASSED"
