#!/bin/bash
# jobs.cli: what a new user meets at the command line: tern help VERB,
# --version, "did you mean" for a mistyped verb or option, -v/--quiet on
# every verb, tern status (faked jobs: job files and events written here),
# tern run of a program that is not there, tern checkpoint --json on every
# outcome, and tern run --events/--events-fd keeping tern's events out of the
# application's stdout (one real run of the cg workload). Exact lines and
# exit statuses (docs/usage.md).
here=$(cd "$(dirname "$0")" && pwd)
source "$here/common.sh"
need TERN TERN_APPS_DIR
APP=$TERN_APPS_DIR/cg
need APP
W=$(mktemp -d /tmp/tern-jobs-cli.XXXXXX)
sleeper=
runpid=
trap 'kill $sleeper 2>/dev/null; [ -n "$runpid" ] && kill -9 $runpid 2>/dev/null; rm -rf "$W"' EXIT
cd "$W" || exit 1
H=$(hostname -s)
bad=0
e() { expect_err "$@" || bad=$((bad + 1)); }
no() { say "FAILED: $*"; bad=$((bad + 1)); }
# want_out "EXPECTED STDOUT" STATUS CMD...: stdout, whole, and the status
want_out() {
  local want=$1 wst=$2 out st
  shift 2
  out=$("$@" 2>/dev/null)
  st=$?
  if [ "$out" != "$want" ] || [ "$st" != "$wst" ]; then
    say "command: $*"; say "  want ($wst): $want"; say "  got  ($st): $out"
    bad=$((bad + 1))
    return 1
  fi
  say "ok ($st): $*"
}

# ---- help, version, the verbs listed -------------------------------------------
verbs=$("$TERN" --help | awk '/^Checkpoint/{on=1; next} on && /^  [a-z]/ && $1 != "help" {print $1} /^$/{if (on) exit}')
for v in run checkpoint restart migrate status ls info verify exec dump restore; do
  grep -qx "$v" <<< "$verbs" || no "tern --help does not list $v"
done
"$TERN" --help | grep -q -- "--version" || no "tern --help does not name --version"
"$TERN" --help | grep -q "help VERB" || no "tern --help does not name 'tern help VERB'"
"$TERN" --version | grep -Eq '^tern [0-9]+\.[0-9]+' || no "tern --version: $("$TERN" --version)"
for v in $verbs; do
  ref=$("$TERN" "$v" --help 2>&1) || no "tern $v --help exits $?"
  [ "$("$TERN" help "$v" 2>&1)" = "$ref" ] || no "tern help $v is not tern $v --help"
  # -v/--verbose and --quiet are every verb's (docs/usage.md)
  for o in -v --verbose --quiet; do
    got=$("$TERN" "$v" $o --help 2>&1)
    st=$?
    [ $st = 0 ] && [ "$got" = "$ref" ] || no "tern $v $o --help: status $st, output differs"
  done
done
say "ok: help VERB, -v, --verbose, --quiet for: $(echo $verbs)"

# ---- did you mean -----------------------------------------------------------------
e "tern: unknown verb 'chekpoint'; did you mean 'checkpoint'?" 2 "$TERN" chekpoint
e "tern: unknown verb 'stauts'; did you mean 'status'?" 2 "$TERN" stauts
e "tern: unknown verb 'chekpoint'; did you mean 'checkpoint'?" 2 "$TERN" help chekpoint
e "tern: unknown verb 'frobnicate' (see 'tern --help')" 2 "$TERN" frobnicate
e "tern checkpoint: unknown option '--jsn'; did you mean '--json'?" 2 "$TERN" checkpoint --jsn
e "tern run: unknown option '--intervl'; did you mean '--interval'?" 2 "$TERN" run --intervl 5 -- -np 1 true
e "tern status: unknown option '--verbos'; did you mean '--verbose'?" 2 "$TERN" status --verbos
e "tern run: unknown option '--bogus' (see 'tern run --help')" 2 "$TERN" run --bogus -- -np 1 true

