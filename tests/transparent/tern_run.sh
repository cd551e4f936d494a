#!/bin/bash
# tern_run.sh TERN PLAIN_PROG API_PROG: `tern run` picks the mode, and a
# plain binary is checkpointed and restarted through the tern command.
#  - a plain MPI binary runs in transparent mode (under tern-proxy) with the
#    native output and no warning;
#  - `tern checkpoint` on it commits a checkpoint; --interval commits more;
#    `tern checkpoint --stop` stops it with status 0; `tern restart` runs it
#    on under new proxies to the native RESULT;
#  - a program that calls tern_snapshot() runs in API mode (no proxy);
#  - --mode=api forces API mode on the plain binary.
# Prints PASS, or "FAIL: " and why.
set -u
. "$(dirname "$0")/common.sh"
tern=$1 plain=$2 api=$3
cd "$work" || exit 2
export TERN_MPIRUN=$TERN_MPIEXEC TERN_JOBS_VERBOSE=1
fail() { echo "FAIL: $*"; for f in *.err; do [ -s "$f" ] && { echo "--- $f"; tail -15 "$f"; }; done; exit 1; }

tm_mpirun 2 "$plain" --iters 20 >native.out 2>/dev/null
timeout 60 "$tern" run --fresh -- -np 2 --oversubscribe "$plain" --iters 20 >tm.out 2>tm.err </dev/null || fail "tern run failed"
grep -q "running: .*tern-proxy -- $plain" tm.err || fail "the plain binary did not run under tern-proxy"
cmp -s native.out tm.out || { diff native.out tm.out | head; fail "output differs from the native run"; }
grep -q "cannot be checkpointed" tm.err && fail "tern run still says the job cannot be checkpointed"
echo "auto: transparent mode, native output"

# a job of about 4 s with an interval; tern checkpoint while it runs, then
# checkpoint-and-stop, then tern restart to the end
args=(--iters 400 --sleep-us 10000)
tm_mpirun 2 "$plain" "${args[@]}" >ref.out 2>/dev/null
ref=$(grep '^RESULT' ref.out)
(timeout 90 "$tern" run --job iv --interval 1 -- -np 2 --oversubscribe "$plain" "${args[@]}" \
    >iv.out 2>iv.err </dev/null; echo $? >iv.rc) &
for i in $(seq 100); do grep -q "^started" tern-ckpt/iv/events 2>/dev/null && break; sleep 0.1; done
ck=$(timeout 30 "$tern" checkpoint tern-ckpt/iv 2>&1) || fail "tern checkpoint failed: $ck"
echo "checkpoint: $ck"
for i in $(seq 100); do [ "$(grep -c '^committed' tern-ckpt/iv/events)" -ge 2 ] && break; sleep 0.1; done
[ "$(grep -c '^committed' tern-ckpt/iv/events)" -ge 2 ] || fail "--interval 1 committed no checkpoint of its own"
st=$(timeout 30 "$tern" checkpoint --stop tern-ckpt/iv 2>&1) || fail "tern checkpoint --stop failed: $st"
wait
[ "$(cat iv.rc)" = 0 ] || fail "the job stopped by checkpoint --stop exited with $(cat iv.rc)"
grep -q '^RESULT' iv.out && fail "the job ran to its end instead of stopping"
echo "interval and stop: $(grep -c '^committed' tern-ckpt/iv/events) commits, stopped with status 0"
timeout 90 "$tern" restart --job iv >rst.out 2>rst.err </dev/null || fail "tern restart failed"
grep -q "running: .*tern-proxy -- $plain" rst.err || fail "tern restart did not run the job under tern-proxy"
got=$(grep '^RESULT' rst.out)
[ "$got" = "$ref" ] || fail "restarted RESULT '$got', native '$ref'"
echo "restart: $got, as natively"

timeout 60 "$tern" run --fresh -- -np 2 --oversubscribe "$api" --iters 20 >api.out 2>api.err </dev/null || fail "API-mode run failed"
grep -q "running: .*LD_PRELOAD=.*libtern" api.err && ! grep -q tern-proxy api.err || fail "the API program did not run in API mode"
echo "api: a program calling tern_snapshot() runs with libtern.so preloaded"
timeout 60 "$tern" run --fresh --mode api -- -np 2 --oversubscribe "$plain" --iters 20 >f.out 2>f.err </dev/null
grep -q "LD_PRELOAD=.*libtern" f.err && ! grep -q tern-proxy f.err || fail "--mode api was not obeyed"
echo "forced: --mode api"
echo "PASS"
