#!/bin/bash
# refuse.sh MODE APP: see refuse.c. Checks the events and the return codes.
set -u
mode=$1 app=$2
MPIEXEC=${TERN_MPIEXEC:-mpirun}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
work=$(mktemp -d /tmp/tern-refuse.XXXXXX)
trap 'rm -rf "$work"' EXIT
dir=$work/job
die() { echo "FAIL: $*" >&2; cat "$work/out" "$work/err" "$dir/events" >&2 2>/dev/null; exit 1; }
"$MPIEXEC" --oversubscribe --bind-to none -np 2 -x TERN_DIR="$dir" "$app" "$mode" "$work/io.dat" \
    >"$work/out" 2>"$work/err" || die "the job did not run to the end"
grep -q '^RESULT 1600.0$' "$work/out" || die "wrong result"
case $mode in
rma) call=MPI_Win_create; what='one-sided' ;;
io) call=MPI_File_open; what='MPI-IO' ;;
thread) call='MPI_Init_thread(MPI_THREAD_MULTIPLE)'; what='MPI_THREAD_MULTIPLE' ;;
dyn) call=MPI_Comm_spawn; what='dynamic process' ;;
esac
grep -q "^SNAPSHOT it=6 rc=-1$" "$work/out" || die "first checkpoint not refused"
grep -F "failed epoch=" "$dir/events" | grep -F "$call" | grep -qF "$what" || die "no failed event naming $call"
grep -qF "$call" "$work/err" || die "no message naming $call on stderr"
if [ "$mode" = thread ] || [ "$mode" = dyn ]; then
    grep -q "^SNAPSHOT it=26 rc=-1$" "$work/out" || die "$mode: second checkpoint not refused"
else
    grep -q "^SNAPSHOT it=26 rc=1$" "$work/out" || die "second checkpoint (after the free/close) not committed"
fi
cat "$dir/events"
echo PASS
