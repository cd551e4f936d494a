#!/bin/bash
# wrap_fastpath.sh [LIBTERN]: nanoseconds added by libtern's wrappers on the
# fast path (no checkpoint pending, no drained message): MPI_Comm_rank on a
# virtual communicator, and MPI_Irecv + MPI_Isend + MPI_Waitall(2) to self.
set -eu
lib=${1:-/work/main/build-proto/coord/libtern.so}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
w=$(mktemp -d /tmp/tern-fp.XXXXXX); trap 'rm -rf "$w"' EXIT
mpicc -O2 "$(dirname "$0")/wrap_fastpath.c" -o "$w/fp"
mpirun --oversubscribe --bind-to none -np 1 -x LD_PRELOAD="$lib" "$w/fp"
