#!/bin/bash
# preload.sh LIBTERN PLAIN_APP NP: a binary built with plain mpicc (no tern
# calls) runs under LD_PRELOAD=libtern.so; a checkpoint request file and a
# SIGUSR1 must not disturb it: exit 0, same output as without the preload,
# the request answered "failed: the application has no snapshot points"
# at MPI_Init (the events say no_snapshot_points there, so that tern
# checkpoint answers at once), and the signal answered at once on stderr.
# Then with TERN_INTERVAL: a warning at start.
set -u
lib=$1 app=$2 np=$3
source "$(dirname "$0")/common.sh"
proto_work preload
die() { echo "FAIL: $*" >&2; cat "$work"/*.out "$work"/*.err "$work/job/"* >&2 2>/dev/null; exit 1; }
mpi() { "$MPIEXEC" --oversubscribe --bind-to none -np "$np" "$@"; }
mpi "$app" >"$work/plain.out" 2>"$work/plain.err" || die "plain run"
mkdir -p "$work/job"
echo checkpoint >"$work/job/request.p1"
(exec "$MPIEXEC" --oversubscribe --bind-to none -np "$np" -x LD_PRELOAD="$lib" -x TERN_DIR="$work/job" \
    "$app" >"$work/wrapped.out" 2>"$work/wrapped.err") &
pid=$!
for _ in $(seq 1 200); do grep -q '^no_snapshot_points' "$work/job/events" 2>/dev/null && break; sleep 0.01; done
grep -qx 'no_snapshot_points reason=the application has no snapshot points (it does not call tern_snapshot(); API mode checkpoints only there)' \
    "$work/job/events" || die "events: no no_snapshot_points line at start"
for _ in $(seq 1 200); do [ -e "$work/job/request.p1.done" ] && break; sleep 0.01; done
kill -USR1 $pid 2>/dev/null
wait $pid || die "exit status $? under LD_PRELOAD"
diff <(sort "$work/plain.out") <(sort "$work/wrapped.out") >/dev/null || die "output differs under LD_PRELOAD"
grep -q '^failed: the application has no snapshot points' "$work/job/request.p1.done" \
    || die "request.p1.done: $(cat "$work/job/request.p1.done" 2>/dev/null)"
grep -q 'never called tern_snapshot' "$work/wrapped.err" || die "no message about the missing snapshot points"
grep -qx 'tern: rank 0: checkpoint signal ignored: the application has no snapshot points (it does not call tern_snapshot(); API mode checkpoints only there)' \
    "$work/wrapped.err" || die "the signal was not answered on stderr"
"$MPIEXEC" --oversubscribe --bind-to none -np "$np" -x LD_PRELOAD="$lib" -x TERN_DIR="$work/job2" \
    -x TERN_INTERVAL=2 "$app" >"$work/interval.out" 2>"$work/interval.err" || die "exit status $? with TERN_INTERVAL"
grep -qx 'tern: rank 0: TERN_INTERVAL=2: no checkpoint will be taken: the application has no snapshot points (it does not call tern_snapshot(); API mode checkpoints only there)' \
    "$work/interval.err" || die "no warning at start with TERN_INTERVAL"
echo PASS
