#!/bin/bash
# refused.sh LINE PROGRAM [ARGS...]: what transparent mode cannot serve is
# refused with one line (LINE, a pattern), the job fails, nothing is left.
set -u
. "$(dirname "$0")/common.sh"
line=$1; shift
TM_TIMEOUT=60 tm_mpirun 2 "$TERN_PROXY" -- "$@" >"$work/out" 2>"$work/err"; rc=$?
tm_no_orphans "$1" || exit 1
[ "$rc" != 0 ] && [ "$rc" != 124 ] || { echo "FAIL: $* exited $rc in transparent mode"; cat "$work/err"; exit 1; }
grep -q "$line" "$work/err" || { echo "FAIL: no line '$line':"; head -20 "$work/err"; exit 1; }
echo "refused ($rc): $(grep -m1 "$line" "$work/err")"
echo "PASS"
