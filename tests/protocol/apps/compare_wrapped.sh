#!/bin/sh
# compare_wrapped.sh PROG NRANKS [ARGS...]
#
# Runs PROG on NRANKS ranks twice, plain and with LD_PRELOAD=libtern.so, and
# diffs the two stdout transcripts. Exit 0 only when both runs exit 0, both
# transcripts are non-empty, neither contains a line with "FAIL", and they are
# identical.
#
# Environment:
#   TERN_LIBTERN  path of libtern.so (required; CTest sets it)
#   TERN_MPIEXEC  mpirun to use (default: mpirun from PATH)
#   TERN_COMPARE_KEEP  if set, keep the transcripts' directory
set -u
if [ $# -lt 2 ]; then
    echo "usage: $0 PROG NRANKS [ARGS...]" >&2
    exit 2
fi
prog=$1; np=$2; shift 2
lib=${TERN_LIBTERN:-}
if [ -z "$lib" ] || [ ! -f "$lib" ]; then
    echo "compare_wrapped: TERN_LIBTERN must name libtern.so (got '$lib')" >&2
    exit 2
fi
mpiexec=${TERN_MPIEXEC:-mpirun}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
# tern must not write checkpoints anywhere that matters during this check.
work=$(mktemp -d "${TMPDIR:-/tmp}/tern-compare.XXXXXX") || exit 2
[ -n "${TERN_COMPARE_KEEP:-}" ] || trap 'rm -rf "$work"' EXIT
name=$(basename "$prog")

"$mpiexec" --oversubscribe --bind-to none -np "$np" "$prog" "$@" \
    >"$work/plain.out" 2>"$work/plain.err"
rc_plain=$?
"$mpiexec" --oversubscribe --bind-to none -np "$np" \
    -x LD_PRELOAD="$lib" -x TERN_DIR="$work/tern" -x TERN_JOB="compare-$name" \
    "$prog" "$@" >"$work/wrapped.out" 2>"$work/wrapped.err"
rc_wrapped=$?

status=0
if [ $rc_plain -ne 0 ]; then
    echo "compare_wrapped: $name plain run exited $rc_plain" >&2
    sed 's/^/  plain stderr: /' "$work/plain.err" | head -20 >&2
    status=1
fi
if [ $rc_wrapped -ne 0 ]; then
    echo "compare_wrapped: $name run under LD_PRELOAD=$lib exited $rc_wrapped" >&2
    sed 's/^/  wrapped stderr: /' "$work/wrapped.err" | head -20 >&2
    status=1
fi
for v in plain wrapped; do
    if [ ! -s "$work/$v.out" ]; then
        echo "compare_wrapped: $name $v transcript is empty" >&2
        status=1
    elif grep -q FAIL "$work/$v.out"; then
        echo "compare_wrapped: $name $v transcript reports a failure:" >&2
        grep FAIL "$work/$v.out" | head -20 >&2
        status=1
    fi
done
if ! diff -u "$work/plain.out" "$work/wrapped.out" >"$work/diff"; then
    echo "compare_wrapped: $name transcripts differ (plain vs LD_PRELOAD):" >&2
    head -60 "$work/diff" >&2
    status=1
fi
if [ $status -eq 0 ]; then
    echo "compare_wrapped: $name on $np ranks: $(wc -l <"$work/plain.out") identical lines"
fi
exit $status
