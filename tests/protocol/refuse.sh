#!/bin/bash
# refuse.sh MODE APP: see refuse.c. Checks the events and the return codes.
set -u
mode=$1 app=$2
source "$(dirname "$0")/common.sh"
proto_work refuse
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
recv) call='refused on rank 1: a receive (MPI_Irecv from 0 tag 9) pending at tern_snapshot() has its buffer'
      what='outside every protected region' ;;
esac
grep -q "^SNAPSHOT it=6 rc=-1$" "$work/out" || die "first checkpoint not refused"
grep -F "failed epoch=" "$dir/events" | grep -F "$call" | grep -qF "$what" || die "no failed event naming $call"
grep -qF "$call" "$work/err" || die "no message naming $call on stderr"
if [ "$mode" = thread ] || [ "$mode" = dyn ]; then
    grep -q "^SNAPSHOT it=26 rc=-1$" "$work/out" || die "$mode: second checkpoint not refused"
else
    grep -q "^SNAPSHOT it=26 rc=1$" "$work/out" || die "second checkpoint (after the free/close) not committed"
fi
if [ "$mode" = recv ]; then
    # every rank returned -1 at the same point, and the failed attempt left no file
    [ "$(grep -c '^SNAPSHOT it=6 rc=-1$' "$work/out")" = 1 ] || die "recv: refusal not reported once by rank 0"
    ls "$dir" | grep -q 'ckpt-0*1\.h5' && die "recv: the refused epoch left a checkpoint file"
    ls "$dir" | grep -q 'partial' && die "recv: a partial file remains"
    grep -q '^committed epoch=2 ' "$dir/events" || die "recv: the next checkpoint (epoch 2) did not commit"
fi
cat "$dir/events"
echo PASS
