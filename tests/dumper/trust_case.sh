#!/bin/bash
# What no one else can steer (docs/dumper.md, "What the dumper trusts"): the
# run directory of `tern exec --job`, its job records, and the images and
# checkpoint directories `tern restore` reads. Each case sets up what another
# user could have done, runs the verb as USER and checks its exact line and
# status, and that nothing was overwritten, stopped or killed.
#   trust_case.sh TERN COUNTER USER CASE     USER: root or nobody
# The other user is nobody for root and root for nobody.
set -u
TERN=$1 PROG=$2 USERMODE=$3 CASE=$4
. "$(dirname "$0")/common.sh"
dmp_setup trust
PIDS=""
trap 'for p in $PIDS; do kill -9 $p 2>/dev/null; done; rm -rf "$W"' EXIT
cp "$PROG" "$W/prog"
cp "$TERN" "$W/tern"
chmod 755 "$W" "$W/prog" "$W/tern"
TERN=$W/tern
cd "$W" || exit 1
AS=()
ME=root OTHER=nobody
if [ "$USERMODE" = nobody ]; then
  AS=(setpriv --reuid=nobody --regid=nogroup --clear-groups)
  ME=nobody OTHER=root
  chown nobody "$W"
fi
OTHER_ID="uid $(id -u $OTHER), not by you (uid $(id -u $ME))"
export TERN_EXEC_DIR=$W/run
RUN=$TERN_EXEC_DIR
fail() { echo "FAIL: $*"; for f in err*.txt; do [ -s "$f" ] && { echo "--- $f"; cat "$f"; }; done; exit 1; }
mine() { chown "$ME" "$@"; }

# STATUS LINE CMD...: CMD (run as USER) exits STATUS, stderr is exactly LINE
expect() {
  local st=$1 line=$2
  shift 2
  "${AS[@]}" "$@" > /dev/null 2> err.txt < /dev/null
  local rc=$?
  [ "$rc" = "$st" ] || fail "$*: exit $rc, expected $st"
  [ "$(cat err.txt)" = "$line" ] || fail "$*: got '$(cat err.txt)', expected '$line'"
  echo "ok ($rc): $line"
}

start_job() { # the counter as job 'sim'; its pid in $pid once recorded
  "${AS[@]}" "$TERN" exec --job sim -- ./prog 600 10 > out.txt 2> err.prog.txt < /dev/null &
  pid=$!
  PIDS="$PIDS $pid"
  for i in $(seq 50); do [ -s "$RUN/sim" ] && break; sleep 0.05; done
  [ -s "$RUN/sim" ] || fail "no job record"
}

alive() { kill -0 "$1" 2>/dev/null && [ "$(awk '{print $3}' /proc/$1/stat)" != T ] || fail "$2 was stopped or killed"; }

dump_image() { # OUT: a dumped counter (as USER), its output in out.txt
  : > out.txt
  mine out.txt
  "${AS[@]}" "$TERN" exec -- ./prog 100 10 > out.txt 2> /dev/null < /dev/null &
  local p=$!
  PIDS="$PIDS $p"
  sleep 0.3
  "${AS[@]}" "$TERN" dump "$p" -o "$1" --stop 2> err.dump.txt > /dev/null || fail "dump failed"
  wait "$p" 2>/dev/null
}

restore_refused() { # IMAGE LINE: restore and --check refuse; nothing changed or ran
  local sum before
  sum=$(cd "$(dirname "$1")" && ls -la "$(basename "$1")"; find "$1" -type f -exec md5sum {} +)
  before=$(stat -c %s out.txt)
  expect 1 "tern restore: $2" "$TERN" restore --check "$1"
  expect 1 "tern restore: $2" "$TERN" restore "$1"
  sleep 0.2
  [ "$(stat -c %s out.txt)" = "$before" ] || fail "something restored ran on"
  [ "$sum" = "$(cd "$(dirname "$1")" && ls -la "$(basename "$1")"; find "$1" -type f -exec md5sum {} +)" ] ||
    fail "the image changed"
}

REFUSED="refusing to use it"   # the end of every refusal (common/private_dir.h)
echo victim > victim
chmod 600 victim
mine victim

