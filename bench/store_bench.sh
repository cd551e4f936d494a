#!/bin/bash
# Checkpoint write rate vs. the raw disk rate (dd with fdatasync), in one run.
#   bench/store_bench.sh [BUILD_DIR] [WORK_DIR]        (env: NP=4 MIB=64 REPS=5)
# (env KINDS="random smooth sparse" to choose, VERBOSE=1 for every repetition)
# NP ranks x MIB MiB of random / smooth / sparse data, written uncompressed
# (level 0) and with compression on (level 1). dd writes the same bytes (from
# the page cache, bs=4M, conv=fdatasync) into the same directory. Each
# repetition runs dd, level 0 and level 1 back to back (order alternating
# between repetitions), so the three see the same machine; the table gives medians over REPS repetitions, and
# "vs dd" is the median of the per-repetition ratios (logical bytes per
# second of the checkpoint / bytes per second of dd). Columns: compression
# ratio (logical/stored), best and median checkpoint rate in logical GB/s,
# best and median dd rate, and the ratios best/best, median/median and the
# median of the per-repetition ratios.
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
printf "%-7s %5s %6s | %8s %8s | %8s %8s | %8s %8s %8s\n" kind level ratio "best GB/s" "med GB/s" \
    "dd best" "dd med" "best/dd" "med/dd" "rep/dd"
for kind in ${KINDS:-random smooth sparse}; do
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
    spacer() {   # an unmeasured write of the same size
        dd if="$d/all.bin" of="$d/spacer" bs=4M conv=fdatasync status=none
        rm -f "$d/spacer"
    }
    for rep in $(seq "$reps"); do
        # The disk of this VM alternates: every other large write is slow
        # (seen as a strict fast/slow/fast pattern over dd, level 0, level
        # 1). An unmeasured spacer write after each measured one puts all
        # three on the same beat. Odd repetitions run dd first, even ones
        # last, so a drift during a repetition favours neither side.
        if ((rep % 2)); then ddr=$(run_dd); spacer; fi
        if ((rep % 2)); then order="0 1"; else order="1 0"; fi
        declare -A line=()
        for level in $order; do line[$level]=$(run_store "$level"); spacer; done
        if ! ((rep % 2)); then ddr=$(run_dd); spacer; fi
        echo "$ddr" >> "$d/dd"
        [ -n "${VERBOSE:-}" ] && echo "rep $rep: dd $ddr GB/s; level 0: ${line[0]}; level 1: ${line[1]}" >&2
        for level in 0 1; do
            echo "${line[$level]}" >> "$d/l$level"
            calc "$(echo "${line[$level]}" | awk '{print $4}') / $ddr" >> "$d/r$level"
            echo >> "$d/r$level"
        done
    done
    dd_med=$(median < "$d/dd")
    dd_best=$(sort -g "$d/dd" | tail -1)
    for level in 0 1; do
        best=$(awk '{print $4}' "$d/l$level" | sort -g | tail -1)
        med=$(awk '{print $4}' "$d/l$level" | median)
        printf "%-7s %5s %6.2f | %8.3f %8.3f | %8.3f %8.3f | %8.2f %8.2f %8.2f\n" "$kind" "$level" \
            "$(awk '{print $5}' "$d/l$level" | median)" "$best" "$med" "$dd_best" "$dd_med" \
            "$(calc "$best / $dd_best")" "$(calc "$med / $dd_med")" "$(median < "$d/r$level")"
    done
    rm -f "$d/all.bin"
done
