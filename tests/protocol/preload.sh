#!/bin/bash
# preload.sh LIBTERN PLAIN_APP NP: a binary built with plain mpicc (no tern
# calls) runs under LD_PRELOAD=libtern.so; a checkpoint request file and a
# SIGUSR1 must not disturb it: exit 0, same output as without the preload,
# the request answered "failed: the application has no snapshot points".
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
for _ in $(seq 1 200); do grep -q '^started' "$work/job/events" 2>/dev/null && break; sleep 0.01; done
kill -USR1 $pid 2>/dev/null
wait $pid || die "exit status $? under LD_PRELOAD"
diff <(sort "$work/plain.out") <(sort "$work/wrapped.out") >/dev/null || die "output differs under LD_PRELOAD"
grep -q '^failed: the application has no snapshot points' "$work/job/request.p1.done" \
    || die "request.p1.done: $(cat "$work/job/request.p1.done" 2>/dev/null)"
grep -q 'never called tern_snapshot' "$work/wrapped.err" || die "no message about the missing snapshot points"
echo PASS
