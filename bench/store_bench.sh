#!/bin/bash
# Checkpoint write rate vs. the raw disk rate (dd with fdatasync), in one run.
#   bench/store_bench.sh [BUILD_DIR] [WORK_DIR]        (env: NP=4 MIB=64 REPS=5)
# NP ranks x MIB MiB of random / smooth / sparse data, written uncompressed
# (level 0) and with compression on (level 1). dd writes the same bytes (from
# the page cache, bs=4M, conv=fdatasync) into the same directory. Each
# repetition runs dd, level 0 and level 1 back to back (order alternating
# between repetitions), so the three see the same machine; the table gives medians over REPS repetitions, and
# "vs dd" is the median of the per-repetition ratios (logical bytes per
# second of the checkpoint / bytes per second of dd); "best" compares the best
# repetition of each (the machine's capability when other jobs share it).
# Targets:
#   level 0 >= 0.9 x dd, level 1 >= 0.9 x dd, sparse level 1 >= 1.5 x dd.
set -euo pipefail
build=${1:-$(dirname "$0")/../build-storage}
work=${2:-/tmp/tern-store-bench}
np=${NP:-4} mib=${MIB:-64} reps=${REPS:-5}
bench=$build/storage/store_bench
[ -x "$bench" ] || { echo "build it first: cmake --build $build --target store_bench" >&2; exit 2; }
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
mpi=(mpirun --oversubscribe --bind-to none -n "$np")
rm -rf "$work"; mkdir -p "$work"
trap 'rm -rf "$work"' EXIT
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
calc() { awk "BEGIN {printf \"%.4f\", $1}"; }

echo "store_bench: $np ranks x $mib MiB, $reps repetitions, $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
printf "%-7s %5s %9s %9s %7s %8s %9s %6s\n" kind level seconds GB/s ratio "vs dd" "dd GB/s" best
for kind in random smooth sparse; do
    d=$work/$kind; mkdir -p "$d"
    "${mpi[@]}" "$bench" "$d" "$kind" dump "$mib" 0
    cat "$d"/raw.* > "$d/all.bin"; rm -f "$d"/raw.*
    bytes=$(stat -c %s "$d/all.bin")
    : > "$d/dd"; : > "$d/l0"; : > "$d/l1"; : > "$d/r0"; : > "$d/r1"
    run_dd() {
        rm -f "$d/dd.out"; sync; sleep 0.5   # let deferred discards of deleted files finish
        local t0 t1
        t0=$(date +%s.%N)
        dd if="$d/all.bin" of="$d/dd.out" bs=4M conv=fdatasync status=none
        t1=$(date +%s.%N)
        rm -f "$d/dd.out"
        calc "$bytes / ($t1 - $t0) / 1e9"
    }
    run_store() {   # level -> "kind level seconds GB/s ratio"
        local c=$d/ck$1
        rm -rf "$c"; mkdir -p "$c"; sync; sleep 0.5
        "${mpi[@]}" "$bench" "$c" "$kind" "$1" "$mib" 1
        rm -rf "$c"
    }
    for rep in $(seq "$reps"); do
        # odd repetitions run dd first, even ones last (ABBA): a drift of
        # the machine during a repetition does not favour either side
        if ((rep % 2)); then ddr=$(run_dd); fi
        if ((rep % 2)); then order="0 1"; else order="1 0"; fi
        declare -A line=()
        for level in $order; do line[$level]=$(run_store "$level"); done
        if ! ((rep % 2)); then ddr=$(run_dd); fi
        echo "$ddr" >> "$d/dd"
        for level in 0 1; do
            echo "${line[$level]}" >> "$d/l$level"
            calc "$(echo "${line[$level]}" | awk '{print $4}') / $ddr" >> "$d/r$level"
            echo >> "$d/r$level"
        done
    done
    dd_rate=$(median < "$d/dd")
    dd_best=$(sort -g "$d/dd" | tail -1)
    for level in 0 1; do
        best=$(awk '{print $4}' "$d/l$level" | sort -g | tail -1)
        printf "%-7s %5s %9.3f %9.3f %7.2f %8.2f %9.3f %6.2f\n" "$kind" "$level" \
            "$(awk '{print $3}' "$d/l$level" | median)" "$(awk '{print $4}' "$d/l$level" | median)" \
            "$(awk '{print $5}' "$d/l$level" | median)" "$(median < "$d/r$level")" "$dd_rate" \
            "$(calc "$best / $dd_best")"
    done
    rm -f "$d/all.bin"
done
