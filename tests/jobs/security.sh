#!/bin/bash
# jobs.security: job directories no one else can steer (issue 14, section 3).
# Another user (nobody) pre-creates job directories on a shared scratch
# directory, plants symbolic links, hard links, FIFOs and files of theirs in
# a job directory, and rewrites the job file: tern run / checkpoint / restart
# / migrate refuse each with one line naming the path and its owner or mode,
# and nothing is written through a link. Also tern as an ordinary user
# (nobody) in a directory of root's. Needs root (to act as nobody).
here=$(cd "$(dirname "$0")" && pwd)
source "$here/common.sh"
need TERN MKCKPT PLAIN_LOOP
[ "$(id -u)" = 0 ] || skip "needs root, to act as another user"
id nobody >/dev/null 2>&1 && getent group nogroup >/dev/null || skip "no user nobody / group nogroup"
AS=(setpriv --reuid=nobody --regid=nogroup --clear-groups)
W=$(mktemp -d /tmp/tern-jobs-security.XXXXXX)
chmod 755 "$W"
sleeper=
trap 'kill $sleeper 2>/dev/null; rm -rf "$W"' EXIT
cd "$W" || exit 1
H=$(hostname -s)
NB=$(id -u nobody)
bad=0
e() { expect_err "$@" || bad=$((bad + 1)); }
empty() { # DIR: nothing was made in it
  [ -z "$(ls -A "$1")" ] || { say "written into $1: $(ls -A "$1" | tr '\n' ' ')"; bad=$((bad + 1)); }
}
# root's file that links point to; it must never change
printf "root's data\n" > victim
chmod 600 victim
intact() {
  [ "$(cat victim)" = "root's data" ] || { say "written through a link: $(cat victim)"; bad=$((bad + 1)); }
}
jobfile() { # DIR PID [KEY=VALUE...]: a job file of a job on this host
  local d=$1 pid=$2
  shift 2
  { printf 'job=j\nhost=%s\nmpirun_pid=%s\nhosts=%s\n' "$H" "$pid" "$H"
    printf '%s\n' "$@" arg=-np arg=2 arg=./app; } > "$d/job"
}
sleep 120 &
sleeper=$!

# ---- a shared scratch directory (world-writable, sticky) ---------------------------
S=$W/scratch
mkdir -m 1777 "$S"
"${AS[@]}" mkdir -m 0777 "$S/cg"
for v in "run --no-preload --dir $S/cg -- -np 1 true" "checkpoint $S/cg" "restart --dir $S/cg" \
         "migrate --off $H $S/cg"; do
  set -- $v
  e "tern $1: $S/cg: owned by uid $NB, not by you (uid 0): refusing to use it" 2 "$TERN" "$@"
done
empty "$S/cg"
# the default ./tern-ckpt/NAME: tern-ckpt made by the other user
"${AS[@]}" mkdir -m 0777 "$S/tern-ckpt"
e "tern run: $S/tern-ckpt: owned by uid $NB, not by you (uid 0): refusing to use it" 2 \
  sh -c 'cd "$1" && exec "$2" run --no-preload --job cg -- -np 1 true' sh "$S" "$TERN"
empty "$S/tern-ckpt"
# tern-ckpt root's, tern-ckpt/cg the other user's
S2=$W/scratch2
mkdir -p "$S2/tern-ckpt/cg"
chown nobody:nogroup "$S2/tern-ckpt/cg"
e "tern run: $S2/tern-ckpt/cg: owned by uid $NB, not by you (uid 0): refusing to use it" 2 \
  sh -c 'cd "$1" && exec "$2" run --no-preload --job cg -- -np 1 true' sh "$S2" "$TERN"
e "tern checkpoint: $S2/tern-ckpt/cg: owned by uid $NB, not by you (uid 0): refusing to use it" 2 \
  sh -c 'cd "$1" && exec "$2" checkpoint' sh "$S2" "$TERN"
empty "$S2/tern-ckpt/cg"

# ---- root's, but others may write to it --------------------------------------------
mkdir -m 0777 open; mkdir -m 0775 group; mkdir -m 1777 sticky
e "tern run: $W/open: writable by group and others (mode 0777): refusing to use it" 2 \
  "$TERN" run --no-preload --dir open -- -np 1 true
e "tern run: $W/group: writable by group (mode 0775): refusing to use it" 2 \
  "$TERN" run --no-preload --dir group -- -np 1 true
