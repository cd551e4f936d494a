#!/bin/bash
# coord_quiesce.sh BUILD_DIR: coordination time (decision -> all ranks
# quiescent, no data written yet) vs MPI_Barrier in the same run, 2 and 4
# ranks. Target: <= 20x the barrier.
# MODE=inflight (default: one ring message per rank in flight at the cut, the
# drain moves it: two collectives) or MODE=idle (nothing in flight: the
# one-collective fast path). KEEP=1 keeps the work directory.
set -eu
B=${1:-/work/main/build-proto}
S=$(cd "$(dirname "$0")/.." && pwd)
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
w=$(mktemp -d /tmp/tern-bench.XXXXXX); trap '[ -n "${KEEP:-}" ] || rm -rf "$w"' EXIT
[ -z "${KEEP:-}" ] || echo "work dir: $w"
mpicc -O2 -I"$S/coord" "$S/bench/coord_bench.c" -o "$w/coord_bench" -L"$B/coord" -ltern -Wl,-rpath,"$B/coord"
for np in 2 4; do
    rm -f "$w/stats"
    out=$(mpirun --oversubscribe --bind-to none ${MCA:-} -np $np -x TERN_DIR="$w/job$np" -x TERN_STATS="$w/stats" \
          -x TERN_COMPRESS=0 "$w/coord_bench" quiesce ${ITERS:-400} ${MODE:-inflight})
    bar=$(echo "$out" | awk '/^barrier_us/ {print $2}')
    # medians, in microseconds: proto_min = from the last rank entering the
    # checkpoint to all quiescent (the protocol's cost); quiesce = from the
    # decision on rank 0 (includes waiting for every rank to reach the
    # snapshot point)
    med() { awk -v k=$1 '{for(i=1;i<=NF;i++){split($i,a,"="); if(a[1]==k) print a[2]*1e6}}' "$w/stats" | sort -g |
        awk '{v[NR]=$1} END {printf "%.2f", v[int((NR+1)/2)]}'; }
    q=$(med proto_min)
    qd=$(med quiesce)
    n=$(wc -l <"$w/stats")
    ph=$(for k in exchange drain describe allreduce; do
        awk -v k=$k '{for(i=1;i<=NF;i++){split($i,a,"="); if(a[1]==k) print a[2]*1e6}}' "$w/stats" | sort -g |
        awk -v k=$k '{v[NR]=$1} END {printf "%s=%.2f ", k, v[int((NR+1)/2)]}'; done)
    fast=$(grep -c 'fast=1' "$w/stats" || true)
    echo "${MODE:-inflight} np=$np checkpoints=$n fast_path=$fast barrier_us=$bar coordination_median_us=$q (from rank 0's decision: $qd) ratio=$(awk -v a="$q" -v b="$bar" 'BEGIN{printf "%.1f", a/b}') phases_median_us: $ph"
done
