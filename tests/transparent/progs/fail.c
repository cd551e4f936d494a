/* fail.c MODE: a rank fails as MODE says, after the job is running:
 *   abort    rank 1 calls MPI_Abort(MPI_COMM_WORLD, 7)
 *   segv     rank 1 writes through a NULL pointer
 *   noexit   rank 1 exits with status 0 without MPI_Finalize
 *   exit3    every rank finalizes, then rank 1 exits with status 3
 * The other ranks wait in a receive that never comes (abort, segv, noexit). */
#include <mpi.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "abort";
    MPI_Init(&argc, &argv);
    int rank;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Barrier(MPI_COMM_WORLD);
    if (!strcmp(mode, "exit3")) {
        MPI_Finalize();
        return rank == 1 ? 3 : 0;
    }
    if (rank == 1) {
        if (!strcmp(mode, "abort")) MPI_Abort(MPI_COMM_WORLD, 7);
        if (!strcmp(mode, "segv")) {
            volatile int *p = (volatile int *)(uintptr_t)(argc - argc);
            *p = 1;
        }
        if (!strcmp(mode, "noexit")) exit(0);
    }
    int x;
    MPI_Recv(&x, 1, MPI_INT, 1, 99, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    MPI_Finalize();
    return 0;
}