case $CASE in
  rundir.other)      # another user made the run directory
    mkdir -m 755 "$RUN" && chown "$OTHER" "$RUN"
    expect 1 "tern exec: $RUN: owned by $OTHER_ID: $REFUSED" "$TERN" exec --job sim -- /bin/true
    expect 2 "tern dump: $RUN: owned by $OTHER_ID: $REFUSED" "$TERN" dump sim -o img.h5
    [ -z "$(ls -A "$RUN")" ] || fail "something was written into $RUN" ;;
  rundir.0777)       # a run directory anyone can write, with a symlink planted for the next pid
    mkdir "$RUN" && chmod 777 "$RUN" && mine "$RUN"
    ( ln -s "$W/victim" "$RUN/.sim.$BASHPID"
      exec "${AS[@]}" "$TERN" exec --job sim -- /bin/true > /dev/null 2> err.txt < /dev/null )
    rc=$?
    exp="tern exec: $RUN: writable by group and others (mode 0777): $REFUSED"
    [ $rc = 1 ] && [ "$(cat err.txt)" = "$exp" ] || fail "exit $rc, got '$(cat err.txt)', expected '$exp'"
    echo "ok ($rc): $exp"
    expect 2 "tern dump: $RUN: writable by group and others (mode 0777): $REFUSED" "$TERN" dump sim -o img.h5
    [ "$(cat victim)" = victim ] || fail "the victim file was overwritten" ;;
  rundir.symlink)    # the run directory is a symlink to somewhere else
    mkdir -m 700 elsewhere && mine elsewhere
    ln -s "$W/elsewhere" "$RUN"
    expect 1 "tern exec: $RUN: is a symbolic link: $REFUSED" \
      "$TERN" exec --job sim -- /bin/true
    expect 2 "tern dump: $RUN: is a symbolic link: $REFUSED" \
      "$TERN" dump sim -o img.h5
    [ -z "$(ls -A elsewhere)" ] || fail "something was written through the symlink" ;;
  tmpname.symlink)   # a symlink where tern exec wrote its record first (.sim.PID) until it took
                     # fresh random names (common/private_dir.c): not followed, not touched
    mkdir -m 700 "$RUN" && mine "$RUN"
    ( ln -s "$W/victim" "$RUN/.sim.$BASHPID"
      exec "${AS[@]}" "$TERN" exec --job sim -- ./prog 600 10 > out.txt 2> err.prog.txt < /dev/null ) &
    pid=$!
    PIDS="$PIDS $pid"
    sleep 0.5
    [ "$(cat victim)" = victim ] || fail "the victim file was overwritten"
    [ -f "$RUN/sim" ] && [ ! -L "$RUN/sim" ] && [ "$(stat -c %a "$RUN/sim")" = 600 ] ||
      fail "no private record: $(ls -la "$RUN")"
    [ "$(readlink "$RUN/.sim.$pid")" = "$W/victim" ] || fail "the planted link was changed"
    [ -z "$(ls -A "$RUN" | grep -v -e '^sim$' -e "^\.sim\.$pid\$")" ] || fail "leftovers: $(ls -A "$RUN")"
    read -r rp _ < "$RUN/sim"
    [ "$rp" = "$pid" ] || fail "record names $rp, not $pid"
    echo "ok: record written, symlink not followed" ;;
  record.symlink)    # the record is a symlink
    start_job
    cp "$RUN/sim" "$W/fake" && mine "$W/fake"
    ln -sf "$W/fake" "$RUN/sim"
    expect 2 "tern dump: $RUN/sim: is a symbolic link: $REFUSED" \
      "$TERN" dump sim -o img.h5 --stop
    alive "$pid" "the job" ;;
  record.other)      # the record belongs to another user
    start_job
    chown "$OTHER" "$RUN/sim"
    expect 2 "tern dump: $RUN/sim: owned by $OTHER_ID: $REFUSED" "$TERN" dump sim -o img.h5 --stop
    alive "$pid" "the job" ;;
  record.0666)       # anyone can write the record
    start_job
    chmod 666 "$RUN/sim"
    expect 2 "tern dump: $RUN/sim: writable by group and others (mode 0666): $REFUSED" "$TERN" dump sim -o img.h5 --stop
    alive "$pid" "the job" ;;
  record.rewritten)  # the record names an unrelated live process, with its right start time
    start_job
    "${AS[@]}" sleep 60 < /dev/null > /dev/null 2>&1 &
    other=$!
    PIDS="$PIDS $other"
    sleep 0.2
    read -r _ _ dev ino < "$RUN/sim"
    echo "$other $(awk '{print $22}' /proc/$other/stat) $dev $ino" > "$RUN/sim"   # owner and mode kept
    expect 2 "tern dump: job 'sim': pid $other runs $(readlink /proc/$other/exe), not the program \`tern exec --job sim\` started; refusing to touch it" \
      "$TERN" dump sim -o img.h5 --stop
    alive "$other" "the unrelated process"
    alive "$pid" "the job"
    [ ! -e img.h5 ] || fail "an image was written" ;;
  image.other)       # the image belongs to another user
    dump_image img.h5
    chown "$OTHER" img.h5
    restore_refused img.h5 "img.h5: owned by $OTHER_ID: $REFUSED" ;;
  image.groupw)      # the group can write the image
    dump_image img.h5
    chmod 664 img.h5
    restore_refused img.h5 "img.h5: writable by group (mode 0664): $REFUSED" ;;
  ckdir.other)       # the checkpoint directory belongs to another user
    mkdir images && mine images
    dump_image images
    chown "$OTHER" images
    restore_refused images "images: owned by $OTHER_ID: $REFUSED" ;;
  ckdir.0777)        # anyone can write the checkpoint directory
    mkdir images && mine images
    dump_image images
    chmod 777 images
    restore_refused images "images: writable by group and others (mode 0777): $REFUSED" ;;
  *) fail "unknown case $CASE" ;;
esac
echo PASS
