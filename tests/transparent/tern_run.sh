#!/bin/bash
# tern_run.sh TERN PLAIN_PROG API_PROG: `tern run` picks the mode.
#  - a plain MPI binary runs in transparent mode (under tern-proxy) with the
#    native output; `tern run` says once that it cannot be checkpointed yet;
#  - `tern checkpoint` on it answers at once, in one line;
#  - --interval adds no other line and changes nothing;
#  - a program that calls tern_snapshot() runs in API mode (no proxy);
#  - --mode=api forces API mode on the plain binary.
# Prints PASS, or "FAIL: " and why.
set -u
. "$(dirname "$0")/common.sh"
tern=$1 plain=$2 api=$3
cd "$work" || exit 2
export TERN_MPIRUN=$TERN_MPIEXEC TERN_JOBS_VERBOSE=1
NOT_YET="transparent mode cannot checkpoint yet"

tm_mpirun 2 "$plain" --iters 20 >native.out 2>/dev/null
timeout 60 "$tern" run --fresh -- -np 2 --oversubscribe "$plain" --iters 20 >tm.out 2>tm.err </dev/null || { echo "FAIL: tern run failed"; cat tm.err; exit 1; }
grep -q "running: .*tern-proxy -- $plain" tm.err || { echo "FAIL: the plain binary did not run under tern-proxy:"; cat tm.err; exit 1; }
cmp -s native.out tm.out || { echo "FAIL: output differs from the native run"; diff native.out tm.out | head; exit 1; }
[ "$(grep -c "cannot be checkpointed: $NOT_YET" tm.err)" = 1 ] || { echo "FAIL: expected one line saying '$NOT_YET':"; cat tm.err; exit 1; }
echo "auto: transparent mode, native output, one line: $(grep "$NOT_YET" tm.err)"

# a job that runs 3 s, with an interval; tern checkpoint while it runs
(timeout 60 "$tern" run --job iv --interval 1 -- -np 2 --oversubscribe "$plain" --iters 300 --sleep-us 10000 \
    >iv.out 2>iv.err </dev/null; echo $? >iv.rc) &
for i in $(seq 100); do grep -q "no_snapshot_points" tern-ckpt/iv/events 2>/dev/null && break; sleep 0.1; done
t0=$(date +%s%N)
ck=$(timeout 30 "$tern" checkpoint tern-ckpt/iv 2>&1); ckrc=$?
t1=$(date +%s%N)
wait
[ "$ckrc" = 1 ] && echo "$ck" | grep -q "$NOT_YET" || { echo "FAIL: tern checkpoint answered ($ckrc): $ck"; exit 1; }
ms=$(( (t1 - t0) / 1000000 ))
[ "$ms" -lt 2000 ] || { echo "FAIL: tern checkpoint took $ms ms to answer"; exit 1; }
echo "checkpoint: '$ck' after $ms ms"
[ "$(cat iv.rc)" = 0 ] || { echo "FAIL: the job with --interval failed"; cat iv.err; exit 1; }
lines=$(grep -v "^tern run: running:\|^tern: job started" iv.err)
[ "$lines" = "tern: warning: this job cannot be checkpointed: $NOT_YET" ] || { echo "FAIL: --interval printed: $lines"; exit 1; }
echo "interval: one line, the job ran through"

timeout 60 "$tern" run --fresh -- -np 2 --oversubscribe "$api" --iters 20 >api.out 2>api.err </dev/null || { echo "FAIL: API-mode run failed"; cat api.err; exit 1; }
grep -q "running: .*LD_PRELOAD=.*libtern" api.err && ! grep -q tern-proxy api.err || { echo "FAIL: the API program did not run in API mode:"; cat api.err; exit 1; }
echo "api: a program calling tern_snapshot() runs with libtern.so preloaded"
timeout 60 "$tern" run --fresh --mode api -- -np 2 --oversubscribe "$plain" --iters 20 >f.out 2>f.err </dev/null
grep -q "LD_PRELOAD=.*libtern" f.err && ! grep -q tern-proxy f.err || { echo "FAIL: --mode api was not obeyed:"; cat f.err; exit 1; }
echo "forced: --mode api"
echo "PASS"
