#!/bin/bash
# jobs.slurm_tm_requeue: jobs.slurm_requeue with an unmodified MPI binary.
# A real Slurm on localhost runs jobs/slurm/tern.sbatch with a 1-minute time
# limit and --signal=B:USR1@50 on tm_cg, a plain MPI program (no tern call in
# it, so it never prints RESUMED), which `tern run` runs in transparent mode:
# one tern-proxy per rank. The program needs ~60 s, more than one run can
# give it. On USR1 the script checkpoints and stops the job (`tern checkpoint
# --stop`: the proxies dump their applications) and requeues it; the requeued
# job `tern restart`s under new proxies (as often as needed) and finishes with
# the RESULT of an uninterrupted native run. Nothing may be left running.
here=$(cd "$(dirname "$0")" && pwd)
source "$here/common.sh"
source "$here/slurm.sh"
slurm_test_begin
need TM_APP
APP=$TM_APP
ARGS=(--iters 550 --size 1024)

reference_run "2 ranks, native, uninterrupted" timeout 100 mpirun --oversubscribe -np 2 "$APP" "${ARGS[@]}"

say "sbatch --time=1 --signal=B:USR1@50 (the program needs ~60 s: more than one run)"
jid=$(TERN=$TERN TERN_JOBDIR=$W/ck MPIRUN_OPTS="--bind-to none" TERN_JOBS_VERBOSE=1 \
      sbatch --parsable -n 2 --time=1 --signal=B:USR1@50 -J terntm -o "$W/slurm-%j.out" \
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
out=$W/slurm-$jid.out
grep -v setpgid "$out"
say "state $state, restarts $restarts"
if [ "$state" != COMPLETED ]; then
  tail -n 15 "$TS_WORK/slurmctld.log" "$TS_WORK/slurmd.log"
  fail "job ended $state"
fi
[ "${restarts:-0}" -ge 1 ] || fail "the job was never requeued"
grep -q "tern run: running: .*tern-proxy -- $APP" "$out" || fail "tern run did not run the program under tern-proxy"
stops=$(grep -c 'tern.sbatch: .* checkpoint committed' "$out")
resumes=$(grep -c 'tern.sbatch: .* restart from the latest checkpoint' "$out")
proxied=$(grep -c "tern restart: running: .*tern-proxy -- $APP" "$out")
say "$stops checkpoint-and-stop(s), $resumes restart(s), $proxied under tern-proxy"
[ "$stops" -ge 1 ] || fail "no checkpoint was committed on USR1"
[ "$resumes" -ge "$restarts" ] || fail "$restarts requeues but $resumes restarts from a checkpoint"
[ "$proxied" -ge "$resumes" ] || fail "a restart did not run the program under tern-proxy"
# every checkpoint of this plain program must be taken (a refusal is a bug,
# even though the script recovers from it with the previous checkpoint)
! grep -q 'checkpoint failed' "$out" || fail "a checkpoint failed"
# a run ends by its stop or, the last one, by the program's end: one RESULT,
# in this job's output (not lost, nor another program's)
[ "$(grep -c '^RESULT' "$out")" = 1 ] || fail "$(grep -c '^RESULT' "$out") RESULT lines, want 1"
got=$(grep '^RESULT' "$out" | awk '{print $2}')
[ "$got" = "$ref" ] || fail "RESULT $got, reference $ref"
# the proxies and the applications ended with their runs
sleep 1
left=$(pgrep -af -- "$APP ${ARGS[*]}")
[ -z "$left" ] || fail "processes left: $left"
say "RESULT $got after $restarts requeue(s) of an unmodified binary: identical to the native run"
say "PASSED"
