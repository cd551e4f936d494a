#!/bin/bash
# Bad input and refusals: each must end with one clear line on stderr, a
# non-zero status, no image written (refusals) and nothing half-restored
# left running (bad images).
#   bad_case.sh TERN COUNTER REFUSE TRACER IMAGE_EDIT CASE [HEAP]
set -u
TERN=$1 COUNTER=$2 REFUSE=$3 TRACER=$4 EDIT=$5 CASE=$6 HEAP=${7:-}
. "$(dirname "$0")/common.sh"
dmp_setup bad
chmod 777 "$W"
cd "$W" || exit 1
PIDS=""
trap 'for p in $PIDS; do kill -9 $p 2>/dev/null; done; rm -rf "$W"' EXIT
fail() { echo "FAIL: $*"; for f in err*.txt; do [ -s "$f" ] && { echo "--- $f"; cat "$f"; }; done; exit 1; }

one_line() { # FILE PATTERN: exactly one line, from tern, matching PATTERN
  [ "$(wc -l < "$1")" -eq 1 ] || fail "expected one line in $1"
  grep -q "^tern [a-z]*: " "$1" || fail "not a tern error line"
  grep -qi -- "$2" "$1" || fail "message does not mention '$2'"
  echo "message: $(cat "$1")"
}

dump_counter() { # a dumped counter in img.h5, its output in out.txt
  cp "$COUNTER" prog
  "$TERN" exec -- ./prog 100 10 > out.txt 2>/dev/null < /dev/null &
  local pid=$!
  PIDS="$PIDS $pid"
  sleep 0.3
  "$TERN" dump "$pid" -o img.h5 --stop 2> err.dump.txt || fail "dump failed"
  wait "$pid" 2>/dev/null
}

restore_must_fail() { # "[--check] IMAGE" PATTERN; the exit status in rc
  local before
  before=$(stat -c %s out.txt)
  # shellcheck disable=SC2086
  "$TERN" restore $1 > /dev/null 2> err.restore.txt < /dev/null
  rc=$?
  [ $rc -ne 0 ] || fail "restore of a bad image succeeded"
  sleep 0.2
  [ "$(stat -c %s out.txt)" = "$before" ] || fail "something restored ran on (output grew)"
  one_line err.restore.txt "$2"
}

refuse() { # WHAT PATTERN [stop]
  cp "$REFUSE" prog
  "$TERN" exec -- ./prog "$1" > out.txt 2>/dev/null < /dev/null &
  local pid=$!
  PIDS="$PIDS $pid"
  for i in $(seq 50); do grep -q ready out.txt 2>/dev/null && break; sleep 0.05; done
  if [ -n "${3:-}" ]; then kill -STOP "$pid"; sleep 0.1; fi
  "$TERN" dump "$pid" -o img.h5 2> err.dump.txt && fail "dump of a '$1' process succeeded"
  one_line err.dump.txt "$2"
  [ -e img.h5 ] && fail "an image was written"
  ls | grep -q tmp && fail "leftovers: $(ls)"
  kill -0 "$pid" 2>/dev/null || fail "the refused process did not survive"
}

