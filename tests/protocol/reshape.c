/* reshape.c: restart on a different rank count from global arrays.
 *
 * A global vector of G doubles (argv[1], default 6000) is block-distributed;
 * every iteration updates each element from its global index only (no
 * communication), and tern_snapshot() is called with nothing in flight. Rank 0
 * calls tern_request_checkpoint() at iteration CKPT (argv[3]) and every rank
 * _exit()s at iteration DIE (argv[4]) in a run that did not restart. The
 * final vector is gathered on rank 0 and hashed: the answer does not depend
 * on the rank count. usage: reshape G ITERS CKPT DIE
 */
#include <mpi.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "tern.h"

static void block(long g, int size, int rank, long *off, long *cnt)
{
    long q = g / size, r = g % size;
    *cnt = q + (rank < r);
    *off = rank * q + (rank < r ? rank : r);
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    int rank, size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    long G = argc > 1 ? atol(argv[1]) : 6000, iters = argc > 2 ? atol(argv[2]) : 200;
    long ckpt = argc > 3 ? atol(argv[3]) : 50, die = argc > 4 ? atol(argv[4]) : 100;
    int restarted = tern_restarted();
    if (restarted) {
        int64_t g;
        int saved;
        if (tern_array_layout("v", &g, &saved)) MPI_Abort(MPI_COMM_WORLD, 2);
        G = (long)g;
        if (rank == 0) printf("LAYOUT G=%ld saved_nranks=%d now=%d\n", G, saved, size);
    }
    long off, cnt;
    block(G, size, rank, &off, &cnt);
    double *v = calloc((size_t)cnt + 1, sizeof(double));
    long it = 0;
    tern_protect("it", &it, 1, MPI_LONG);      /* the same on every rank */
    tern_protect("v", v, cnt, MPI_DOUBLE);
    if (restarted) {
        if (tern_recover()) MPI_Abort(MPI_COMM_WORLD, 3);
        if (rank == 0) printf("RESUMED it=%ld epoch=%" PRIu64 "\n", it, tern_epoch());
    } else {
        for (long i = 0; i < cnt; i++) v[i] = (double)((off + i) % 97);
    }
    for (; it < iters; it++) {
        if (!restarted && it == die) _exit(42);
        if (!restarted && it == ckpt && rank == 0) tern_request_checkpoint();
        tern_snapshot();
        for (long i = 0; i < cnt; i++) v[i] = 0.5 * v[i] + sin((double)(off + i) * 0.001 + (double)it);
    }
    int *cnts = malloc(sizeof(int) * size), *displs = malloc(sizeof(int) * size);
    for (int r = 0; r < size; r++) {
        long o, c;
        block(G, size, r, &o, &c);
        cnts[r] = (int)c;
        displs[r] = (int)o;
    }
    double *all = rank == 0 ? malloc(sizeof(double) * (size_t)G) : NULL;
    MPI_Gatherv(v, (int)cnt, MPI_DOUBLE, all, cnts, displs, MPI_DOUBLE, 0, MPI_COMM_WORLD);
    if (rank == 0) {
        uint64_t h = 14695981039346656037ULL;
        const unsigned char *b = (const unsigned char *)all;
        for (size_t i = 0; i < sizeof(double) * (size_t)G; i++) { h ^= b[i]; h *= 1099511628211ULL; }
        printf("RESULT %016" PRIx64 "\n", h);
    }
    MPI_Finalize();
    return 0;
}
