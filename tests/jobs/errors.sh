#!/bin/bash
# jobs.errors: the one-line error messages of tern run / checkpoint / restart /
# migrate, exact text and exit status. Checkpoints come from mkckpt (the
# store, no libtern), jobs are faked with job files.
here=$(cd "$(dirname "$0")" && pwd)
source "$here/common.sh"
need TERN MKCKPT
W=$(mktemp -d /tmp/tern-jobs-errors.XXXXXX)
trap 'kill $sleeper 2>/dev/null; rm -rf "$W"' EXIT
cd "$W" || exit 1
H=$(hostname -s)
bad=0
e() { expect_err "$@" || bad=$((bad + 1)); }

# ---- no such job / not a job -------------------------------------------------
e "tern checkpoint: no such job directory: /nonexistent/job" 2 "$TERN" checkpoint /nonexistent/job
e "tern restart: no such job directory: /nonexistent/job" 2 "$TERN" restart --dir /nonexistent/job
e "tern migrate: no such job directory: /nonexistent/job" 2 "$TERN" migrate --off x /nonexistent/job
e "tern checkpoint: no job directory given and ./tern-ckpt does not exist" 2 "$TERN" checkpoint
mkdir -p empty
e "tern checkpoint: $W/empty: no job file: not a job started by tern run" 2 "$TERN" checkpoint empty
e "tern restart: no checkpoint to restart from in $W/empty" 2 "$TERN" restart --dir empty
e "tern migrate: --off HOST is required" 2 "$TERN" migrate empty

# ---- a job that is not running -----------------------------------------------
mkdir -p dead
deadpid=$(sh -c 'echo $$')
printf 'job=dead\nhost=%s\nmpirun_pid=%s\nhosts=%s\narg=-np\narg=2\narg=./app\n' "$H" "$deadpid" "$H" > dead/job
e "tern checkpoint: $W/dead: job is not running (mpirun pid $deadpid has exited)" 2 "$TERN" checkpoint dead
e "tern migrate: $W/dead: job is not running (mpirun pid $deadpid has exited)" 2 "$TERN" migrate --off "$H" dead

# ---- a "running" job that never answers (no libtern) ---------------------------
sleep 60 &
sleeper=$!
mkdir -p live
printf 'job=live\nhost=%s\nmpirun_pid=%s\nhosts=%s\narg=-np\narg=2\narg=./app\n' "$H" "$sleeper" "$H" > live/job
e "tern checkpoint: $W/live: no answer from the job in 1 s (is libtern.so loaded and the job reaching snapshot points?)" 3 \
  "$TERN" checkpoint --timeout 1 live
ls live/request.* >/dev/null 2>&1 && { say "a timed-out request was left behind"; bad=$((bad + 1)); }
e "tern migrate: host nosuch is not used by the job (it runs on $H)" 2 "$TERN" migrate --off nosuch live
e "tern migrate: cannot move the job off all its hosts: give other hosts with --hostfile" 2 \
  "$TERN" migrate --off "$H" live
e "tern run: $W/live: a job is running there (mpirun pid $sleeper); use another --dir or --job" 2 \
  "$TERN" run --dir live -- -np 1 true

# ---- restart: a real checkpoint of 2 ranks on this host ---------------------------
mpirun --oversubscribe -np 2 "$MKCKPT" "$W/two" > /dev/null || fail "mkckpt"
printf 'job=two\nhost=%s\nmpirun_pid=%s\nhosts=%s\narg=-np\narg=2\narg=./app\n' "$H" "$deadpid" "$H" > two/job
e "tern restart: rank count mismatch: the checkpoint has 2 ranks, -np asks for 4" 2 \
  "$TERN" restart --dir two --dry-run -- -np 4
e "tern restart: host nosuch in --exclude was not used by the job (it ran on $H)" 2 \
  "$TERN" restart --dir two --dry-run --exclude nosuch
e "tern restart: no host left to restart on (all are excluded)" 2 \
  "$TERN" restart --dir two --dry-run --exclude "$H"
e "tern restart: no such checkpoint: two/ckpt-999.h5" 2 "$TERN" restart --from two/ckpt-999.h5
printf 'other1\nother2 slots=4\n' > hosts.bad
e "tern restart: cannot tell how many ranks other1 can hold: give 'slots=N' for it in the hostfile" 2 \
  "$TERN" restart --dir two --dry-run --hostfile hosts.bad
printf 'other1 slots=1\n' > hosts.small
e "tern restart: cannot place 2 ranks: the hosts hold 1 (other1: 1); add hosts with --hostfile, or pass --oversubscribe to mpirun" 2 \
  "$TERN" restart --dir two --dry-run --hostfile hosts.small
e "tern restart: $W/live: the job is still running (mpirun pid $sleeper): stop it first, or use 'tern migrate'" 2 \
  "$TERN" restart --dir live
# a placement that fits, and its plan
out=$("$TERN" restart --dir two --dry-run --hostfile <(printf 'a slots=1\nb slots=1\n') --json) ||
  { say "dry run failed"; bad=$((bad + 1)); }
say "plan: $out"
echo "$out" | grep -q '"placement":\[{"host":"a","cores":-1,"slots":1,"ranks":\[0\]},{"host":"b","cores":-1,"slots":1,"ranks":\[1\]}\]' ||
  { say "unexpected plan"; bad=$((bad + 1)); }
out=$("$TERN" restart --dir two --dry-run --hostfile <(printf 'a slots=1\n') -- --oversubscribe) ||
  { say "oversubscribed dry run failed"; bad=$((bad + 1)); }
echo "$out" | grep -q '^a: ranks 0,1 (2 on 1 slots, oversubscribed)$' || { say "unexpected: $out"; bad=$((bad + 1)); }

# ---- run ---------------------------------------------------------------------------
e "tern run: no program given (usage: tern run [options] -- [mpirun options] PROGRAM)" 2 "$TERN" run
e "tern run: unknown option '--bogus' (see 'tern run --help')" 2 "$TERN" run --bogus -- -np 1 true
e "tern run: --compress: expected an integer 0..9, got '12'" 2 "$TERN" run --compress 12 -- -np 1 true
e "tern run: libtern.so not found (TERN_LIB=/nonexistent/libtern.so does not exist)" 2 \
  env TERN_LIB=/nonexistent/libtern.so "$TERN" run --dir fresh -- -np 1 true
e "tern run: $W/two holds checkpoints of an earlier run: 'tern restart' resumes it, --fresh deletes them" 2 \
  "$TERN" run --dir two -- -np 1 true
# tern run returns the job's exit status
"$TERN" run --quiet --no-preload --dir status -- -np 1 sh -c 'exit 3' 2>/dev/null
st=$?
if [ $st = 3 ]; then say "ok: tern run returned the job's status 3"; else say "tern run returned $st, not 3"; bad=$((bad + 1)); fi
grep -qx 'arg=sh' status/job && grep -qx 'arg=exit 3' status/job && grep -qx 'nranks=1' status/job ||
  { say "unexpected job file:"; cat status/job; bad=$((bad + 1)); }
for v in run checkpoint restart migrate; do
  "$TERN" $v --help | grep -q "^usage: tern $v" || { say "tern $v --help"; bad=$((bad + 1)); }
done
[ $bad = 0 ] || fail "$bad checks failed"
say "PASSED"
