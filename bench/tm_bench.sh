#!/bin/bash
# bench/tm_bench.sh BUILD [ROUNDS]: transparent mode against native, side by
# side in one run (not a test; docs/transparent.md has the figures).
# Per call: tm_bench (bench/tm_bench.c) on 2 ranks, natively and under
# tern-proxy, alternately ROUNDS times (default 3), best of each; whole
# programs: the CG and halo workloads of tests/protocol at realistic sizes,
# and hpcc (Debian's example input on 1x2). Prints the load first: the
# machine is shared, and the figures mean little above a load of ~1.5.
set -u
B=${1:?usage: tm_bench.sh BUILD [ROUNDS]} R=${2:-3}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
P=$B/proxy/tern-proxy
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
mpicc -O2 -o "$tmp/tm_bench" "$(dirname "$0")/tm_bench.c" || exit 1
echo "load: $(cut -d' ' -f1-3 /proc/loadavg)"
BIND=${TM_BIND:-core}
for i in $(seq "$R"); do
    mpirun -np 2 --bind-to "$BIND" "$tmp/tm_bench" 0.5 >>"$tmp/native"
    mpirun -np 2 --bind-to "$BIND" "$P" -- "$tmp/tm_bench" 0.5 >>"$tmp/tm"
done
best() {   # FILE NAME: the best value (smallest time, largest bandwidth)
    awk -v n="$2" '$1 == n { v = $2; if (b == "" || ($3 == "us" ? v < b : v > b)) b = v } END { print b }' "$1"
}
printf "%-20s %12s %12s %8s   (bind-to %s, best of %d)\n" "per call" native transparent ratio "$BIND" "$R"
for n in pingpong8 allreduce8 sendrecv_allreduce burst1000 bw_1MiB bw_16MiB; do
    a=$(best "$tmp/native" $n) b=$(best "$tmp/tm" $n)
    unit=$(awk -v n=$n '$1 == n {print $3; exit}' "$tmp/native")
    printf "%-20s %12s %12s %8.2f   %s\n" $n "$a" "$b" "$(echo "$b / $a" | bc -l)" "$unit"
done
whole() {   # NAME CMD...: seconds natively and transparent, ratio
    local name=$1; shift
    local t0 t1 t2
    t0=$(date +%s.%N); mpirun -np 2 --bind-to "$BIND" "$@" >/dev/null 2>&1
    t1=$(date +%s.%N); mpirun -np 2 --bind-to "$BIND" "$P" -- "$@" >/dev/null 2>&1
    t2=$(date +%s.%N)
    printf "%-20s %11.2fs %11.2fs %8.2f\n" "$name" "$(echo "$t1 - $t0" | bc)" "$(echo "$t2 - $t1" | bc)" \
        "$(echo "($t2 - $t1) / ($t1 - $t0)" | bc -l)"
}
echo "whole programs (2 ranks, wall time including start-up)"
T=$B/tests/transparent
whole "cg 4096 rows" "$T/tm_cg" --iters 3000 --size 4096
whole "halo2d 256x256" "$T/tm_halo2d" --iters 2000 --size 256
if command -v hpcc >/dev/null; then
    (cd "$tmp" && sed -e 's/^2            Ps/1            Ps/' /usr/share/doc/hpcc/examples/_hpccinf.txt >hpccinf.txt &&
     whole "hpcc (example input)" hpcc)
fi
echo "load: $(cut -d' ' -f1-3 /proc/loadavg)"
