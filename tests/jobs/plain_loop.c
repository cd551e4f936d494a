/* plain_loop ITERS SLEEP_MS: an unmodified MPI program (no tern call): a
 * loop of MPI_Allreduce and a sleep, as a new user would first try. Prints
 * RESULT <sum> on rank 0. */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    int rank, iters = argc > 1 ? atoi(argv[1]) : 50, ms = argc > 2 ? atoi(argv[2]) : 20;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    long total = 0;
    for (int i = 0; i < iters; i++) {
        long v = rank + i, s = 0;
        MPI_Allreduce(&v, &s, 1, MPI_LONG, MPI_SUM, MPI_COMM_WORLD);
        total += s;
        struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
        nanosleep(&ts, NULL);
    }
    if (rank == 0) printf("RESULT %ld\n", total);
    MPI_Finalize();
    return 0;
}
