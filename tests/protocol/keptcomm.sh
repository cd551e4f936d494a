#!/bin/bash
# keptcomm.sh APP [mismatch|partial]: see keptcomm.c. The checkpointed run
# keeps communicators made inside its loop; the restarted run makes, before
# tern_recover(),
#   mismatch  (KEPT_MISMATCH=1) a communicator with other members at the
#             ordinal of one that a drained message refers to;
#   partial   (KEPT_PARTIAL=1) on rank 0 only, communicators up to that
#             ordinal, so that only its other member would rebuild it.
# The restart must stop with the one line that names that communicator and
# what is wrong (not hang), exit non-zero and not resume.
set -u
app=$1
mode=${2:-mismatch}
np=4
source "$(dirname "$0")/common.sh"
proto_work keptcomm
dir=$work/job
die() { echo "FAIL: $*" >&2; tail -20 "$work"/out* "$work"/err* "$dir/events" >&2 2>/dev/null; exit 1; }
mpi() { "$MPIEXEC" --oversubscribe --bind-to none -np $np "$@"; }
mpi -x TERN_DIR="$dir" "$app" --iters 40 --ckpt-at 5 --die-at 9 >"$work/out1" 2>"$work/err1" &&
    die "the first run did not die at iteration 9"
grep -Eq '^SNAPSHOT it=[56] rc=1$' "$work/out1" || die "no checkpoint after the request at iteration 5"
grep -q '^committed' "$dir/events" || die "nothing committed"
case $mode in
mismatch)
    env=KEPT_MISMATCH=1
    line="tern: rank 0: restart from $dir: a drained message refers to communicator #4 (MPI_Comm_split), which this run made again before tern_recover() with other peers (world ranks 0,1 now, 0,2 in the checkpoint): create communicators in the same order as the checkpointed run (tern rebuilds those it does not make again)" ;;
partial)
    env=KEPT_PARTIAL=1
    line="tern: rank 2: restart from $dir: communicator #4 (MPI_Comm_split) must be rebuilt here, but world rank 0, one of its members, does not rebuild it (it made it again before tern_recover(), or the communicator's identity differs there): make it again on all of its members or on none" ;;
*) die "unknown mode $mode" ;;
esac
mpi -x TERN_DIR="$dir" -x TERN_RESTART="$dir" -x $env "$app" --iters 40 \
    >"$work/out2" 2>"$work/err2" && die "the restart ($mode) succeeded"
grep -q '^RESUMED' "$work/out2" && die "the restarted job resumed"
grep -q '^RESULT' "$work/out2" && die "the restarted job finished"
grep -qxF "$line" "$work/err2" || die "no one-line error naming the communicator; wanted: $line"
echo "refused: $line"
echo PASS
