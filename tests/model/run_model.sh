#!/bin/sh
# run_model.sh [--expect-violation] [--deep] [-DMACRO ...]
#
# Verifies tests/model/drain_commit.pml with spin + pan, in a fresh temporary
# directory, in two runs:
#   1. without the LTL claim (-DNO_LTL): assertions and invalid end states
#      (deadlocks);
#   2. with the LTL claim commit_safe (pan -a).
# Normal mode: exit 0 only if both runs finish the full search with
# "errors: 0". With --expect-violation: exit 0 only if at least one run
# reports an error (used with the -DBUG_* variants).
# --deep: two messages per pair (-DMODEL_K=2) with pan's bitstate
# (supertrace) search, a 64 MB bit array: about 56 million states, 2 minutes
# per run, a very large but not complete search. Not a CTest.
# Environment: SPIN (default spin), CC (default cc), PAN_MEMLIM in MB
# (default 1024).
set -u
here=$(cd "$(dirname "$0")" && pwd)
expect=0
deep=0
defs=""
for a in "$@"; do
    case $a in
        --expect-violation) expect=1 ;;
        --deep) deep=1 ;;
        -D*) defs="$defs $a" ;;
        *) echo "run_model: unknown argument $a" >&2; exit 2 ;;
    esac
done
spin=${SPIN:-spin}
cc=${CC:-cc}
memlim=${PAN_MEMLIM:-1024}
work=$(mktemp -d "${TMPDIR:-/tmp}/tern-model.XXXXXX") || exit 2
trap 'rm -rf "$work"' EXIT
cp "$here/drain_commit.pml" "$work/" || exit 2
cd "$work" || exit 2

found=0
failed=0
for run in safety ltl; do
    # expecting a violation: one found is enough
    [ $expect -eq 1 ] && [ $found -eq 1 ] && break
    rm -f pan pan.* ./*.trail
    if [ $run = safety ]; then sdefs="-DNO_LTL$defs"; panargs="-m20000"; else sdefs="$defs"; panargs="-m20000 -a"; fi
    [ $deep -eq 1 ] && sdefs="$sdefs -DMODEL_K=2"
    # shellcheck disable=SC2086
    if ! "$spin" -a $sdefs drain_commit.pml >spin.out 2>&1; then
        echo "run_model: spin -a $sdefs failed:" >&2; cat spin.out >&2; exit 2
    fi
    if [ $deep -eq 1 ]; then ccdefs="-DBITSTATE"; panargs="$panargs -w29 -m200000"; else ccdefs="-DMEMLIM=$memlim -DCOLLAPSE"; fi
    # shellcheck disable=SC2086
    if ! "$cc" -O2 -w $ccdefs -o pan pan.c >cc.out 2>&1; then
        echo "run_model: compiling pan failed:" >&2; cat cc.out >&2; exit 2
    fi
    # shellcheck disable=SC2086
    ./pan $panargs >pan.out 2>&1
    grep -v '^Depth=' pan.out | sed "s/^/[$run$defs] /"
    errs=$(sed -n 's/.*errors: \([0-9][0-9]*\).*/\1/p' pan.out | tail -1)
    if [ -z "$errs" ]; then
        echo "run_model: [$run] pan printed no error count" >&2; failed=1; continue
    fi
    if [ "$errs" -gt 0 ]; then
        found=1
        [ -f drain_commit.pml.trail ] && "$spin" -t -g $sdefs drain_commit.pml 2>&1 | tail -40 | sed "s/^/[$run trail] /"
    fi
    if grep -q -e 'Search not completed' -e 'max search depth too small' -e 'out of memory' pan.out; then
        [ "$errs" -gt 0 ] || { echo "run_model: [$run] search incomplete" >&2; failed=1; }
    fi
    [ "$errs" -eq 0 ] || [ $expect -eq 1 ] || failed=1
done

if [ $expect -eq 1 ]; then
    if [ $found -eq 1 ]; then echo "run_model:$defs: violation found, as expected"; exit 0; fi
    echo "run_model:$defs: expected a violation, spin found none" >&2; exit 1
fi
if [ $failed -eq 0 ]; then echo "run_model: no errors (safety + LTL)"; exit 0; fi
echo "run_model: FAILED" >&2
exit 1
