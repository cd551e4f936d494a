#!/bin/bash
# fail.sh FAIL MODE [LINE]: a rank that fails (abort, segv, noexit, exit3 --
# progs/fail.c) ends the job as it does natively: the same exit status of
# mpirun, no process left behind, and in transparent mode one line naming the
# rank and the signal when it was killed by one (LINE: a pattern the
# transparent run's stderr must hold). Prints PASS, or "FAIL: " and why.
set -u
. "$(dirname "$0")/common.sh"
prog=$1 mode=$2 line=${3:-}
TM_TIMEOUT=60
tm_mpirun 2 "$prog" "$mode" >"$work/n.out" 2>"$work/n.err"; rn=$?
tm_no_orphans "$prog" || exit 1
tm_mpirun 2 "$TERN_PROXY" -- "$prog" "$mode" >"$work/t.out" 2>"$work/t.err"; rt=$?
tm_no_orphans "$prog" || exit 1
if [ "$rn" != "$rt" ] || [ "$rn" = 124 ]; then
    echo "FAIL: $mode: mpirun exited $rn natively, $rt in transparent mode"
    sed 's/^/  transparent stderr: /' "$work/t.err" | head -20
    exit 1
fi
if [ -n "$line" ] && ! grep -q "$line" "$work/t.err"; then
    echo "FAIL: $mode: no line '$line' on stderr:"
    sed 's/^/  /' "$work/t.err" | head -20
    exit 1
fi
# a signal mpirun sent through the proxy is not the application's failure
if grep -q "killed by SIGTERM\|killed by SIGKILL" "$work/t.err"; then
    echo "FAIL: $mode: a proxy reported the job's own termination as the application's:"
    grep "tern-proxy" "$work/t.err"
    exit 1
fi
echo "$mode: mpirun exits $rt in both modes${line:+; '$line' said}"
echo "PASS"
