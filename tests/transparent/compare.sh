#!/bin/bash
# compare.sh LIST: each line of LIST is "NP PROGRAM [ARGS...]" (# comments).
# Every program runs twice, natively and in transparent mode (mpirun
# tern-proxy -- PROGRAM), and must give the same standard output and the
# same exit status; after each run no process of PROGRAM may be left
# (orphans). Prints PASS, or "FAIL: " with the first difference.
#
# Environment: TERN_PROXY (tern-proxy), TERN_MPIEXEC (mpirun).
# compare.sh -c NP PROGRAM [ARGS...]: one program, from the command line.
set -u
. "$(dirname "$0")/common.sh"

compare_one() {
    local np=$1; shift
    local name; name=$(basename "$1")
    tm_mpirun "$np" "$@" >"$work/native.out" 2>"$work/native.err"
    local rn=$?
    tm_no_orphans "$1" || return 1
    tm_mpirun "$np" "$TERN_PROXY" -- "$@" >"$work/tm.out" 2>"$work/tm.err"
    local rt=$?
    tm_no_orphans "$1" || return 1
    if [ "$rn" != "$rt" ]; then
        echo "FAIL: $name on $np ranks: exit status $rn natively, $rt in transparent mode"
        sed 's/^/  transparent stderr: /' "$work/tm.err" | head -20
        return 1
    fi
    if ! diff -u "$work/native.out" "$work/tm.out" >"$work/diff"; then
        echo "FAIL: $name on $np ranks: the output differs (native vs transparent)"
        head -30 "$work/diff"
        sed 's/^/  transparent stderr: /' "$work/tm.err" | head -10
        return 1
    fi
    echo "same: $name $* on $np ranks (status $rn, $(wc -l <"$work/tm.out") lines)"
}

status=0
if [ "${1:-}" = "-c" ]; then
    shift
    compare_one "$@" || status=1
else
    while read -r np rest; do
        case "$np" in ''|'#'*) continue ;; esac
        # shellcheck disable=SC2086
        compare_one "$np" $rest || { status=1; break; }
    done <"$1"
fi
[ $status -eq 0 ] && echo "PASS"
exit $status
