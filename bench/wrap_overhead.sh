#!/bin/bash
# wrap_overhead.sh: how much slower MPI calls are under LD_PRELOAD=libtern.so.
#
# usage: bench/wrap_overhead.sh [LIBTERN] [RUNS]
#   LIBTERN  path of libtern.so (default: $TERN_LIBTERN, else build/coord/libtern.so)
#   RUNS     runs of each variant (default 7), interleaved A/B/A/B
# env: MPIRUN (default mpirun), BIND (mpirun --bind-to, default "core": one rank per core),
#      BENCH_ARGS (extra arguments for the program, e.g. "--scale 2"),
#      CHECK=1 to exit 1 when a ratio is over its target.
#
# Builds bench/wrap_overhead.c with mpicc into a temporary directory, then
# runs the same binary on 2 ranks plainly (A) and with LD_PRELOAD (B),
# alternating, so that slow phases of a noisy machine hit both. Each run
# prints the median of 7 timed repetitions per kernel. The verdict uses the
# median over the runs of the ratio B/A of each back-to-back pair; the ratio
# of the medians is printed too. It also prints the
# in-process ratio: within each B run every repetition is timed through MPI_*
# (interposed) and through PMPI_* (not), back to back, and the median over
# runs of MPI_*/PMPI_* is the wrapper's cost with the noise of separate runs
# taken out (the same ratio in the A runs shows the method's own error), and
# the ratio of the minima over all runs, which noise from other processes
# cannot lower. Targets:
#   lat8     8-byte ping-pong half round trip   target ratio <= 1.05
#   pp1m     1 MiB ping-pong half round trip    target ratio <= 1.01
#   allred8  8-byte MPI_Allreduce               target ratio <= 1.05
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
lib=${1:-${TERN_LIBTERN:-$root/build/coord/libtern.so}}
runs=${2:-7}
mpirun=${MPIRUN:-mpirun}
bind=${BIND:-core}
if [ ! -f "$lib" ]; then
    echo "wrap_overhead: no libtern.so at '$lib' (give its path as the first argument)" >&2
    exit 2
fi
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
work=$(mktemp -d "${TMPDIR:-/tmp}/tern-bench.XXXXXX") || exit 2
trap 'rm -rf "$work"' EXIT
mpicc -O2 -o "$work/wrap_overhead" "$here/wrap_overhead.c" || exit 2

run() { # run A|B  -> appends "KERNEL name us" lines to $work/$1
    local pre=()
    [ "$1" = B ] && pre=(-x LD_PRELOAD="$lib" -x TERN_DIR="$work/tern" -x TERN_INTERVAL=0 -x TERN_JOB=bench)
    # shellcheck disable=SC2086
    "$mpirun" --oversubscribe --bind-to "$bind" -np 2 "${pre[@]}" "$work/wrap_overhead" ${BENCH_ARGS:-} \
        >>"$work/$1" 2>>"$work/$1.err" || { echo "wrap_overhead: run $1 failed:" >&2; tail -5 "$work/$1.err" >&2; exit 1; }
}
for i in $(seq 1 "$runs"); do
    if [ $((i % 2)) -eq 1 ]; then run A; run B; else run B; run A; fi
done

median() { sort -g | awk '{v[NR]=$1} END {if (NR%2) print v[(NR+1)/2]; else print (v[NR/2]+v[NR/2+1])/2}'; }
minof() { sort -g | head -1; }
col() { awk -v t="$2" -v k="$3" -v c="$4" '$1==t && $2==k {print $c}' "$1"; }   # col FILE TYPE KERNEL COLUMN
# per-run MPI_*/PMPI_* ratios (of the per-run medians) of kernel $2 in file $1
inproc() { awk -v k="$2" '$2==k && $1=="KERNEL" {m[++i]=$3} $2==k && $1=="PKERNEL" {p[++j]=$3} END {for (n=1; n<=i; n++) print m[n]/p[n]}' "$1"; }
div() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.3f", a / b}'; }
status=0
# per-pair ratios B_i / A_i (run i of A and run i of B ran back to back)
paired() { paste <(col "$work/A" KERNEL "$1" 3) <(col "$work/B" KERNEL "$1" 3) | awk '{print $2 / $1}'; }
echo "Each run: the median and the minimum of its timed repetitions (--reps, 7 by default) per kernel. $runs runs of each"
echo "variant, in back-to-back pairs. 'paired' = median over pairs of tern/plain (the verdict);"
echo "'of medians' = median tern / median plain; 'of minima' = min tern / min plain."
printf '%-8s %10s %10s %7s %7s %-5s | %10s %9s %9s %9s | %s\n' kernel "plain-med" "tern-med" paired target "" "of medians" "plain-min" "tern-min" "of minima" "in-process tern/PMPI (plain/PMPI)"
for k in lat8:1.05 pp1m:1.01 allred8:1.05; do
    name=${k%%:*} target=${k#*:}
    a=$(col "$work/A" KERNEL "$name" 3 | median)
    b=$(col "$work/B" KERNEL "$name" 3 | median)
    amin=$(col "$work/A" KERNEL "$name" 4 | minof)
    bmin=$(col "$work/B" KERNEL "$name" 4 | minof)
    rmed=$(div "$b" "$a")
    ratio=$(paired "$name" | median | awk '{printf "%.3f", $1}')
    rmin=$(div "$bmin" "$amin")
    ok=$(awk -v r="$ratio" -v t="$target" 'BEGIN {print (r <= t) ? "ok" : "OVER"}')
    [ "$ok" = ok ] || status=1
    ib=$(inproc "$work/B" "$name" | median)
    ia=$(inproc "$work/A" "$name" | median)
    printf '%-8s %10.4f %10.4f %7s %7s %-5s | %10s %9.4f %9.4f %9s | %.3f (%.3f)\n' "$name" "$a" "$b" "$ratio" "<=$target" "$ok" "$rmed" "$amin" "$bmin" "$rmin" "$ib" "$ia"
    echo "  runs A (median us): $(col "$work/A" KERNEL "$name" 3 | tr '\n' ' ')"
    echo "  runs B (median us): $(col "$work/B" KERNEL "$name" 3 | tr '\n' ' ')"
done
echo "Single calls, no waiting for the peer (ns per call, minimum over repetitions, median over runs):"
for c in iprobe self8; do
    for v in A B; do
        m=$(col "$work/$v" CALL "$c" 3 | median)
        pm=$(col "$work/$v" CALL "$c" 4 | median)
        printf '  %-7s %s: via MPI_* %8.2f ns, via PMPI_* %8.2f ns, difference %+7.2f ns\n' "$c" \
            "$([ $v = A ] && echo "plain" || echo "tern ")" "$m" "$pm" "$(awk -v a="$m" -v b="$pm" 'BEGIN {print a - b}')"
    done
done
echo "(lib $lib; binding: $bind; load average at the end: $(cut -d' ' -f1-3 /proc/loadavg))"
[ "${CHECK:-0}" = 1 ] && exit $status
exit 0
