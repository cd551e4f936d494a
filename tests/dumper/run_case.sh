#!/bin/bash
# One dumper round trip, compared with an uninterrupted reference run.
#
#   run_case.sh TERN USER KIND DELAY_MIN DELAY_MAX PROG [ARGS...]
#
# USER: root (as is) or nobody (everything runs as nobody:nogroup).
# KIND:
#   stop     dump --stop at a random moment, restore
#   kill     dump (process runs on), kill it, restore
#   redump   like stop, then dump the restored process again (--stop) at a
#            random moment and restore that image
#            and restore that image after deleting the first one (the
#            restored process had the first image's pages mapped: they must
#            have gone into the second image as data)
#   twice    like kill, but restore the same image twice, one after the other
#   replace  like stop, but while the restored process runs its image is
#            replaced (another file renamed over it), then deleted: it must
#            run on unaffected
#   pipe     stdout is a pipe to a reader (as under `tern exec ... | tool`);
#            --stop, then `tern restore IMAGE | cat`: the restored process
#            writes into the new pipe, and both parts together must equal
#            the reference
#   compare OUT: compare the file OUT (in the work dir) too, not just stdout
# The output of the restored run (stdout, written to a file, which restore
# reopens at the dumped offset) must equal the reference byte for byte.
set -u
TERN=$1 USERMODE=$2 KIND=$3 DMIN=$4 DMAX=$5
shift 5
PROG=$1
shift
EXTRA_CMP=${TERN_TEST_COMPARE:-}
# TERN_TEST_DUMP_OPTS: extra `tern dump` options; TERN_TEST_IMAGE_DIR=1: dump
# into one image directory (epochs 1, 2) instead of files
read -r -a DOPTS <<< "${TERN_TEST_DUMP_OPTS:-}"
IMG1=img.h5 IMG2=img2.h5

# nothing but stdio may leak into the program (common.sh)
. "$(dirname "$0")/common.sh"
dmp_setup test
chmod 777 "$W"
cp "$PROG" "$W/prog"
# tern too: the build tree need not be readable by nobody
cp "$TERN" "$W/tern"
chmod 755 "$W/prog" "$W/tern"
TERN=$W/tern
cd "$W" || exit 1
PIDS=""
trap 'for p in $PIDS; do kill -9 $p 2>/dev/null; done; rm -rf "$W"' EXIT

# an array, not a function: "$!" of a backgrounded command must be its pid
AS=()
[ "$USERMODE" = nobody ] && AS=(setpriv --reuid=nobody --regid=nogroup --clear-groups)
if [ -n "${TERN_TEST_IMAGE_DIR:-}" ]; then
  # the user's own: restore refuses a checkpoint directory others can write
  "${AS[@]}" mkdir images
  IMG1=images IMG2=images
fi
fail() { echo "FAIL: $*"; for f in err*.txt; do [ -s "$f" ] && { echo "--- $f"; cat "$f"; }; done; exit 1; }
rdelay() { # random float in [DMIN, DMAX]
  awk -v a="$DMIN" -v b="$DMAX" -v r=$RANDOM 'BEGIN{printf "%.3f", a + (b-a)*r/32767}'
}

# reference
mkdir ref && chmod 777 ref
t0=$(date +%s.%N)
(cd ref && "${AS[@]}" ../prog "$@" > out.txt 2> err.txt < /dev/null) || fail "reference run failed"
t1=$(date +%s.%N)
# the dump must fall inside the run, also on a loaded machine
DMAX=$(awk -v a="$DMAX" -v t0="$t0" -v t1="$t1" 'BEGIN{m=0.6*(t1-t0); printf "%.3f", (m < a ? m : a)}')
DMIN=$(awk -v a="$DMIN" -v b="$DMAX" 'BEGIN{printf "%.3f", (a < b ? a : b/2)}')
[ -n "$EXTRA_CMP" ] && cp "ref/$EXTRA_CMP" "ref.$EXTRA_CMP"
rm -f ref/data.bin ref/log.txt

