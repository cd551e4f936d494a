/* store_bench: checkpoint write rate of storage/ (bench/store_bench.sh runs it).
 *
 *   mpirun -n 4 store_bench DIR KIND LEVEL MIB REPS   time REPS checkpoints
 *   mpirun -n 4 store_bench DIR KIND dump MIB         write each rank's bytes
 *                                                     to DIR/raw.RANK (for dd)
 * KIND: random | smooth (sin field, doubles) | sparse (smooth, half of the
 * 4 KiB blocks zero, at random). Prints one line per checkpoint:
 *   kind level seconds logical_GBps ratio(logical/stored)
 * A warm-up checkpoint comes first (hwloc topology load, page faults). */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tern_store.h"

static uint64_t mix(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ull;
    x ^= x >> 33;
    return x;
}

static void gen(unsigned char *p, size_t n, const char *kind, int rank)
{
    if (!strcmp(kind, "random")) {
        uint64_t *w = (uint64_t *)p;
        for (size_t i = 0; i < n / 8; i++)
            w[i] = mix(i + ((uint64_t)rank << 40));
        return;
    }
    double *d = (double *)p;
    for (size_t i = 0; i < n / 8; i++)
        d[i] = sin((double)(i + (uint64_t)rank * n) * 1e-5) * 300.0 + cos((double)i * 3e-3);
    if (!strcmp(kind, "sparse"))
        for (size_t b = 0; b < n / 4096; b++)
            if (mix(b + ((uint64_t)rank << 40)) & 1)
                memset(p + b * 4096, 0, 4096);
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    int rank, size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    if (argc != 6) {
        if (rank == 0)
            fprintf(stderr, "usage: store_bench DIR KIND LEVEL|dump MIB REPS\n");
        MPI_Abort(MPI_COMM_WORLD, 2);
    }
    const char *dir = argv[1], *kind = argv[2];
    size_t n = (size_t)atoi(argv[4]) << 20;
    unsigned char *buf = malloc(n);
    gen(buf, n, kind, rank);
    if (!strcmp(argv[3], "dump")) {
        char p[4096];
        snprintf(p, sizeof p, "%s/raw.%d", dir, rank);
        FILE *f = fopen(p, "w");
        if (!f || fwrite(buf, 1, n, f) != n || fclose(f))
            MPI_Abort(MPI_COMM_WORLD, 1);
        MPI_Finalize();
        return 0;
    }
    int level = atoi(argv[3]), reps = atoi(argv[5]);
    tern_error err = {0};
    uint64_t *ep;
    int ne;
    uint64_t epoch = 1;
    if (tern_store_list(dir, &ep, &ne, &err) == 0) {
        if (ne)
            epoch = ep[ne - 1] + 1;
        free(ep);
    }
    for (int r = -1; r < reps; r++, epoch++) {
        tern_store_opts o;
        tern_store_opts_default(&o);
        o.job = "bench";
        o.compress_level = level;
        o.keep = 1;
        tern_ckpt_writer *w;
        tern_ckpt_stats st;
        size_t len = r < 0 ? 4096 : n;   /* r == -1: warm-up */
        /* start together: stats.seconds counts from each rank's own begin,
         * so a rank still generating data would be charged to the others */
        MPI_Barrier(MPI_COMM_WORLD);
        if (tern_ckpt_begin(MPI_COMM_WORLD, dir, epoch, &o, &w, &err) ||
            tern_ckpt_put(w, "field", buf, len, &err) || tern_ckpt_commit(w, &st, &err)) {
            fprintf(stderr, "store_bench: rank %d: %s\n", rank, err.msg);
            MPI_Abort(MPI_COMM_WORLD, 1);
        }
        if (rank == 0 && r >= 0)
            printf("%s %d %.4f %.3f %.3f\n", kind, level, st.seconds,
                   st.logical_bytes / st.seconds / 1e9,
                   (double)st.logical_bytes / (double)(st.stored_bytes ? st.stored_bytes : 1));
        fflush(stdout);
    }
    free(buf);
    MPI_Finalize();
    return 0;
}
