#!/bin/bash
# interposed.sh LIBTERN FORTRAN_APP NP: a Fortran MPI program built without
# tern (no tern calls) under LD_PRELOAD=libtern.so goes through tern: its
# MPI_Init reaches tern's entry point (Open MPI's Fortran bindings call
# PMPI_Init directly, so without libtern's Fortran bindings the job directory
# would stay empty), and it runs to the end.
set -u
lib=$1 app=$2 np=$3
source "$(dirname "$0")/../protocol/common.sh"
proto_work finterposed
die() { echo "FAIL: $*" >&2; cat "$work"/*.err "$work/job/events" >&2 2>/dev/null; exit 1; }
"$MPIEXEC" --oversubscribe --bind-to none -np "$np" -x LD_PRELOAD="$lib" -x TERN_DIR="$work/job" \
    "$app" >"$work/run.out" 2>"$work/run.err" || die "exit status $? under LD_PRELOAD"
grep -q "^started nranks=$np " "$work/job/events" 2>/dev/null || die "tern never saw MPI_Init"
grep -q '^no_snapshot_points' "$work/job/events" || die "no no_snapshot_points event"
echo "events: $(tr '\n' ';' <"$work/job/events")"
echo PASS
