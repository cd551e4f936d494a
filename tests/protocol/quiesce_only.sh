#!/bin/bash
# quiesce_only.sh APP [ARGS...]: TERN_QUIESCE_ONLY=1 (docs/runtime.md) runs
# the coordination of every trigger up to quiescence and writes nothing:
# 'quiesced' events, no checkpoint file, a request file answered with the
# reason, and the answer of an uninterrupted run (drained messages are
# delivered in the same run).
set -u
app=$1
shift
source "$(dirname "$0")/common.sh"
proto_work quiesce
dir=$work/job
die() { echo "FAIL: $*" >&2; cat "$work"/*.err "$dir/events" >&2 2>/dev/null; exit 1; }
mpi() { "$MPIEXEC" --oversubscribe --bind-to none -np 3 "$@"; }
mpi "$app" "$@" >"$work/ref.out" 2>"$work/ref.err" || die "reference run failed"
ref=$(grep '^RESULT' "$work/ref.out")
mpi -x TERN_DIR="$dir" -x TERN_INTERVAL=0.1 -x TERN_QUIESCE_ONLY=1 "$app" "$@" >"$work/run.out" 2>"$work/run.err" &
pid=$!
for _ in $(seq 1 1500); do grep -q '^started' "$dir/events" 2>/dev/null && break; sleep 0.02; done
echo checkpoint >"$dir/.tmp-request-q" && mv "$dir/.tmp-request-q" "$dir/request.q"
wait $pid || die "the run failed"
got=$(grep '^RESULT' "$work/run.out")
n=$(grep -c '^quiesced epoch=.* (TERN_QUIESCE_ONLY: nothing written)$' "$dir/events")
[ "$n" -ge 3 ] || die "only $n quiesced events"
grep -q '^committed' "$dir/events" && die "something was committed"
ls "$dir" | grep -q '\.h5' && die "a checkpoint file was written: $(ls "$dir")"
grep -qx 'failed: TERN_QUIESCE_ONLY is set: the job quiesced and wrote nothing' "$dir/request.q.done" ||
    die "request.q.done: $(cat "$dir/request.q.done" 2>/dev/null)"
grep -q '^SNAPSHOT' "$work/run.out" && die "tern_snapshot() returned non-zero: $(grep '^SNAPSHOT' "$work/run.out" | head -1)"
echo "quiesced: $n; reference: $ref; got: $got"
[ "$ref" = "$got" ] || die "results differ"
echo PASS
