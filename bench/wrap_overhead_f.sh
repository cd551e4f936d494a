#!/bin/bash
# wrap_overhead_f.sh: how much slower Fortran MPI calls are through tern's
# Fortran bindings (fortran/), for mpif.h and use mpi_f08 (run by hand).
#
# usage: bench/wrap_overhead_f.sh [LIBTERN] [RUNS]
#   LIBTERN  path of libtern.so (default: $TERN_LIBTERN, else build/coord/libtern.so)
#   RUNS     runs of each variant and style (default 7), plain and preloaded alternating
# env: MPIRUN (default mpirun), BIND (mpirun --bind-to, default "core"),
#      BENCH_ARGS (e.g. "--scale 2").
#
# Builds bench/wrap_overhead_f.F90 with mpifort for both styles, then runs
# each binary on 2 ranks plainly (A) and with LD_PRELOAD (B), in back-to-back
# pairs. Per kernel (lat8: 8-byte ping-pong half round trip, allred8:
# 8-byte MPI_Allreduce) and style it prints the median over the pairs of B/A
# and the in-process ratio: within each B run, the same kernel through the
# MPI_* names (tern's bindings) and through PMPI_* (Open MPI's), back to
# back -- the bindings' cost with run-to-run noise taken out (the same ratio
# in the A runs shows the method's own error). Target: <= 1.05 at 8 bytes;
# the verdict column judges the in-process ratio.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
lib=${1:-${TERN_LIBTERN:-$root/build/coord/libtern.so}}
runs=${2:-7}
mpirun=${MPIRUN:-mpirun}
bind=${BIND:-core}
[ -f "$lib" ] || { echo "wrap_overhead_f: no libtern.so at '$lib'" >&2; exit 2; }
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
work=$(mktemp -d "${TMPDIR:-/tmp}/tern-fbench.XXXXXX") || exit 2
trap 'rm -rf "$work"' EXIT
for s in 77 8; do
    mpifort -O2 -cpp -DTERN_FSTYLE=$s -I"$root/tests/fortran" "$here/wrap_overhead_f.F90" \
        -o "$work/wo$s" 2>"$work/cc.err" || { cat "$work/cc.err" >&2; exit 2; }
done
run() {   # run STYLE A|B: appends "KERNEL|PKERNEL name median min" lines to $work/STYLE.A|B
    local pre=()
    [ "$2" = B ] && pre=(-x LD_PRELOAD="$lib" -x TERN_DIR="$work/tern" -x TERN_JOB=fbench)
    # shellcheck disable=SC2086
    "$mpirun" --oversubscribe --bind-to "$bind" -np 2 "${pre[@]}" "$work/wo$1" ${BENCH_ARGS:-} \
        >>"$work/$1.$2" 2>>"$work/err" || { echo "wrap_overhead_f: run failed:" >&2; tail -5 "$work/err" >&2; exit 1; }
}
for i in $(seq 1 "$runs"); do
    for s in 77 8; do
        if [ $((i % 2)) -eq 1 ]; then run $s A; run $s B; else run $s B; run $s A; fi
    done
done
median() { sort -g | awk '{v[NR]=$1} END {if (NR%2) print v[(NR+1)/2]; else print (v[NR/2]+v[NR/2+1])/2}'; }
col() { awk -v t="$2" -v k="$3" '$1==t && $2==k {print $3}' "$1"; }   # col FILE TYPE KERNEL: medians
printf '%-6s %-8s %10s %10s %7s %-5s | %s\n' style kernel plain-us tern-us paired "" "in-process MPI/PMPI: tern (plain)"
for s in 77 8; do
    for k in lat8 allred8; do
        a=$(col "$work/$s.A" KERNEL $k | median)
        b=$(col "$work/$s.B" KERNEL $k | median)
        ratio=$(paste <(col "$work/$s.A" KERNEL $k) <(col "$work/$s.B" KERNEL $k) | awk '{print $2 / $1}' | median)
        inb=$(paste <(col "$work/$s.B" KERNEL $k) <(col "$work/$s.B" PKERNEL $k) | awk '{print $1 / $2}' | median)
        ina=$(paste <(col "$work/$s.A" KERNEL $k) <(col "$work/$s.A" PKERNEL $k) | awk '{print $1 / $2}' | median)
        ok=$(awk -v r="$inb" 'BEGIN {print (r <= 1.05) ? "ok" : "OVER"}')
        printf '%-6s %-8s %10.4f %10.4f %7.3f %-5s | %.3f (%.3f)\n' "$([ $s = 8 ] && echo f08 || echo mpif.h)" \
            $k "$a" "$b" "$ratio" "$ok" "$inb" "$ina"
    done
done
echo "($runs runs per variant; lib $lib; binding: $bind; load average: $(cut -d' ' -f1-3 /proc/loadavg))"