e "tern restart: $W/sticky: writable by group and others (mode 1777): refusing to use it" 2 \
  "$TERN" restart --dir sticky
empty open; empty group
# a directory tern makes is never one it would refuse, whatever the umask
(umask 000 && "$TERN" run --no-preload --quiet --dir made/deep -- -np 1 true) ||
  { say "tern run with umask 000 failed"; bad=$((bad + 1)); }
[ "$(stat -c %a made made/deep made/deep/job)" = "$(printf '755\n755\n644')" ] ||
  { say "modes under umask 000: $(stat -c '%n %a' made made/deep made/deep/job | tr '\n' ' ')"; bad=$((bad + 1)); }

# ---- the job directory a symbolic link ---------------------------------------------
mkdir real
ln -s real link
e "tern run: $W/link: is a symbolic link: refusing to use it" 2 "$TERN" run --dir link -- -np 1 "$PLAIN_LOOP" 1 1
e "tern checkpoint: $W/link: is a symbolic link: refusing to use it" 2 "$TERN" checkpoint link
e "tern restart: $W/link: is a symbolic link: refusing to use it" 2 "$TERN" restart --dir link
empty real

# ---- links and files of others planted in a job directory ----------------------------
# events: rank 0 would append to it (the job runs with libtern preloaded)
mkdir ev
ln -s "$W/victim" ev/events
e "tern run: $W/ev/events: is a symbolic link: refusing to use it" 2 "$TERN" run --dir ev -- -np 1 "$PLAIN_LOOP" 1 1
intact
mkdir hl
ln "$W/victim" hl/events
e "tern run: $W/hl/events: has 2 hard links: refusing to use it" 2 "$TERN" run --dir hl -- -np 1 "$PLAIN_LOOP" 1 1
intact
# job: read by every verb, written by tern run and restart
mkdir jb
ln -s "$W/victim" jb/job
e "tern run: $W/jb/job: is a symbolic link: refusing to use it" 2 "$TERN" run --no-preload --dir jb -- -np 1 true
e "tern checkpoint: $W/jb/job: is a symbolic link: refusing to use it" 2 "$TERN" checkpoint jb
intact
mkdir fifo
mkfifo fifo/job
e "tern checkpoint: $W/fifo/job: not a regular file: refusing to use it" 2 timeout 20 "$TERN" checkpoint fifo
# MANIFEST.tmp: the store rewrites it at every commit
mpirun --oversubscribe -np 2 "$MKCKPT" "$W/mf" > /dev/null || fail "mkckpt"
jobfile mf "$sleeper"
ln -s "$W/victim" mf/MANIFEST.tmp
e "tern checkpoint: $W/mf/MANIFEST.tmp: is a symbolic link: refusing to use it" 2 "$TERN" checkpoint --timeout 1 mf
e "tern restart: $W/mf/MANIFEST.tmp: is a symbolic link: refusing to use it" 2 "$TERN" restart --dir mf --dry-run
e "tern migrate: $W/mf/MANIFEST.tmp: is a symbolic link: refusing to use it" 2 "$TERN" migrate --off "$H" mf
ls mf/request.* >/dev/null 2>&1 && { say "a request was written into mf"; bad=$((bad + 1)); }
intact
# a request of the other user's: the job would take a checkpoint for them
mkdir rq
jobfile rq "$sleeper"
printf 'checkpoint\n' > rq/request.theirs
chown nobody rq/request.theirs
e "tern checkpoint: $W/rq/request.theirs: owned by uid $NB, not by you (uid 0): refusing to use it" 2 \
  "$TERN" checkpoint --timeout 1 rq
# a request answer: planted before, and planted while tern checkpoint waits for it
mkdir an
jobfile an "$sleeper"
ln -s "$W/victim" an/request.1.done
e "tern checkpoint: $W/an/request.1.done: is a symbolic link: refusing to use it" 2 "$TERN" checkpoint --timeout 1 an
rm an/request.1.done
printf 'committed 7 /not/a/checkpoint\n' > answer
"$TERN" checkpoint --timeout 20 an > ck.out 2> ck.err &
ckpid=$!
for ((i = 0; i < 100; i++)); do req=$(cd an && ls request.* 2>/dev/null | grep -v '\.done$' | head -1); [ -n "$req" ] && break; sleep 0.05; done
[ -n "$req" ] || fail "tern checkpoint wrote no request"
ln -s "$W/answer" "an/$req.done"
wait $ckpid
st=$?
if [ "$st" = 2 ] && [ "$(cat ck.err)" = "tern checkpoint: $W/an/$req.done: is a symbolic link: refusing to use it" ] && [ ! -s ck.out ]; then
  say "ok (2): an answer planted as a link is refused"
