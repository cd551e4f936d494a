#!/bin/bash
# coord_random.sh [BUILD_DIR] [ROUNDS] [NTRIG]: hundreds of checkpoints at
# random moments. For every workload of tests/protocol/apps (and drained.c),
# ROUNDS (default 5) runs, each with NTRIG (default 10) SIGUSR1s at random
# moments (each awaited until committed), a SIGKILL after the last commit, a
# restart and a bit-exact comparison with an uninterrupted run
# (tests/protocol/restart_exact.sh). Prints one line per run and a summary.
set -u
B=${1:-/work/main/build-proto}
ROUNDS=${2:-5}
NTRIG=${3:-10}
S=$(cd "$(dirname "$0")/.." && pwd)
drv=$S/tests/protocol/restart_exact.sh
A=$B/tests/protocol/apps
runs=0 pass=0 trig=0
for r in $(seq 1 "$ROUNDS"); do
    for spec in "3 $A/ring --size 8" "3 $A/ring --size 131072 --prepost" "4 $A/halo2d" \
                "3 $A/masterworker" "4 $A/cg" "3 $A/collmix" "4 $A/comms" \
                "3 $B/tests/protocol/tern_proto_drained" "4 $B/tests/protocol/tern_proto_nbc" "3 $B/tests/protocol/tern_proto_dtype" \
                "3 $B/tests/protocol/tern_proto_imrecv"; do
        set -- $spec
        np=$1 app=$2
        shift 2
        [ -x "$app" ] || continue
        seed=$((RANDOM * 32768 + RANDOM))
        out=$(SEED=$seed "$drv" "$np" signal "$NTRIG" "$app" --iters $((600 * NTRIG)) --sleep-us 1000 "$@" 2>&1)
        runs=$((runs + 1))
        if echo "$out" | grep -q '^PASS'; then
            pass=$((pass + 1)); trig=$((trig + NTRIG)); st=PASS
        else
            st=FAIL
        fi
        echo "$st seed=$seed np=$np $(basename "$app") $* :: $(echo "$out" | grep -E '^(restarted|FAIL)' | head -1)"
    done
done
echo "runs=$runs passed=$pass random_checkpoints=$trig"
[ "$pass" = "$runs" ]
