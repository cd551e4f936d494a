#!/bin/bash
# reshape.sh APP NP0 NP1...: checkpoint on NP0 ranks, restart on each NPi.
set -u
app=$1 np0=$2
shift 2
source "$(dirname "$0")/common.sh"
proto_work reshape
die() { echo "FAIL: $*" >&2; cat "$work"/*.out "$work"/*.err >&2 2>/dev/null; exit 1; }
mpi() { local n=$1; shift; "$MPIEXEC" --oversubscribe --bind-to none -np "$n" "$@"; }
mpi "$np0" "$app" 6000 200 50 1000000 >"$work/ref.out" 2>"$work/ref.err" || die "reference run"
ref=$(grep '^RESULT' "$work/ref.out")
mpi "$np0" -x TERN_DIR="$work/job" "$app" 6000 200 50 100 >"$work/run.out" 2>"$work/run.err"
grep -q '^committed epoch=1 ' "$work/job/events" || die "no checkpoint"
for np in "$@"; do
    mpi "$np" -x TERN_DIR="$work/job" -x TERN_RESTART="$work/job" "$app" >"$work/rst$np.out" 2>"$work/rst$np.err" \
        || die "restart on $np ranks failed"
    got=$(grep '^RESULT' "$work/rst$np.out")
    echo "np $np0 -> $np: $(grep LAYOUT "$work/rst$np.out"); $(grep RESUMED "$work/rst$np.out"); $got (reference $ref)"
    [ "$got" = "$ref" ] || die "results differ on $np ranks"
done
echo PASS