else
  say "planted answer: status $st, stdout '$(cat ck.out)', stderr '$(cat ck.err)'"; bad=$((bad + 1))
fi
ls an/request.* >/dev/null 2>&1 && { say "the request was not withdrawn: $(ls an)"; bad=$((bad + 1)); }

# ---- the job file rewritten --------------------------------------------------------
mpirun --oversubscribe -np 2 "$MKCKPT" "$W/lj" > /dev/null || fail "mkckpt"
printf '#!/bin/sh\ntouch %s/ran\n' "$W" > evil.sh
chmod 755 evil.sh
deadpid=$(sh -c 'echo $$')
jobfile lj "$deadpid" "launcher=$W/evil.sh"
chown nobody lj/job
e "tern restart: $W/lj/job: owned by uid $NB, not by you (uid 0): refusing to use it" 2 "$TERN" restart --dir lj
chown root lj/job
chmod 664 lj/job
e "tern restart: $W/lj/job: writable by group (mode 0664): refusing to use it" 2 "$TERN" restart --dir lj
chmod 644 lj/job
e "tern restart: $W/lj/job: launcher=$W/evil.sh: not named mpirun, mpiexec or orterun: refusing to run it (give the launcher after --)" 2 \
  "$TERN" restart --dir lj
mkdir -p theirs/bin
cp evil.sh theirs/bin/mpirun
chown nobody theirs/bin/mpirun
jobfile lj "$deadpid" "launcher=$W/theirs/bin/mpirun"
e "tern restart: $W/lj/job: launcher=$W/theirs/bin/mpirun: someone else could have changed it: refusing to run it (give the launcher after --)" 2 \
  "$TERN" restart --dir lj
jobfile lj "$deadpid" "launcher=theirs/bin/mpirun"
e "tern restart: $W/lj/job: launcher=theirs/bin/mpirun: not an absolute path: refusing to run it (give the launcher after --)" 2 \
  "$TERN" restart --dir lj
jobfile lj "$deadpid" "launcher=$W/evil.sh" "signal=9"
e "tern restart: $W/lj/job: signal: signal 9 (SIGKILL) cannot be caught: use another one" 2 "$TERN" restart --dir lj
[ -e ran ] && { say "a launcher of the job file ran"; bad=$((bad + 1)); }
# the real mpirun, as tern run records it, is run
jobfile lj "$deadpid" "launcher=$(command -v mpirun)"
"$TERN" restart --dir lj --dry-run > /dev/null || { say "restart with the recorded mpirun refused"; bad=$((bad + 1)); }
# a checkpoint another user could have written
mkdir ck2
cp lj/ckpt-*.h5 ck2/
chown nobody ck2/ckpt-*.h5
c2=$(ls "$W"/ck2/ckpt-*.h5)
e "tern restart: $c2: owned by uid $NB, not by you (uid 0): refusing to use it" 2 \
  "$TERN" restart --dir lj --from "$c2" --dry-run

# ---- tern as an ordinary user ------------------------------------------------------
cp "$TERN" tern-copy   # the build tree need not be open to nobody
chmod 755 tern-copy
mkdir rootdir
e "tern checkpoint: $W/rootdir: owned by uid 0, not by you (uid $NB): refusing to use it" 2 \
  "${AS[@]}" ./tern-copy checkpoint rootdir
# a job directory of nobody's that nobody cannot write: the error names it once
mkdir ro
jobfile ro "$sleeper"
chown -R nobody:nogroup ro
chmod 555 ro
e "tern checkpoint: $W/ro: cannot write a request: Permission denied" 2 "${AS[@]}" ./tern-copy checkpoint --timeout 1 ro
# nobody's job directory, made by tern run as nobody in the shared directory
"${AS[@]}" ./tern-copy run --no-preload --quiet --dir "$S/mine" -- -np 1 true ||
  { say "tern run as nobody failed"; bad=$((bad + 1)); }
[ "$(stat -c %U "$S/mine" "$S/mine/job" | sort -u)" = nobody ] || { say "not nobody's: $(ls -l "$S/mine")"; bad=$((bad + 1)); }

[ $bad = 0 ] || fail "$bad checks failed"
say "PASSED"