# the run that gets dumped; its stdout file must be one the restored process
# (nobody, maybe) can reopen, or restore falls back to its own stdout
: > out.txt
chmod 666 out.txt
if [ "$KIND" = pipe ]; then
  mkfifo fifo && chmod 666 fifo
  cat fifo > part1.txt &
  "${AS[@]}" "$TERN" exec -- "$W/prog" "$@" > fifo 2> err.prog.txt < /dev/null &
else
  "${AS[@]}" "$TERN" exec -- "$W/prog" "$@" > out.txt 2> err.prog.txt < /dev/null &
fi
pid=$!
PIDS="$PIDS $pid"
d=$(rdelay)
sleep "$d"
case $KIND in
  kill|twice) "${AS[@]}" "$TERN" dump "$pid" -o $IMG1 "${DOPTS[@]}" 2> err.dump.txt || fail "dump after ${d}s failed"
              kill -9 "$pid" ;;
  *)          "${AS[@]}" "$TERN" dump "$pid" -o $IMG1 --stop "${DOPTS[@]}" 2> err.dump.txt || fail "dump after ${d}s failed" ;;
esac
wait "$pid" 2>/dev/null
echo "dumped after ${d}s: $(cat err.dump.txt)"
if [ -n "${TERN_TEST_MAX_IMAGE:-}" ]; then
  size=$(stat -c %s $IMG1)
  [ "$size" -le "$TERN_TEST_MAX_IMAGE" ] || fail "image is $size bytes, more than $TERN_TEST_MAX_IMAGE"
  echo "image: $size bytes (limit $TERN_TEST_MAX_IMAGE)"
fi

restore_fg() { "${AS[@]}" "$TERN" restore "$1" 2> err.restore.txt < /dev/null || fail "restore of $1 exited $?"; }

case $KIND in
  redump)
    "${AS[@]}" "$TERN" restore $IMG1 2> err.restore.txt < /dev/null &
    rpid=$!
    PIDS="$PIDS $rpid"
    d=$(rdelay)
    sleep "$d"
    "${AS[@]}" "$TERN" dump "$rpid" -o $IMG2 --stop "${DOPTS[@]}" 2> err.dump2.txt || fail "second dump after ${d}s failed"
    wait "$rpid" 2>/dev/null
    echo "dumped the restored process after ${d}s: $(cat err.dump2.txt)"
    if [ "$IMG1" = images ]; then rm -f images/ckpt-000001.h5; else rm -f "$IMG1"; fi
    restore_fg $IMG2 ;;
  replace)
    "${AS[@]}" "$TERN" restore $IMG1 2> err.restore.txt < /dev/null &
    rpid=$!
    PIDS="$PIDS $rpid"
    sleep "$(rdelay)"
    size=$(stat -c %s $IMG1)
    head -c "$size" /dev/urandom > other.bin
    mv other.bin $IMG1          # the way tern replaces an image: a new inode
    sleep "$(rdelay)"
    rm -f $IMG1
    wait "$rpid" || fail "restored process exited $?" ;;
  twice)
    restore_fg $IMG1
    cmp -s out.txt ref/out.txt || fail "first restore: output differs"
    restore_fg $IMG1 ;;
  pipe)
    wait  # the reader of the first part ends with the original
    set -o pipefail
    "${AS[@]}" "$TERN" restore $IMG1 2> err.restore.txt < /dev/null | cat > part2.txt ||
      fail "restore into a pipe exited $?"
    cat part1.txt part2.txt > out.txt
    echo "before the dump: $(wc -l < part1.txt) lines, after restore: $(wc -l < part2.txt) lines" ;;
  *) restore_fg $IMG1 ;;
esac

cmp out.txt ref/out.txt || { diff ref/out.txt out.txt | head -20; fail "output differs from the reference"; }
if [ -n "$EXTRA_CMP" ]; then
  cmp "$EXTRA_CMP" "ref.$EXTRA_CMP" || fail "$EXTRA_CMP differs from the reference"
fi
echo "PASS ($(wc -l < out.txt) lines identical)"
