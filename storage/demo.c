/* tern-store-demo: writes a multi-rank checkpoint, verifies it and reads
 * every rank's segments back, saying what it did.
 *   mpirun -n 4 tern-store-demo [DIR]      (default DIR: ./tern-demo) */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tern_store.h"

static void fill_seg(unsigned char *p, size_t n, int rank, int kind)
{
    uint64_t x = 0x9e3779b97f4a7c15ull * (uint64_t)(rank + 1) + (uint64_t)kind;
    for (size_t i = 0; i < n; i++) {
        if (kind == 0) {           /* random */
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            p[i] = (unsigned char)x;
        } else if (kind == 1) {    /* text-like, compressible */
            p[i] = "tern checkpoint "[i % 16] + (unsigned char)(rank);
        } else {                   /* sparse: every other 4 KiB block zero */
            p[i] = ((i / 4096) % 2) ? (unsigned char)(i * 7 + rank) : 0;
        }
    }
}

static void report(void *ctx, int rank, int ok, const char *msg)
{
    (void)ctx;
    printf("  verify rank %d: %s%s\n", rank, ok ? "ok" : "FAILED: ", msg);
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    int rank, size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    const char *dir = argc > 1 ? argv[1] : "tern-demo";
    tern_error err = {0};

    /* the next epoch after whatever is already there */
    uint64_t epoch = 1;
    uint64_t *ep;
    int n;
    if (rank == 0 && tern_store_list(dir, &ep, &n, &err) == 0) {
        if (n)
            epoch = ep[n - 1] + 1;
        free(ep);
    }
    MPI_Bcast(&epoch, 1, MPI_UINT64_T, 0, MPI_COMM_WORLD);

    size_t sz[3] = {(size_t)(rank + 1) << 20, 3u << 20, (size_t)(2 + rank) << 20};
    const char *names[3] = {"random", "text", "sparse"};
    unsigned char *seg[3];
    for (int k = 0; k < 3; k++) {
        seg[k] = malloc(sz[k]);
        fill_seg(seg[k], sz[k], rank, k);
    }
    double field[1000];
    for (int i = 0; i < 1000; i++)
        field[i] = rank * 1000 + i;

    tern_store_opts o;
    tern_store_opts_default(&o);
    o.job = "demo";
    tern_ckpt_writer *w;
    tern_ckpt_stats st;
    int rc = tern_ckpt_begin(MPI_COMM_WORLD, dir, epoch, &o, &w, &err);
    for (int k = 0; rc == 0 && k < 3; k++)
        rc = tern_ckpt_put(w, names[k], seg[k], sz[k], &err);
    if (rc == 0)
        rc = tern_ckpt_put_array(w, "field", sizeof(double), 1000, field, &err);
    if (rc == 0)
        rc = tern_ckpt_set_attr(w, "demo", "tern-store-demo", &err);
    if (rc == 0)
        rc = tern_ckpt_commit(w, &st, &err);
    else if (w)
        tern_ckpt_abort(w);
    if (rc) {
        fprintf(stderr, "tern-store-demo: rank %d: %s\n", rank, err.msg);
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    if (rank == 0)
        printf("wrote %s: %d ranks, %" PRIu64 " bytes logical, %" PRIu64 " stored, %" PRIu64
               " zero bytes elided, %.3f s\n", st.path, size, st.logical_bytes,
               st.stored_bytes, st.zero_bytes, st.seconds);
    MPI_Barrier(MPI_COMM_WORLD);

    /* reading needs no MPI; rank 0 checks everyone's data */
    int bad = 0;
    if (rank == 0) {
        tern_ckpt *c;
        if (tern_ckpt_open(dir, &c, &err)) {
            fprintf(stderr, "tern-store-demo: %s\n", err.msg);
            MPI_Abort(MPI_COMM_WORLD, 1);
        }
        const tern_ckpt_info *in = tern_ckpt_get_info(c);
        printf("opened %s: job %s, epoch %" PRIu64 ", %d ranks on %d node(s) (%s)\n", in->path,
               in->job, in->epoch, in->nranks, in->nnodes, in->nnodes ? in->nodes[0].host : "?");
        bad |= tern_ckpt_verify(c, report, NULL, &err) != 0;
        for (int r = 0; r < size; r++) {
            size_t rs[3] = {(size_t)(r + 1) << 20, 3u << 20, (size_t)(2 + r) << 20};
            for (int k = 0; k < 3; k++) {
                unsigned char *want = malloc(rs[k]), *got = malloc(rs[k]);
                fill_seg(want, rs[k], r, k);
                if (tern_ckpt_read(c, r, names[k], got, rs[k], &err) || memcmp(want, got, rs[k])) {
                    printf("  read rank %d %s: MISMATCH %s\n", r, names[k], err.msg);
                    bad = 1;
                }
                free(want);
                free(got);
            }
        }
        double *all = malloc(sizeof(double) * 1000 * size);
        if (tern_ckpt_read_array(c, "field", 0, 1000 * (uint64_t)size, all, &err))
            bad = 1, printf("  array: %s\n", err.msg);
        for (int i = 0; !bad && i < 1000 * size; i++)
            bad |= all[i] != (double)i;
        free(all);
        printf("read back every rank's segments and the global array: %s\n", bad ? "MISMATCH" : "bit-exact");
        tern_ckpt_close(c);
    }
    MPI_Bcast(&bad, 1, MPI_INT, 0, MPI_COMM_WORLD);
    for (int k = 0; k < 3; k++)
        free(seg[k]);
    MPI_Finalize();
    return bad;
}
