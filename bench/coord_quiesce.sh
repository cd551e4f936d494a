#!/bin/bash
# coord_quiesce.sh BUILD_DIR: coordination time (trigger decided -> all ranks
# quiescent, no data written) vs MPI_Barrier in the same run, 2 and 4 ranks.
# Target: <= 20x the barrier.
#
# Two workloads (MODE=idle|inflight|both, default both):
#   idle      nothing in flight at the snapshot point: the fast path
#   inflight  one ring message per rank in flight at the cut, and the send
#             request still active: the drain moves it
# Two kinds of checkpoint (WRITES=no|yes|both, default both):
#   no   TERN_QUIESCE_ONLY=1: the checkpoint stops once every rank is
#        quiescent and writes nothing -- what the target is about
#   yes  full checkpoints (write, fsync, commit); the next coordination then
#        starts with caches and TLBs emptied by the store, which this 2-core
#        VM shows as 2-5 us more (the same MPI calls after a memset of 8 MiB
#        cost 3-4x their warm time)
# KEEP=1 keeps the work directory; ITERS=n snapshot points (a checkpoint
# every 10th).
set -eu
B=${1:-/work/main/build}
S=$(cd "$(dirname "$0")/.." && pwd)
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
w=$(mktemp -d /tmp/tern-bench.XXXXXX); trap '[ -n "${KEEP:-}" ] || rm -rf "$w"' EXIT
[ -z "${KEEP:-}" ] || echo "work dir: $w"
mpicc -O2 -I"$S/coord" "$S/bench/coord_bench.c" -o "$w/coord_bench" -L"$B/coord" -ltern -Wl,-rpath,"$B/coord"
modes=${MODE:-both}; [ "$modes" = both ] && modes="idle inflight"
writes=${WRITES:-both}; [ "$writes" = both ] && writes="no yes"
# median of key k over the stats file, in microseconds
med() { awk -v k=$1 '{for(i=1;i<=NF;i++){split($i,a,"="); if(a[1]==k) print a[2]*1e6}}' "$w/stats" | sort -g |
        awk '{v[NR]=$1} END {printf "%.2f", v[int((NR+1)/2)]}'; }
for mode in $modes; do
for wr in $writes; do
for np in 2 4; do
    rm -rf "$w/stats" "$w/job$np"
    q=0; [ "$wr" = no ] && q=1
    out=$(mpirun --oversubscribe --bind-to none ${MCA:-} -np $np -x TERN_DIR="$w/job$np" -x TERN_STATS="$w/stats" \
          -x TERN_COMPRESS=0 -x TERN_QUIESCE_ONLY=$q "$w/coord_bench" quiesce ${ITERS:-400} $mode)
    bar=$(echo "$out" | awk '/^barrier_us/ {print $2}')
    # proto_min: from the last rank entering the checkpoint to the last rank
    # quiescent (the protocol's cost); quiesce: from the decision on rank 0
    # (adds waiting for every rank to reach the same snapshot point)
    c=$(med proto_min); qd=$(med quiesce)
    n=$(wc -l <"$w/stats")
    fast=$(grep -c 'fast=1' "$w/stats" || true)
    ph=$(for k in exchange drain describe; do printf "%s=%s " $k "$(med $k)"; done)
    echo "$mode writes=$wr np=$np checkpoints=$n fast_path=$fast barrier_us=$bar coordination_median_us=$c" \
         "ratio=$(awk -v a="$c" -v b="$bar" 'BEGIN{printf "%.1f", a/b}') (from rank 0's decision: $qd us) phases_median_us: $ph"
done
done
done
