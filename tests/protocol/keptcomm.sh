#!/bin/bash
# keptcomm.sh APP: see keptcomm.c. The restarted job must stop with the one
# line that names the stale communicator handle, and must not finish.
set -u
app=$1
MPIEXEC=${TERN_MPIEXEC:-mpirun}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
work=$(mktemp -d /tmp/tern-keptcomm.XXXXXX)
trap 'rm -rf "$work"' EXIT
dir=$work/job
die() { echo "FAIL: $*" >&2; cat "$work"/out* "$work"/err* "$dir/events" >&2 2>/dev/null; exit 1; }
"$MPIEXEC" --oversubscribe --bind-to none -np 2 -x TERN_DIR="$dir" "$app" >"$work/out1" 2>"$work/err1"
grep -Eq '^SNAPSHOT it=[34]$' "$work/out1" || die "no checkpoint after the request at iteration 3"
grep -q '^DIE it=5$' "$work/out1" || die "first run did not reach its crash"
"$MPIEXEC" --oversubscribe --bind-to none -np 2 -x TERN_DIR="$dir" -x TERN_RESTART="$dir" "$app" \
    >"$work/out2" 2>"$work/err2" && die "the restarted job ran on with a stale communicator"
grep -q FINISHED "$work/out2" && die "the restarted job finished"
grep -Eq "^tern: rank [01]: communicator handle 0x[0-9a-f]+ names no communicator of this run \(after a restart, communicators kept in protected memory must be created again, in the same order, before tern_recover\(\); see docs/api.md\)$" \
    "$work/err2" || die "no one-line error naming the stale communicator"
echo PASS
