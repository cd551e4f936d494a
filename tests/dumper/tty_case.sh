#!/bin/bash
# stdout on a terminal: the restored process must write to the same
# terminal, found again by path, even though `tern restore` itself has its
# stdout elsewhere (/dev/null).  tty_case.sh TERN COUNTER
set -u
TERN=$1 COUNTER=$2
. "$(dirname "$0")/common.sh"
dmp_setup tty
trap 'rm -rf "$W"' EXIT
cd "$W" || exit 1
cp "$COUNTER" prog
lines() { tr -d '\r' < "$1" | grep -E '^([0-9]+ [0-9a-f]+|done [0-9a-f]+)$'; }
script -qefc "./prog 120 10" ref.log > /dev/null < /dev/null
script -qefc "'$TERN' exec -- ./prog 120 10 & pid=\$!; sleep 0.5;
  '$TERN' dump \$pid -o img.h5 --stop 2> dump.err; wait;
  '$TERN' restore img.h5 > /dev/null 2> restore.err; echo restore-rc=\$?" run.log > /dev/null < /dev/null
grep -q restore-rc=0 run.log || { echo "FAIL: restore: $(cat dump.err restore.err)"; exit 1; }
lines ref.log > ref.txt
lines run.log > run.txt
[ "$(wc -l < ref.txt)" -eq 121 ] || { echo "FAIL: reference has $(wc -l < ref.txt) lines"; exit 1; }
cmp ref.txt run.txt || { diff ref.txt run.txt | head; echo "FAIL: terminal output differs"; exit 1; }
echo "PASS ($(cat dump.err))"