# ---- tern status ------------------------------------------------------------------
e "tern status: no such directory: $W/nope" 2 "$TERN" status "$W/nope"
mkdir -p empty
want_out "empty: no jobs" 0 "$TERN" status empty
want_out '{"dir":"empty","jobs":[]}' 0 "$TERN" status --json empty
# a running job: mpirun is a sleep of ours, the same process (its start time)
sleep 60 &
sleeper=$!
start=$(awk '{sub(/^.*\) /, ""); print $20}' /proc/$sleeper/stat)
mkdir -p tree/a/live tree/b/dead
now=$(date +%s)
printf 'job=live\nhost=%s\nmpirun_pid=%s\nmpirun_start=%s\nnranks=4\nhosts=%s\ninterval=600\nstarted=%s\narg=./app\n' \
  "$H" "$sleeper" "$start" "$H" "$now" > tree/a/live/job
printf 'started nranks=4 time=%s\ncommitted epoch=1 bytes=2097152 stored=1048576 seconds=0.1 path=%s/tree/a/live/ckpt-000001.h5\nfailed epoch=2 reason=drain timed out after 60 s\n' \
  "$now" "$W" > tree/a/live/events
printf 'x' > tree/a/live/ckpt-000001.h5
deadpid=$(sh -c 'echo $$')
printf 'job=dead\nhost=%s\nmpirun_pid=%s\nnranks=2\nhosts=%s,other\ninterval=0\narg=./app\n' \
  "$H" "$deadpid" "$H" > tree/b/dead/job
out=$("$TERN" status tree)
st=$?
want="$W/tree/a/live: job live, running (mpirun pid $sleeper)
  ranks: 4 on $H
  last checkpoint: epoch 1, 0 s ago, 2.0 MiB stored as 1.0 MiB: $W/tree/a/live/ckpt-000001.h5
  interval: 600 s, next checkpoint due in 600 s
  last failure: epoch 2: drain timed out after 60 s
$W/tree/b/dead: job dead, not running (mpirun pid $deadpid has exited)
  ranks: 2 on $H,other
  last checkpoint: none
  interval: none"
# the ages are whole seconds: allow the test a second or two
norm() { sed -E 's/epoch 1, [0-2] s ago/epoch 1, 0 s ago/; s/due in (59[89]|600) s/due in 600 s/'; }
if [ "$st" = 0 ] && [ "$(norm <<< "$out")" = "$want" ]; then
  say "ok: tern status (text)"
else
  no "tern status: status $st"; say "want:"; echo "$want"; say "got:"; echo "$out"
fi
js=$("$TERN" status --json tree) || no "tern status --json exits $?"
python3 - "$js" "$sleeper" "$deadpid" <<'EOF' || bad=$((bad + 1))
import json, sys
d = json.loads(sys.argv[1])
live, dead = d["jobs"]
assert live["job"] == "live" and live["state"] == "running" and live["running"] is True, live
assert live["mpirun_pid"] == int(sys.argv[2]) and live["nranks"] == 4, live
assert live["last_checkpoint"]["epoch"] == 1 and live["last_checkpoint"]["stored"] == 1048576, live
assert 0 <= live["last_checkpoint"]["age"] < 5 and 590 < live["next_due_in"] <= 600, live
assert live["last_failure"] == {"epoch": 2, "reason": "drain timed out after 60 s"}, live
assert dead["state"] == "exited" and dead["running"] is False and dead["mpirun_pid"] == int(sys.argv[3]), dead
assert dead["last_checkpoint"] is None and dead["next_due_in"] is None and dead["interval"] == 0, dead
print("ok: tern status --json")
EOF
# a job directory others could write to is refused, the others shown: 1
mkdir -p tree/c/open && cp tree/b/dead/job tree/c/open/job && chmod 0777 tree/c/open
out=$("$TERN" status tree 2>err)
st=$?
[ $st = 1 ] && grep -q "^tern status: $W/tree/c/open: writable by group and others (mode 0777): refusing to use it$" err &&
  grep -q "^$W/tree/b/dead: job dead" <<< "$out" && say "ok (1): a refused job directory" ||
  { no "tern status, a refused directory: status $st"; cat err; }
rm -rf tree/c

# ---- tern run: a program that is not there --------------------------------------------
e "tern run: ./missing: program not found" 127 "$TERN" run -- -np 1 ./missing
e "tern run: no-such-program-xyz: program not found (not in PATH)" 127 "$TERN" run -- -np 1 no-such-program-xyz
e "tern run: /etc: is a directory" 126 "$TERN" run -- -np 1 /etc
[ -e tern-ckpt/missing ] && no "a job directory was made for a missing program"

