#!/bin/bash
# restart_exact.sh: checkpoint a workload at random moments, kill -9 it after
# a commit, restart it from the checkpoint and compare the final answer with
# an uninterrupted run, bit for bit.
#
# usage: restart_exact.sh NP TRIGGER NTRIG APP [APP ARGS...]
#   TRIGGER  signal    NTRIG SIGUSR1s to mpirun at random moments (forwarded
#                      to every rank), each awaited until it is committed
#            interval  TERN_INTERVAL=0.25, wait for NTRIG commits
#            request   the app's own --ckpt-at (pass it in APP ARGS), NTRIG=1
#            file      NTRIG request files (docs/runtime.md) at random moments
#            continue  TERN_INTERVAL=0.1 and no kill: at least NTRIG commits and
#                      the reference answer from the same run
#            stop      one checkpoint-and-stop request file; the job must stop by
#                      itself with status 0 (no kill)
# After the NTRIG-th commit every rank is killed with SIGKILL; the restart
# (TERN_RESTART=<job dir>, i.e. its latest checkpoint) must print RESUMED and
# the reference RESULT.
# env: TERN_MPIEXEC (mpirun), TERN_PRELOAD (libtern.so path: run the app with
#      LD_PRELOAD instead of relying on its link), SEED (random moments)
set -u
np=$1 trig=$2 ntrig=$3
shift 3
app=$1
shift
source "$(dirname "$0")/common.sh"
proto_work proto
seed=${SEED:-$$}
RANDOM=$seed
echo "seed $seed"
dir=$work/job

mpi() { "$MPIEXEC" --oversubscribe --bind-to none -np "$np" ${TERN_PRELOAD:+-x LD_PRELOAD=$TERN_PRELOAD} "$@"; }
die() { echo "FAIL: $*" >&2; for f in "$work"/*.err; do [ -s "$f" ] && { echo "--- $f" >&2; tail -20 "$f" >&2; }; done; exit 1; }
commits() { local n; n=$(grep -c '^committed' "$dir/events" 2>/dev/null); echo "${n:-0}"; }
# random sleep between $1 and $2 seconds (uniform, ms resolution)
rsleep() { local ms=$(( $1 + RANDOM % ($2 - $1 + 1) )); sleep "$(printf '%d.%03d' $((ms / 1000)) $((ms % 1000)))"; }

# 1. reference
mpi "$app" "$@" >"$work/ref.out" 2>"$work/ref.err" || die "reference run failed"
ref=$(grep '^RESULT' "$work/ref.out")
[ -n "$ref" ] || die "reference run printed no RESULT"

# 2. checkpointed run, killed after the last commit
extra=()
[ "$trig" = interval ] && extra=(-x TERN_INTERVAL=0.25)
[ "$trig" = continue ] && extra=(-x TERN_INTERVAL=0.1)
(exec "$MPIEXEC" --oversubscribe --bind-to none -np "$np" ${TERN_PRELOAD:+-x LD_PRELOAD=$TERN_PRELOAD} \
    -x TERN_DIR="$dir" "${extra[@]}" "$app" "$@" >"$work/run.out" 2>"$work/run.err") &
pid=$!
waitfor() {   # waitfor N: until N commits (or the run ends / 60 s)
    local t=0
    while [ "$(commits)" -lt "$1" ]; do
        kill -0 $pid 2>/dev/null || return 1
        sleep 0.02
        t=$((t + 1))
        [ $t -gt 3000 ] && return 1
    done
    return 0
}
# triggers before MPI_Init has returned are ignored by design: wait for 'started'
for _ in $(seq 1 1500); do grep -q '^started' "$dir/events" 2>/dev/null && break; sleep 0.02; done
case $trig in
signal)
    for i in $(seq 1 "$ntrig"); do
        rsleep 100 400
        kill -USR1 $pid 2>/dev/null
        waitfor "$i" || die "signal $i: no commit"
    done ;;
file)
    for i in $(seq 1 "$ntrig"); do
        rsleep 100 400
        mkdir -p "$dir"
        echo checkpoint >"$dir/.tmp-request-t$i" && mv "$dir/.tmp-request-t$i" "$dir/request.t$i"
        waitfor "$i" || die "request file $i: no commit"
        for _ in $(seq 1 100); do [ -s "$dir/request.t$i.done" ] && break; sleep 0.02; done
        grep -q '^committed ' "$dir/request.t$i.done" || die "request.t$i.done: $(cat "$dir/request.t$i.done" 2>/dev/null)"
    done ;;
interval|request)
    waitfor "$ntrig" || die "no commit ($trig)" ;;
continue)
    # checkpoints every 0.1 s, no kill: the drained messages must be delivered
    # in the same run and the answer must still be the reference
    wait $pid || die "continuing run failed"
    [ "$(commits)" -ge "$ntrig" ] || die "only $(commits) checkpoints"
    got=$(grep '^RESULT' "$work/run.out")
    echo "checkpoints: $(commits); reference: $ref; got: $got"
    [ "$ref" = "$got" ] || die "results differ"
    echo PASS
    exit 0 ;;
stop)
    # checkpoint-and-stop (docs/runtime.md): the job stops by itself, status 0
    rsleep 100 400
    mkdir -p "$dir"
    echo checkpoint-and-stop >"$dir/.tmp-request-stop" && mv "$dir/.tmp-request-stop" "$dir/request.stop"
    wait $pid || die "checkpoint-and-stop: exit status $?"
    grep -q '^stopped epoch=' "$dir/events" || die "no 'stopped' event"
    grep -q '^committed ' "$dir/request.stop.done" || die "request.stop.done: $(cat "$dir/request.stop.done" 2>/dev/null)" ;;
*) die "unknown trigger $trig" ;;
esac
if [ "$trig" != stop ]; then
    kill -9 $(pgrep -P $pid) 2>/dev/null
    wait $pid 2>/dev/null
fi
grep -q '^RESULT' "$work/run.out" && die "the run finished before it was killed (make it longer)"
last=$(grep '^committed' "$dir/events" | tail -1)
echo "checkpoints: $(commits); last: $last"

# 3. restart from the latest checkpoint
mpi -x TERN_DIR="$dir" -x TERN_RESTART="$dir" "$app" "$@" >"$work/rst.out" 2>"$work/rst.err" || die "restart failed"
grep -q '^RESUMED' "$work/rst.out" || die "the restarted run did not resume"
got=$(grep '^RESULT' "$work/rst.out")
grep -q '^restarted epoch=.* time=' "$dir/events" || die "no 'restarted' event"
echo "reference: $ref"
echo "restarted: $got ($(grep '^RESUMED' "$work/rst.out"))"
[ "$ref" = "$got" ] || die "results differ"
echo PASS
