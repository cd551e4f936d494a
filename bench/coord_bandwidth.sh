#!/bin/bash
# coord_bandwidth.sh BUILD_DIR [MIB]: 4 ranks x MIB MiB (default 64) of
# registered, incompressible data, one checkpoint end to end (trigger served
# -> committed), vs `dd conv=fdatasync` of the same number of bytes into the
# same directory. Target: tern >= 0.8x dd's throughput.
set -eu
B=${1:-/work/main/build-proto}
MIB=${2:-64}
NP=${NP:-4}
S=$(cd "$(dirname "$0")/.." && pwd)
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
base=${BENCH_DIR:-/tmp}
w=$(mktemp -d "$base/tern-bench.XXXXXX"); trap 'rm -rf "$w"' EXIT
mpicc -O2 -I"$S/coord" "$S/bench/coord_bench.c" -o "$w/coord_bench" -L"$B/coord" -ltern -Wl,-rpath,"$B/coord"
total=$((NP * MIB))
# The source of dd is made once. Each measurement starts the same way for
# both: the previous output of the same size deleted and synced. (This
# root file system is mounted with `discard`: the blocks a deletion frees
# are discarded at the next commit, and writes right after that run slow;
# timing dd after an unrelated write hid that from dd only.) The order
# alternates between repetitions.
dd if=/dev/urandom of="$w/src.bin" bs=1M count=$total status=none
run_tern() {
    rm -rf "$w/job" "$w/stats"; sync
    mpirun --oversubscribe --bind-to none -np $NP -x TERN_DIR="$w/job" -x TERN_STATS="$w/stats" \
        -x TERN_COMPRESS=0 "$w/coord_bench" bandwidth $MIB >/dev/null
    t=$(awk '{for(i=1;i<=NF;i++) if ($i ~ /^total=/) {split($i,a,"="); print a[2]}}' "$w/stats")
}
run_dd() {
    rm -f "$w/dd.bin"; sync
    local s e
    s=$(date +%s.%N)
    dd if="$w/src.bin" of="$w/dd.bin" bs=1M conv=fdatasync status=none
    e=$(date +%s.%N)
    td=$(awk -v a="$s" -v b="$e" 'BEGIN{print b-a}')
}
for rep in $(seq 1 ${REPS:-5}); do
    if [ $((rep % 2)) = 1 ]; then run_tern; run_dd; else run_dd; run_tern; fi
    echo "rep=$rep bytes=$((total))MiB tern_s=$t tern_MiBps=$(awk -v t="$t" -v m=$total 'BEGIN{printf "%.0f", m/t}') dd_s=$td dd_MiBps=$(awk -v t="$td" -v m=$total 'BEGIN{printf "%.0f", m/t}') ratio=$(awk -v a="$t" -v b="$td" 'BEGIN{printf "%.2f", b/a}')"
done
