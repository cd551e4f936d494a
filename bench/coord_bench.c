/* coord_bench.c: figures for docs/protocol.md (not a test).
 *
 *   coord_bench quiesce ITERS [idle]   ring traffic with one message per
 *       rank in flight at each snapshot point (on purpose: the drain moves
 *       one message per rank and the send request is active, so the
 *       two-collective path runs); with "idle" the ring message is received
 *       and the send completed before the snapshot point, so nothing is in
 *       flight and the one-collective fast path runs. Rank 0 asks for a
 *       checkpoint every 10th iteration. Prints the mean MPI_Barrier time of the same run; tern
 *       writes the coordination time of each checkpoint (CHECK + DRAIN, from
 *       the decision in tern_snapshot() to every rank quiescent) to
 *       $TERN_STATS.
 *   coord_bench bandwidth MIB   each rank protects MIB MiB of incompressible
 *       data and takes one checkpoint; tern writes its end-to-end time to
 *       $TERN_STATS.
 */
#include <mpi.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tern.h"

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    int rank, size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    const char *mode = argc > 1 ? argv[1] : "quiesce";
    long n = argc > 2 ? atol(argv[2]) : 200;
    if (!strcmp(mode, "quiesce")) {
        int right = (rank + 1) % size, left = (rank + size - 1) % size;
        double sb[8] = { 0 }, rb[8];
        long it = 0;
        int idle = argc > 3 && !strcmp(argv[3], "idle");
        tern_protect("it", &it, 1, MPI_LONG);
        /* barrier reference, same run */
        for (int i = 0; i < 200; i++) MPI_Barrier(MPI_COMM_WORLD);
        double t0 = MPI_Wtime();
        int nb = 2000;
        for (int i = 0; i < nb; i++) MPI_Barrier(MPI_COMM_WORLD);
        double tb = (MPI_Wtime() - t0) / nb;
        for (it = 0; it < n; it++) {
            MPI_Request r;
            MPI_Isend(sb, 8, MPI_DOUBLE, right, 1, MPI_COMM_WORLD, &r);
            if (idle) {
                MPI_Recv(rb, 8, MPI_DOUBLE, left, 1, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
                MPI_Wait(&r, MPI_STATUS_IGNORE);
            }
            if (rank == 0 && it % 10 == 5) tern_request_checkpoint();
            tern_snapshot();
            if (!idle) {
                MPI_Recv(rb, 8, MPI_DOUBLE, left, 1, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
                MPI_Wait(&r, MPI_STATUS_IGNORE);
            }
        }
        if (rank == 0) printf("barrier_us %.3f\n", tb * 1e6);
    } else {
        size_t bytes = (size_t)n << 20;
        uint64_t *d = malloc(bytes);
        uint64_t x = 88172645463325252ULL ^ (uint64_t)rank;
        for (size_t i = 0; i < bytes / 8; i++) {   /* xorshift: incompressible */
            x ^= x << 13; x ^= x >> 7; x ^= x << 17;
            d[i] = x;
        }
        tern_protect("data", d, (int64_t)(bytes / 8), MPI_UINT64_T);
        if (rank == 0) tern_request_checkpoint();
        tern_snapshot();
        int rc = tern_snapshot();
        if (rank == 0) printf("snapshot_rc %d\n", rc);
        free(d);
    }
    MPI_Finalize();
    return 0;
}