# ---- tern checkpoint --json: every outcome ----------------------------------------------
j() { # STATUS JSON CMD...: stdout is exactly JSON, the status STATUS
  local wst=$1 want=$2 out st
  shift 2
  out=$("$@" 2>/dev/null)
  st=$?
  [ "$st" = "$wst" ] && [ "$out" = "$want" ] && say "ok ($st): $out" ||
    { no "$*"; say "  want ($wst): $want"; say "  got  ($st): $out"; }
}
j 2 '{"status":"no-job","job_dir":"/nonexistent/job","reason":"no such job directory: /nonexistent/job"}' \
  "$TERN" checkpoint --json /nonexistent/job
j 2 '{"status":"no-job","job_dir":"'"$W"'/empty","reason":"'"$W"'/empty: no job file: not a job started by tern run"}' \
  "$TERN" checkpoint --json empty
j 2 '{"status":"not-running","job_dir":"'"$W"'/tree/b/dead","reason":"'"$W"'/tree/b/dead: job is not running (mpirun pid '"$deadpid"' has exited)"}' \
  "$TERN" checkpoint --json tree/b/dead
j 3 '{"status":"timeout","job_dir":"'"$W"'/tree/a/live","reason":"no answer from the job in 1 s (is libtern.so loaded and the job reaching snapshot points?)"}' \
  "$TERN" checkpoint --json --timeout 1 tree/a/live
printf 'no_snapshot_points reason=the application has no snapshot points\n' >> tree/a/live/events
j 1 '{"status":"failed","job_dir":"'"$W"'/tree/a/live","reason":"the application has no snapshot points"}' \
  "$TERN" checkpoint --json tree/a/live

# ---- tern run --events / --events-fd: a real run; committed with --json -------------------
MPI=(--oversubscribe --bind-to none -np 2)
say "tern run --json --events ev.json (cg, 2 ranks)"
"$TERN" run -v --json --events ev.json --job ev -- "${MPI[@]}" "$APP" --iters 150 --size 1024 --sleep-us 20000 \
  > run.out 2> run.err &
runpid=$!
for ((i = 0; i < 200; i++)); do grep -q '"event":"started"' ev.json 2>/dev/null && break; sleep 0.1; done
js=$("$TERN" checkpoint --json --timeout 60 tern-ckpt/ev)
st=$?
[ $st = 0 ] && grep -Eq '^\{"status":"committed","job_dir":"[^"]*/tern-ckpt/ev","epoch":1,"path":"[^"]*ckpt-0*1\.h5"\}$' <<< "$js" &&
  say "ok (0): $js" || no "tern checkpoint --json, committed: status $st: $js"
wait $runpid
st=$?
runpid=
[ $st = 0 ] || { cat run.err; no "tern run exits $st"; }
grep -q '^RESULT ' run.out || no "no RESULT in the job's stdout"
grep -q '"event"' run.out && no "tern's events are in the job's stdout"
grep -q '^{"event":"started","nranks":2,' ev.json && grep -q '^{"event":"committed","epoch":1,' ev.json &&
  say "ok: events in ev.json only" || { cat ev.json; no "events missing from ev.json"; }
grep -q "^tern run: running: .*mpirun .*$APP" run.err && say "ok: -v printed the mpirun command line" ||
  { cat run.err; no "-v: no command line on stderr"; }
grep -q '"event"' run.err && no "--events: events on stderr too"

say "tern run --quiet --events-fd 3 (cg, 2 ranks, --fresh)"
"$TERN" run --quiet --events-fd 3 --fresh --interval 0.5 --job ev -- "${MPI[@]}" "$APP" --iters 60 --size 1024 \
  --sleep-us 20000 > run2.out 2> run2.err 3> ev2.json
st=$?
[ $st = 0 ] || no "tern run --events-fd exits $st"
[ -s run2.err ] && { cat run2.err; no "--quiet: stderr is not empty"; }
grep -q '"event"' run2.out && no "tern's events are in the job's stdout (--events-fd)"
grep -q '^{"event":"committed","epoch":1,' ev2.json && say "ok: --events-fd 3, --quiet" ||
  { cat ev2.json; no "no committed event on descriptor 3"; }
e "tern run: --events-fd 250: not a descriptor open for writing" 2 "$TERN" run --events-fd 250 --job x -- -np 1 "$APP"
e "tern run: --events and --events-fd: give one" 2 "$TERN" run --events a --events-fd 3 --job x -- -np 1 "$APP" 3>/dev/null

[ $bad = 0 ] || fail "$bad check(s) failed"
say "PASSED"
