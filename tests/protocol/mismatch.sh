#!/bin/bash
# mismatch.sh APP(nbc): a collective started on one side of the snapshot only
# makes every checkpoint fail with a message naming the communicator; the job
# goes on and its answer does not change.
set -u
app=$1
source "$(dirname "$0")/common.sh"
proto_work mismatch
die() { echo "FAIL: $*" >&2; cat "$work"/* "$work/job/events" >&2 2>/dev/null; exit 1; }
mpi() { "$MPIEXEC" --oversubscribe --bind-to none -np 3 "$@"; }
mpi -x NBC_MISMATCH=1 "$app" --iters 60 >"$work/ref.out" 2>"$work/ref.err" || die "reference"
mpi -x NBC_MISMATCH=1 -x TERN_DIR="$work/job" "$app" --iters 60 --ckpt-at 20 >"$work/run.out" 2>"$work/run.err" || die "run"
grep -q '^REFUSED 1 COMMITTED 0$' "$work/run.out" || die "expected one refused checkpoint: $(grep REFUSED "$work/run.out")"
grep '^failed epoch=1 ' "$work/job/events" | grep -q 'collective sequence mismatch on communicator #2 (MPI_Comm_idup)' \
    || die "no failed event naming the communicator"
[ "$(grep RESULT "$work/ref.out")" = "$(grep RESULT "$work/run.out")" ] || die "results differ"
grep '^failed' "$work/job/events"
echo PASS
