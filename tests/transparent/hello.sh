#!/bin/bash
# hello.sh HELLO NP: the first milestone. The output is the native one; in
# the application no Open MPI library is mapped; its proxy uses (almost) no
# CPU while it computes. Prints PASS, or "FAIL: " and why.
set -u
. "$(dirname "$0")/common.sh"
hello=$1 np=$2
"$(dirname "$0")/compare.sh" -c "$np" "$hello" | grep -q PASS || { "$(dirname "$0")/compare.sh" -c "$np" "$hello"; exit 1; }
tm_mpirun "$np" "$TERN_PROXY" -- "$hello" --check >"$work/out" 2>"$work/err" || { echo "FAIL: --check run failed"; cat "$work/err"; exit 1; }
n=$(grep -c "Open MPI mappings 0," "$work/err")
[ "$n" = "$np" ] || { echo "FAIL: Open MPI is mapped in the application:"; grep "hello:" "$work/err"; exit 1; }
# 1 s of computing: the proxy may use a few ticks (waking once a second to see its peer is alive)
busy=$(awk '/proxy CPU while computing/ {if ($(NF-1) > 50) print}' "$work/err")
[ -z "$busy" ] || { echo "FAIL: the proxy used CPU while the application computed:"; echo "$busy"; exit 1; }
grep "hello:" "$work/err"
echo "PASS"
