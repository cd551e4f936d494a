/* small_ckpt: one small checkpoint with every kind of thing a reader meets,
 * written by the store itself: the inputs that hostile.sh damages one value
 * at a time and the seed corpus of the fuzzer (tests/fuzz/).
 *
 *   small_ckpt DIR EPOCH [api|serial]   (under mpirun, 1-3 ranks; serial:
 *                                        without MPI, as the dumper writes)
 *
 * Chunks of 16 KiB, so that a few tens of KiB per rank give several chunks
 * per segment: RAW (random bytes, the last chunk short), ZERO, SPARSE (every
 * other 4 KiB block zero), DEFLATE (text; the disk rate is set so low that
 * deflate always pays), an empty segment, one streamed through put_fn, two
 * global arrays and a string attribute. `api` adds what coord/ writes in API
 * mode (/attrs/tern_mode, tern_protocol and the _tern_* segments, with
 * arbitrary contents: only their presence matters to the store).
 */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tern_store.h"

#define CHUNK 16384

static uint64_t mix(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    return x;
}

static void fill_kind(unsigned char *p, size_t n, int kind, uint64_t key)
{
    static const char text[] = "checkpoint/restart for MPI jobs, one file per epoch. ";
    for (size_t i = 0; i < n; i++) {
        if (kind == 1)
            p[i] = (unsigned char)text[i % (sizeof text - 1)];
        else if (kind == 2 && (i / 4096) % 2)
            p[i] = 0;
        else
            p[i] = (unsigned char)(mix(key + i / 8) >> (8 * (i % 8)));
    }
}

static int fn_fill(void *ctx, uint64_t off, void *dst, size_t n, tern_error *err)
{
    (void)err;
    fill_kind(dst, n, 0, (uint64_t)(uintptr_t)ctx + off);
    return 0;
}

/* The segments of rank r into w; the buffers stay valid until commit. */
static int put_segments(tern_ckpt_writer *w, int r, int api, unsigned char **keep,
                        tern_error *err)
{
    size_t sizes[] = {40000, 2 * CHUNK, 2 * CHUNK, 20000 + 1000 * (size_t)r};
    unsigned char *b = calloc(1, sizes[0] + sizes[1] + sizes[2] + sizes[3]);
    *keep = b;
    if (!b)
        return tern_error_set(err, 12, "out of memory");
    fill_kind(b, sizes[0], 0, 1000u + (uint64_t)r);
    fill_kind(b + sizes[0] + sizes[1], sizes[2], 2, 2000u + (uint64_t)r);
    fill_kind(b + sizes[0] + sizes[1] + sizes[2], sizes[3], 1, 0);
    if (api) {
        static const unsigned char rec[64] = {1, 2, 3, 4};
        const char *names[] = {"_tern_meta", "_tern_reqs", "_tern_msgs", "_tern_comms",
                               "_tern_comm_members", "_tern_handles", "_tern_types"};
        for (int i = 0; i < 7; i++)
            if (tern_ckpt_put(w, names[i], rec, i % 3 ? sizeof rec : 0, err))
                return -1;
        if (tern_ckpt_set_attr(w, "tern_protocol", "2", err) ||
            tern_ckpt_set_attr(w, "tern_mode", "api", err))
            return -1;
    }
    const char *names[] = {"raw", "zero", "sparse", "text"};
    size_t off = 0;
    for (int i = 0; i < 4; i++) {
        if (tern_ckpt_put(w, names[i], b + off, sizes[i], err))
            return -1;
        off += sizes[i];
    }
    return tern_ckpt_put(w, "empty", NULL, 0, err) ||
           tern_ckpt_put_fn(w, "streamed", 5000, fn_fill, (void *)(uintptr_t)(7 + r), err) ||
           tern_ckpt_set_attr(w, "note", "small_ckpt", err);
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: small_ckpt DIR EPOCH [api|serial]\n");
        return 2;
    }
    const char *mode = argc > 3 ? argv[3] : "";
    int serial = !strcmp(mode, "serial"), rank = 0, nranks = 1;
    if (!serial) {
        MPI_Init(&argc, &argv);
        MPI_Comm_rank(MPI_COMM_WORLD, &rank);
        MPI_Comm_size(MPI_COMM_WORLD, &nranks);
    }
    tern_store_opts o;
    tern_store_opts_default(&o);
    o.job = "small";
    o.chunk_bytes = CHUNK;
    o.keep = 8;               /* tests write several and damage the last */
    o.disk_bytes_per_s = 1e3;
    tern_ckpt_writer *w;
    tern_error err = {0};
    unsigned char *keep = NULL;
    double u[5];
    int32_t v[3] = {rank, rank + 1, rank + 2};
    for (int i = 0; i < 5; i++)
        u[i] = rank * 10.0 + i;
    int rc = tern_ckpt_begin(serial ? MPI_COMM_NULL : MPI_COMM_WORLD, argv[1],
                             strtoull(argv[2], NULL, 10), &o, &w, &err);
    if (!rc) {
        /* a failed put poisons the writer: commit then fails on every rank */
        put_segments(w, rank, !strcmp(mode, "api"), &keep, &err);
        tern_ckpt_put_array(w, "u", sizeof *u, 2 + (uint64_t)rank, u, &err);
        tern_ckpt_put_array(w, "v", sizeof *v, 3, v, &err);
        tern_ckpt_stats st;
        rc = tern_ckpt_commit(w, &st, &err);
        if (!rc && rank == 0)
            printf("%s\n", st.path);
    }
    if (rc && rank == 0)
        fprintf(stderr, "small_ckpt: %s\n", err.msg);
    free(keep);
    if (!serial)
        MPI_Finalize();
    return rc ? 1 : 0;
}
