#!/bin/bash
# jobs.errors: the one-line error messages of tern run / checkpoint / restart /
# migrate, exact text and exit status. Checkpoints come from mkckpt (the
# store, no libtern), jobs are faked with job files.
here=$(cd "$(dirname "$0")" && pwd)
source "$here/common.sh"
need TERN MKCKPT
W=$(mktemp -d /tmp/tern-jobs-errors.XXXXXX)
trap 'kill $sleeper $zparent 2>/dev/null; rm -rf "$W"' EXIT
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
# ---- command lines that were accepted (issue 14, section 5) ----------------------
# --dir naming a regular file ran the whole job without checkpoints
: > afile
e "tern run: $W/afile: not a directory" 2 "$TERN" run --no-preload --dir afile -- -np 1 true
[ -s afile ] && { say "tern run wrote into the file given as --dir"; bad=$((bad + 1)); }
# a newline in a value would add a key to the job file
nl=$'x\nlauncher=/bin/false'
e "tern run: the job directory 'x?launcher=/bin/false' holds a control character (0x0a): not supported" 2 \
  "$TERN" run --no-preload --dir "$nl" -- -np 1 true
[ -e "$nl" ] && { say "the directory with a newline was made"; bad=$((bad + 1)); }
e "tern run: the job name 'a?b' holds a control character (0x09): not supported" 2 \
  "$TERN" run --no-preload --job $'a\tb' -- -np 1 true
mkdir -p $'nl\ncwd'
e "tern run: the working directory '$W/nl?cwd' holds a control character (0x0a): not supported" 2 \
  sh -c 'cd "$1" && exec "$2" run --no-preload -- -np 1 true' sh $'nl\ncwd' "$TERN"
# --interval nan / inf / negative; --signal KILL, STOP, glibc's own, by number
for v in nan inf -inf -1 1e999; do
  e "tern run: --interval: expected seconds >= 0, got '$v'" 2 "$TERN" run --interval "$v" -- -np 1 true
done
e "tern restart: --interval: expected seconds >= 0, got 'nan'" 2 "$TERN" restart --dir two --interval nan --dry-run
e "tern run: --signal: signal 9 (SIGKILL) cannot be caught: use another one" 2 "$TERN" run --signal 9 -- -np 1 true
e "tern run: --signal: signal 19 (SIGSTOP) cannot be caught: use another one" 2 "$TERN" run --signal 19 -- -np 1 true
e "tern run: --signal: signal 32 (reserved by the C library) cannot be caught: use another one" 2 \
  "$TERN" run --signal 32 -- -np 1 true
e "tern restart: --signal: signal 9 (SIGKILL) cannot be caught: use another one" 2 \
  "$TERN" restart --dir two --signal 9 --dry-run
e "tern run: --signal: expected USR1, USR2, HUP, TERM, INT, ALRM, a number 1..64 or none, got 'KILL'" 2 \
  "$TERN" run --signal KILL -- -np 1 true
e "tern checkpoint: --timeout needs a number of seconds > 0" 2 "$TERN" checkpoint --timeout nan live
# a bad rank count: one line, not mpirun's box
e "tern run: -np: expected a number of ranks, got 'abc'" 2 "$TERN" run --no-preload --dir np1 -- -np abc true
e "tern run: -n: expected a number of ranks, got '-1'" 2 "$TERN" run --no-preload --dir np1 -- -n -1 true
e "tern run: --np: expected a number of ranks, got '2x'" 2 "$TERN" run --no-preload --dir np1 -- --np 2x true
e "tern restart: -np: expected a number of ranks, got 'x'" 2 "$TERN" restart --dir two --dry-run -- -np x
# --json: bytes that are not UTF-8 are U+FFFD, the output stays JSON
bad8=$'bad\xff\xc0dir'
mpirun --oversubscribe -np 2 "$MKCKPT" "$W/$bad8" > /dev/null || fail "mkckpt"
printf 'job=two\nhost=%s\nmpirun_pid=%s\nhosts=%s\narg=-np\narg=2\narg=./app\n' "$H" "$deadpid" "$H" > "$bad8/job"
out=$("$TERN" restart --dir "$bad8" --dry-run --json) || { say "dry run in $bad8 failed"; bad=$((bad + 1)); }
printf '%s' "$out" | python3 -c 'import json, sys; json.loads(sys.stdin.buffer.read().decode("utf-8"))' ||
  { say "not JSON: $out"; bad=$((bad + 1)); }
case $out in *'"checkpoint":"'"$W"'/bad\ufffd\ufffddir/ckpt-'*) say "ok: --json escapes bytes that are not UTF-8" ;;
  *) say "unexpected JSON: $out"; bad=$((bad + 1)) ;; esac

# ---- a dead mpirun is not a running job: a zombie, a recycled pid ----------------
sh -c 'sleep 0.2 & echo $! > zpid; exec sleep 60' &
zparent=$!
for ((i = 0; i < 50; i++)); do [ -s zpid ] && [ "$(awk '{print $3}' /proc/$(cat zpid)/stat 2>/dev/null)" = Z ] && break; sleep 0.1; done
zpid=$(cat zpid)
[ "$(awk '{print $3}' /proc/$zpid/stat 2>/dev/null)" = Z ] || fail "no zombie made"
mkdir -p zombie
printf 'job=z\nhost=%s\nmpirun_pid=%s\nhosts=%s\narg=-np\narg=2\narg=./app\n' "$H" "$zpid" "$H" > zombie/job
e "tern checkpoint: $W/zombie: job is not running (mpirun pid $zpid has exited)" 2 "$TERN" checkpoint zombie
printf 'job=two\nhost=%s\nmpirun_pid=%s\nhosts=%s\narg=-np\narg=2\narg=./app\n' "$H" "$zpid" "$H" > two/job
e "tern restart: no host left to restart on (all are excluded)" 2 "$TERN" restart --dir two --exclude "$H"
e "tern run: $W/two holds checkpoints of an earlier run: 'tern restart' resumes it, --fresh deletes them" 2 \
  "$TERN" run --dir two -- -np 1 true
# the pid of a live process, but one that started at another time than mpirun
start=$(sed 's/.*) //' /proc/$sleeper/stat | awk '{print $20}')
mkdir -p recycled
printf 'job=r\nhost=%s\nmpirun_pid=%s\nmpirun_start=%s\nhosts=%s\n' "$H" "$sleeper" $((start + 1)) "$H" > recycled/job
e "tern checkpoint: $W/recycled: job is not running (mpirun pid $sleeper has exited)" 2 "$TERN" checkpoint recycled
printf 'job=r\nhost=%s\nmpirun_pid=%s\nmpirun_start=%s\nhosts=%s\n' "$H" "$sleeper" "$start" "$H" > recycled/job
e "tern checkpoint: $W/recycled: no answer from the job in 1 s (is libtern.so loaded and the job reaching snapshot points?)" 3 \
  "$TERN" checkpoint --timeout 1 recycled
# tern run records mpirun's start time
grep -qx 'mpirun_start=[0-9]*' status/job || { say "no mpirun_start in the job file"; bad=$((bad + 1)); }
grep -qx 'launcher=/.*' status/job || { say "the launcher is not recorded as an absolute path"; bad=$((bad + 1)); }

[ $bad = 0 ] || fail "$bad checks failed"
say "PASSED"
