#!/bin/bash
# `tern exec --job NAME` then `tern dump NAME`: the named process is dumped,
# stopped and restored with output identical to an uninterrupted run; unknown
# and stale names give one exact error line and exit 2.
set -u
TERN=$1 PROG=$2
. "$(dirname "$0")/common.sh"
dmp_setup job
export TERN_EXEC_DIR=$W/jobs
trap 'kill -9 $pid 2>/dev/null; rm -rf "$W"' EXIT
cd "$W" || exit 1
fail() { echo "FAIL: $*"; exit 1; }

"$PROG" 150 10 > ref.txt < /dev/null || fail "reference run failed"

"$TERN" exec --job counter -- "$PROG" 150 10 > out.txt 2> err.prog.txt < /dev/null &
pid=$!
sleep 0.5
"$TERN" exec --job counter -- /bin/true 2> err.dup.txt && fail "a second live 'counter' was accepted"
grep -qx "tern exec: job 'counter' is already running as pid $pid" err.dup.txt ||
  fail "duplicate name: got '$(cat err.dup.txt)'"
"$TERN" dump counter -o img.h5 --stop 2> err.dump.txt || fail "dump by name failed: $(cat err.dump.txt)"
wait $pid 2>/dev/null
"$TERN" restore img.h5 2> err.restore.txt < /dev/null || fail "restore failed: $(cat err.restore.txt)"
cmp out.txt ref.txt || fail "output differs from the reference"

# the record now names a process that is gone
"$TERN" dump counter -o img2.h5 2> err.stale.txt; rc=$?
[ $rc = 2 ] || fail "stale name: exit $rc, expected 2"
exp="tern dump: job 'counter': no running process started with \`tern exec --job counter\`"
[ "$(cat err.stale.txt)" = "$exp" ] || fail "stale name: got '$(cat err.stale.txt)'"
"$TERN" dump 'no/such' -o img3.h5 2> err.bad.txt; rc=$?
[ $rc = 2 ] && [ "$(cat err.bad.txt)" = "tern dump: no/such: neither a process id nor a job name" ] ||
  fail "bad name: exit $rc, got '$(cat err.bad.txt)'"
[ ! -e img2.h5 ] && [ ! -e img3.h5 ] || fail "an image was written for a failed dump"
echo PASS
