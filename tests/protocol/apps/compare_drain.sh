#!/bin/sh
# compare_drain.sh PROG
#
# For drainmatch (3 ranks): the transcript of the selective receives must be
# the same when the messages were
#   1. received plainly (no checkpoint),
#   2. drained by a checkpoint and received in the same run (--drain),
#   3. drained, the job killed after the commit, and received in the
#      restarted run (--drain --die, then TERN_RESTART).
# Exit 0 only if all three transcripts are non-empty, free of "FAIL", carry a
# RESULT line, and are identical; and the drained runs committed a checkpoint.
# Environment: TERN_MPIEXEC (default mpirun).
set -u
[ $# -eq 1 ] || { echo "usage: $0 PROG" >&2; exit 2; }
prog=$1
mpiexec=${TERN_MPIEXEC:-mpirun}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
work=$(mktemp -d "${TMPDIR:-/tmp}/tern-drain.XXXXXX") || exit 2
[ -n "${TERN_COMPARE_KEEP:-}" ] || trap 'rm -rf "$work"' EXIT
run() { # run NAME JOBDIR ARGS...
    n=$1 d=$2
    shift 2
    "$mpiexec" --oversubscribe --bind-to none -np 3 -x TERN_DIR="$d" "$@" \
        >"$work/$n.out" 2>"$work/$n.err"
}
fail() {
    echo "compare_drain: $*" >&2
    for f in "$work"/*.err; do
        [ -s "$f" ] && { echo "--- $f" >&2; tail -15 "$f" >&2; }
    done
    exit 1
}

run plain "$work/j0" "$prog" || fail "plain run exited $?"
run drained "$work/j1" "$prog" --drain || fail "drained run exited $?"
run die "$work/j2" "$prog" --drain --die
rc=$?
[ $rc -ne 0 ] || fail "the --die run exited 0"
grep -q '^committed' "$work/j1/events" 2>/dev/null || fail "drained run: no commit in events"
grep -q '^committed' "$work/j2/events" 2>/dev/null || fail "--die run: no commit before it died"
"$mpiexec" --oversubscribe --bind-to none -np 3 -x TERN_DIR="$work/j2" -x TERN_RESTART="$work/j2" \
    "$prog" >"$work/restarted.out" 2>"$work/restarted.err" || fail "restarted run exited $?"
grep -q '^RESUMED' "$work/restarted.out" || fail "restarted run did not resume"

for v in plain drained restarted; do
    grep -v -e '^RESUMED' -e '^SNAPSHOT' "$work/$v.out" >"$work/$v.t"
    [ -s "$work/$v.t" ] || fail "$v: empty transcript"
    grep -q '^RESULT ' "$work/$v.t" || fail "$v: no RESULT"
    if grep -q FAIL "$work/$v.t"; then grep FAIL "$work/$v.t" >&2; fail "$v: reports a failure"; fi
done
diff -u "$work/plain.t" "$work/drained.t" >&2 || fail "drained transcript differs from the plain one"
diff -u "$work/plain.t" "$work/restarted.t" >&2 || fail "restarted transcript differs from the plain one"
echo "compare_drain: $(basename "$prog"): plain, drained and restarted transcripts identical ($(wc -l <"$work/plain.t") lines)"
exit 0
