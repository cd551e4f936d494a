#!/bin/bash
# fault.sh: failures around a checkpoint.
#
# usage: fault.sh MODE NP APP [APP ARGS...]
#   die      checkpoints every 0.3 s; rank 1 dies (_exit) in the middle of
#            writing epoch 2 (TERN_TEST_FAIL=1:2:die). Epoch 2 must not be
#            committed; a restart from the job directory resumes from epoch 1
#            and gives the reference answer.
#   write    rank 1's data for epoch 2 cannot be written
#            (TERN_TEST_FAIL=1:2:write): epoch 2 fails on every rank, the job
#            goes on, later checkpoints commit, the answer is the reference.
#   outside  the trigger signal is raised before, during and after
#            MPI_Init and after MPI_Finalize (TERN_TEST_RAISE=1): all ignored,
#            no checkpoint, exit status 0, the reference answer.
set -u
mode=$1 np=$2
shift 2
app=$1
shift
source "$(dirname "$0")/common.sh"
proto_work fault
dir=$work/job
mpi() { "$MPIEXEC" --oversubscribe --bind-to none -np "$np" "$@"; }
die() { echo "FAIL: $*" >&2; for f in "$work"/*.err "$dir/events"; do [ -s "$f" ] && { echo "--- $f" >&2; tail -20 "$f" >&2; }; done; exit 1; }

mpi "$app" "$@" >"$work/ref.out" 2>"$work/ref.err" || die "reference run failed"
ref=$(grep '^RESULT' "$work/ref.out")
[ -n "$ref" ] || die "no reference RESULT"

case $mode in
die)
    mpi -x TERN_DIR="$dir" -x TERN_INTERVAL=0.3 -x TERN_TEST_FAIL=1:2:die "$app" "$@" \
        >"$work/run.out" 2>"$work/run.err" && die "the run survived the death of rank 1"
    grep -q 'dying during checkpoint 2' "$work/run.err" || die "rank 1 did not die in checkpoint 2"
    grep -q '^committed epoch=1 ' "$dir/events" || die "epoch 1 not committed"
    grep -q '^committed epoch=2 ' "$dir/events" && die "epoch 2 committed although rank 1 died"
    ls "$dir" | grep -q '^ckpt-0*2\.h5$' && die "ckpt 2 exists"
    mpi -x TERN_DIR="$dir" -x TERN_RESTART="$dir" "$app" "$@" >"$work/rst.out" 2>"$work/rst.err" \
        || die "restart failed"
    grep -q '^RESUMED .*epoch=1$' "$work/rst.out" || die "did not resume from epoch 1: $(grep RESUMED "$work/rst.out")"
    got=$(grep '^RESULT' "$work/rst.out") ;;
write)
    mpi -x TERN_DIR="$dir" -x TERN_INTERVAL=0.3 -x TERN_TEST_FAIL=1:2:write "$app" "$@" \
        >"$work/run.out" 2>"$work/run.err" || die "the job did not survive a failed checkpoint"
    grep -q '^failed epoch=2 ' "$dir/events" || die "no 'failed epoch=2' event"
    grep -q '^committed epoch=2 ' "$dir/events" && die "epoch 2 committed although a write failed"
    grep -q '^committed epoch=1 ' "$dir/events" || die "epoch 1 not committed"
    grep -q '^committed epoch=3 ' "$dir/events" || die "no checkpoint after the failed one"
    grep -q 'rc=-' "$work/run.out" || die "tern_snapshot() did not report the failure"
    grep '^failed' "$dir/events"
    got=$(grep '^RESULT' "$work/run.out") ;;
outside)
    mpi -x TERN_DIR="$dir" -x TERN_TEST_RAISE=1 "$app" "$@" >"$work/run.out" 2>"$work/run.err" \
        || die "exit status $? with triggers outside MPI_Init..MPI_Finalize"
    grep -q '^committed' "$dir/events" 2>/dev/null && die "a trigger outside the run made a checkpoint"
    got=$(grep '^RESULT' "$work/run.out") ;;
*) die "unknown mode $mode" ;;
esac
echo "reference: $ref"
echo "got:       $got"
[ "$ref" = "$got" ] || die "results differ"
echo PASS