case $CASE in
  corrupt)
    dump_counter
    size=$(stat -c %s img.h5)
    # flip a byte every 4 KiB past the superblock: data, metadata and CRCs alike
    for ((o = 4096; o < size; o += 4096)); do
      printf '\xa5' | dd of=img.h5 bs=1 seek=$o count=1 conv=notrunc status=none
    done
    restore_must_fail img.h5 "img.h5" ;;
  corrupt.heap)
    # one byte of a big heap, whose pages restore maps from the image file:
    # its CRC is still checked before anything is changed
    cp "$HEAP" prog
    "$TERN" exec -- ./prog 64 40 > out.txt 2>/dev/null < /dev/null &
    pid=$!
    PIDS="$PIDS $pid"
    sleep 0.4
    "$TERN" dump "$pid" -o img.h5 --stop 2> err.dump.txt || fail "dump failed"
    wait "$pid" 2>/dev/null
    "$TERN" restore img.h5 > /dev/null 2> err.restore.txt < /dev/null ||
      fail "the undamaged image does not restore"
    : > out.txt
    size=$(stat -c %s img.h5)
    printf '\xa5' | dd of=img.h5 bs=1 seek=$((size / 2)) count=1 conv=notrunc status=none
    restore_must_fail img.h5 "CRC mismatch" ;;
  check.corrupt)
    # --check reads every page segment and checks its CRCs (before, it read
    # the metadata only and passed an image whose pages were damaged)
    cp "$HEAP" prog
    "$TERN" exec -- ./prog 64 40 > out.txt 2>/dev/null < /dev/null &
    pid=$!
    PIDS="$PIDS $pid"
    sleep 0.4
    "$TERN" dump "$pid" -o img.h5 --stop 2> err.dump.txt || fail "dump failed"
    wait "$pid" 2>/dev/null
    "$TERN" restore --check img.h5 > check.txt 2> err.restore.txt ||
      fail "--check of the undamaged image failed"
    grep -qx "img.h5: can be restored here" check.txt || fail "--check said '$(cat check.txt)'"
    size=$(stat -c %s img.h5)
    printf '\xa5' | dd of=img.h5 bs=1 seek=$((size / 2)) count=1 conv=notrunc status=none
    restore_must_fail "--check img.h5" "CRC mismatch"
    [ $rc = 1 ] || fail "--check: exit $rc, expected 1"
    grep -q "^tern restore: img.h5: rank 0: segment 'dumper.pages.[0-9]*': chunk [0-9]*: CRC mismatch" \
      err.restore.txt || fail "the line does not name the file and the segment" ;;
  libchanged)
    dump_counter
    touch -d '2001-01-01' prog
    restore_must_fail img.h5 "changed since the dump" ;;
  kernel)
    dump_counter
    "$EDIT" img.h5 other > /dev/null || fail "image edit failed"
    restore_must_fail other "another kernel" ;;
  xfeatures)
    # an image from a CPU with XSAVE features this one lacks (MPX, which no
    # kernel since 5.6 enables; as an AVX-512 image on an AVX2 node): refused
    # by --check and restore alike, before anything is changed
    dump_counter
    "$EDIT" --xfeatures img.h5 other > /dev/null || fail "image edit failed"
    sum=$(md5sum other/* img.h5)
    exp="tern restore: other: rank 0: saved on a CPU with mpx_bndregs, mpx_bndcsr, which this CPU lacks"
    for check in --check ""; do
      restore_must_fail "$check other" "lacks"
      [ "$(cat err.restore.txt)" = "$exp" ] || fail "got '$(cat err.restore.txt)', expected '$exp'"
      [ $rc = 1 ] || fail "restore $check: exit $rc, expected 1"
    done
    [ "$sum" = "$(md5sum other/* img.h5)" ] || fail "the image changed" ;;
  image.run0|image.page|image.pending)
    # numbers that wrap a sum around 2^64 into the checks' favour (issue 14):
    # a run start of 2^64 - nruns read past the heap, page numbers and
    # pending-signal starts of 2^64 - 1 passed --check
    dump_counter
    "$EDIT" --meta "${CASE#image.}" img.h5 other > /dev/null || fail "image edit failed"
    exp="tern restore: other: segment dumper.meta: inconsistent region table (corrupt image)"
    for check in --check ""; do
      restore_must_fail "$check other" "inconsistent region table"
      [ "$(cat err.restore.txt)" = "$exp" ] || fail "got '$(cat err.restore.txt)', expected '$exp'"
      [ $rc = 1 ] || fail "restore $check: exit $rc, expected 1"
    done ;;
  image.minor0)
    # an image as tern wrote it before process image version 1.1 (minor 0,
    # no external regions) still restores and runs to its end
    dump_counter
    "$EDIT" --meta minor0 img.h5 other > /dev/null || fail "image edit failed"
    grep -q "^done " out.txt && fail "the counter finished before the dump"
    # its stdout is out.txt, reopened at the saved offset
    "$TERN" restore other > /dev/null 2> err.restore.txt < /dev/null ||
      fail "a version 1.0 image does not restore"
    grep -q "^done " out.txt || fail "the restored counter did not finish" ;;
  image.minor9)
    # a minor this reader does not know: refused, not misread
    dump_counter
    "$EDIT" --meta minor9 img.h5 other > /dev/null || fail "image edit failed"
    exp="tern restore: other: segment dumper.meta: process image version 1.9 is newer than this tern reads (1.1)"
    for check in --check ""; do
      restore_must_fail "$check other" "newer"
      [ "$(cat err.restore.txt)" = "$exp" ] || fail "got '$(cat err.restore.txt)', expected '$exp'"
      [ $rc = 1 ] || fail "restore $check: exit $rc, expected 1"
    done ;;
  refuse.child)   refuse child "child process" ;;
  refuse.socket)  refuse socket "socket" ;;
  refuse.sysv)    refuse sysv "SysV" ;;
  refuse.pipe)    refuse pipe "pipe" ;;
  refuse.eventfd) refuse eventfd "eventfd" ;;
  refuse.stopped) refuse plain "stopped by a signal" stop ;;
  refuse.shmdel)  refuse shmdel "shared mapping" ;;
  refuse.ptraced)
    cp "$COUNTER" prog
    "$TERN" exec -- ./prog 1000 20 > out.txt 2>/dev/null < /dev/null &
    pid=$!
    PIDS="$PIDS $pid"
    sleep 0.2
    "$TRACER" "$pid" 20 &
    PIDS="$PIDS $!"
    sleep 0.3
    "$TERN" dump "$pid" -o img.h5 2> err.dump.txt && fail "dump of a traced process succeeded"
    one_line err.dump.txt "traced"
    [ -e img.h5 ] && fail "an image was written" ;;
  *) fail "unknown case $CASE" ;;
esac
echo PASS
