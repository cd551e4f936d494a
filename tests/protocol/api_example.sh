#!/bin/bash
# api_example.sh SRC_DIR HEADING LANG COMPILER [FLAGS...]: the complete
# example of docs/api.md under HEADING (its first ```LANG block), as printed
# there, compiled as COMPILER example.LANG -o example FLAGS (example.f90 for
# fortran): a reference run on 4 ranks, a run stopped mid-way by a
# checkpoint-and-stop request (the job ends by itself, no race with a kill),
# and a restart from that checkpoint, which must print the reference "total"
# line. Keeps the page true. Any language: the C listing passes with
#   api_example.sh SRC "## A complete example" c mpicc -I.. -L.. -ltern ...
set -u
src=$1 heading=$2 lang=$3
shift 3
source "$src/tests/protocol/common.sh"
proto_work apiex
dir=$work/ck
die() { echo "FAIL: $*" >&2; cat "$work"/*.err "$dir/events" >&2 2>/dev/null; exit 1; }
ext=$([ "$lang" = fortran ] && echo f90 || echo "$lang")
awk -v h="$heading" -v f="\`\`\`$lang" 'index($0, h) == 1 {s = 1} s && $0 == f {p = 1; next} p && /^```/ {exit} p' \
    "$src/docs/api.md" >"$work/example.$ext"
[ -s "$work/example.$ext" ] || die "no $lang example under '$heading' in docs/api.md"
"$1" "$work/example.$ext" -o "$work/example" "${@:2}" 2>"$work/cc.err" || die "the example does not compile"
mpi() { "$MPIEXEC" --oversubscribe --bind-to none -np 4 "$@"; }
mpi "$work/example" >"$work/ref.out" 2>"$work/ref.err" || die "reference run failed"
ref=$(grep '^total ' "$work/ref.out")
[ -n "$ref" ] || die "reference run printed no total"
mpi -x TERN_DIR="$dir" "$work/example" >"$work/run.out" 2>"$work/run.err" &
pid=$!
for _ in $(seq 1 1500); do grep -q '^started' "$dir/events" 2>/dev/null && break; sleep 0.02; done
echo checkpoint-and-stop >"$dir/.tmp-request-s" && mv "$dir/.tmp-request-s" "$dir/request.s"
wait $pid || die "the stopped run exited with status $?"
grep -q '^stopped epoch=' "$dir/events" || die "the run was not stopped by the request (it finished first?)"
grep -q '^total' "$work/run.out" && die "the stopped run printed a total"
mpi -x TERN_DIR="$dir" -x TERN_RESTART="$dir" "$work/example" >"$work/rst.out" 2>"$work/rst.err" ||
    die "restart failed"
grep -q '^restarted epoch=' "$dir/events" || die "no restarted event"
got=$(grep '^total ' "$work/rst.out")
echo "reference: $ref; restarted: $got"
[ "$ref" = "$got" ] || die "results differ"
echo PASS
