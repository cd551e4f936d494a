#!/bin/bash
# api_example.sh SRC_DIR LIB_DIR: the complete example of docs/api.md, as
# printed there, compiled with mpicc against this build's libtern, run for a
# reference answer, stopped by a checkpoint-and-stop request mid-run (the
# job ends by itself, no race with a kill), restarted from that checkpoint:
# the restarted run must print the reference answer. Keeps the document true.
set -u
src=$1 lib=$2
source "$(dirname "$0")/common.sh"
proto_work apiex
dir=$work/ck
die() { echo "FAIL: $*" >&2; cat "$work"/*.err "$dir/events" >&2 2>/dev/null; exit 1; }
awk '/^## A complete example/ {f = 1} f && /^```c/ {p = 1; next} p && /^```/ {exit} p' \
    "$src/docs/api.md" >"$work/heat1d.c"
[ -s "$work/heat1d.c" ] || die "no example found in docs/api.md"
mpicc -O2 "$work/heat1d.c" -I"$src/coord" -L"$lib" -ltern -Wl,-rpath,"$lib" -o "$work/heat1d" \
    2>"$work/cc.err" || die "the example does not compile"
mpi() { "$MPIEXEC" --oversubscribe --bind-to none -np 4 "$@"; }
mpi "$work/heat1d" >"$work/ref.out" 2>"$work/ref.err" || die "reference run failed"
ref=$(grep '^total ' "$work/ref.out")
[ -n "$ref" ] || die "reference run printed no total"
mpi -x TERN_DIR="$dir" "$work/heat1d" >"$work/run.out" 2>"$work/run.err" &
pid=$!
for _ in $(seq 1 1500); do grep -q '^started' "$dir/events" 2>/dev/null && break; sleep 0.02; done
echo checkpoint-and-stop >"$dir/.tmp-request-s" && mv "$dir/.tmp-request-s" "$dir/request.s"
wait $pid || die "the stopped run exited with status $?"
grep -q '^stopped epoch=' "$dir/events" || die "the run was not stopped by the request (it finished first?)"
grep -q '^total' "$work/run.out" && die "the stopped run printed a total"
mpi -x TERN_DIR="$dir" -x TERN_RESTART="$dir" "$work/heat1d" >"$work/rst.out" 2>"$work/rst.err" ||
    die "restart failed"
got=$(grep '^total ' "$work/rst.out")
grep -q '^restarted epoch=' "$dir/events" || die "no restarted event"
echo "reference: $ref; restarted: $got"
[ "$ref" = "$got" ] || die "results differ"
echo PASS
