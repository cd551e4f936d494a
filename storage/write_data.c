/* Writing chunk data: encode in rounds, agree on sizes, write directly.
 *
 * Parallel HDF5 creates datasets collectively, so a dataset's size must be
 * known on every rank before anyone writes, yet a chunk's stored size is
 * known only after encoding it. Each round therefore encodes as many of this
 * rank's chunks as fit in a bounded staging area (a streamed put_fn segment
 * of GiBs goes through in several rounds), allgathers the stored sizes,
 * creates one contiguous uint8 dataset data.K per rank collectively, and
 * every rank then writes its bytes itself at the dataset's file offset with
 * pwritev. Raw and sparse chunks are written straight from the caller's
 * buffer (no copy); CRCs are computed after the write was handed to the
 * kernel, so they overlap with the disk writing back the round.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "writer_int.h"

#define DEFAULT_ROUND_BYTES (64u << 20)

static const unsigned char zero_pad[TERN_RAW_ALIGN];

typedef struct pieces {
    struct iovec *v;
    size_t n, cap;
} pieces;

static int add_piece(pieces *p, const void *ptr, size_t n)
{
    if (!n)
        return 0;
    if (p->n && (const char *)p->v[p->n - 1].iov_base + p->v[p->n - 1].iov_len == (const char *)ptr) {
        p->v[p->n - 1].iov_len += n;
        return 0;
    }
    if (p->n == p->cap) {
        size_t nc = p->cap ? p->cap * 2 : 256;
        struct iovec *nv = realloc(p->v, nc * sizeof *nv);
        if (!nv)
            return -1;
        p->v = nv;
        p->cap = nc;
    }
    p->v[p->n].iov_base = (void *)ptr;
    p->v[p->n].iov_len = n;
    p->n++;
    return 0;
}

static int write_pieces(int fd, struct iovec *v, size_t n, off_t off)
{
    while (n) {
        int cnt = n > IOV_MAX ? IOV_MAX : (int)n;
        ssize_t k = pwritev(fd, v, cnt, off);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        if (k == 0) {
            errno = EIO;
            return -1;
        }
        off += k;
        while (n && (size_t)k >= v->iov_len) {
            k -= v->iov_len;
            v++, n--;
        }
        if (k) {
            v->iov_base = (char *)v->iov_base + k;
            v->iov_len -= k;
        }
    }
    return 0;
}

typedef struct round_info {
    int32_t fail;
    int32_t more;
    uint64_t bytes;
} round_info;

/* Creates data.K of every rank that has bytes this round; returns this
 * rank's file offset (or HADDR_UNDEF when it has none). */
static int create_round(tern_ckpt_writer *w, unsigned k, const round_info *all,
                        haddr_t *my_off, tern_error *err)
{
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    H5Pset_layout(dcpl, H5D_CONTIGUOUS);
    H5Pset_alloc_time(dcpl, H5D_ALLOC_TIME_EARLY);
    H5Pset_fill_time(dcpl, H5D_FILL_TIME_NEVER);
    int rc = 0;
    *my_off = HADDR_UNDEF;
    for (int r = 0; r < w->size && rc == 0; r++) {
        if (!all[r].bytes)
            continue;
        char path[128], grp[64];
        tern_rank_group(r, grp, sizeof grp);
        snprintf(path, sizeof path, "%s/data.%u", grp, k);
        hsize_t dims = all[r].bytes;
        hid_t sp = H5Screate_simple(1, &dims, NULL);
        hid_t d = H5Dcreate2(w->file, path, H5T_STD_U8LE, sp, H5P_DEFAULT, dcpl, H5P_DEFAULT);
        H5Sclose(sp);
        if (d < 0) {
            char h5[256];
            tern_h5_last_error(h5, sizeof h5);
            rc = tern_error_set(err, EIO, "%s: creating %s: %s", w->partial, path, h5);
            break;
        }
        if (r == w->rank) {
            *my_off = H5Dget_offset(d);
            if (*my_off == HADDR_UNDEF)
                rc = tern_error_set(err, EIO, "%s: %s has no file offset", w->partial, path);
        }
        H5Dclose(d);
    }
    H5Pclose(dcpl);
    return rc;
}

static size_t round_bytes_limit(size_t chunk)
{
    size_t lim = DEFAULT_ROUND_BYTES;
    const char *e = getenv("TERN_STORE_ROUND_BYTES");  /* tests use small rounds */
    if (e && atoll(e) > 0)
        lim = (size_t)atoll(e);
    size_t min = 2 * tern_deflate_bound(chunk) + 2 * chunk;
    return lim < min ? min : lim;
}

int tern_w_early_writeback(void)
{
    static int v = -1;
    if (v < 0) {
        const char *e = getenv("TERN_STORE_WRITEBACK");
        v = !(e && !strcmp(e, "0"));
    }
    return v;
}

int tern_w_write_data(tern_ckpt_writer *w, tern_error *err)
{
    size_t cb = w->opts.chunk_bytes;
    int have_fn = 0;
    for (int i = 0; i < w->nsegs; i++)
        have_fn |= w->segs[i].buf == NULL && w->segs[i].len > 0;
    size_t cap = round_bytes_limit(cb);
    /* stage: bytes pulled from put_fn; enc: deflate output and bitmaps */
    unsigned char *stage = have_fn ? malloc(cap) : NULL;
    unsigned char *enc = malloc(cap);
    const unsigned char **crc_src = malloc((w->nchunks ? w->nchunks : 1) * sizeof *crc_src);
    round_info *all = w->scratch;   /* sized for the largest record */
    pieces pc = {0};
    int local_rc = 0;
    if ((have_fn && !stage) || !enc || !crc_src)
        local_rc = tern_error_set(err, ENOMEM, "rank %d: out of memory for write buffers", w->rank);

    int si = 0;               /* cursor: segment, chunk within it, global chunk */
    uint64_t ci = 0, gi = 0;
    tern_codec_state cs;
    tern_codec_init(&cs, w->opts.compress_level, w->opts.disk_bytes_per_s / (w->node_size > 0 ? w->node_size : 1));
    int rc = 0;
    for (unsigned k = 0;; k++) {
        double t_round = tern_w_now();
        size_t stage_used = 0, enc_used = 0;
        uint64_t bytes = 0, round_first = gi;
        pc.n = 0;
        while (!local_rc && si < w->nsegs) {
            wseg *s = &w->segs[si];
            if (ci >= s->nchunks) {
                si++;
                ci = 0;
                tern_codec_reset(&cs);
                continue;
            }
            uint64_t off = ci * cb;
            size_t n = s->len - off < cb ? (size_t)(s->len - off) : cb;
            size_t need_stage = s->buf ? 0 : n;
            size_t need_enc = tern_sparse_bitmap_bytes(n) +
                              (w->opts.compress_level > 0 ? tern_deflate_bound(n) : 0);
            if (gi > round_first && (stage_used + need_stage > cap || enc_used + need_enc > cap))
                break;
            const unsigned char *raw;
            if (s->buf) {
                raw = (const unsigned char *)s->buf + off;
            } else {
                unsigned char *dst = stage + stage_used;
                if (s->fill(s->ctx, off, dst, n, err)) {
                    if (!err->msg[0])
                        tern_error_set(err, EIO, "fill callback failed");
                    local_rc = tern_error_prefix(err, "rank %d: segment '%s': ", w->rank, s->name);
                    break;
                }
                stage_used += n;
                raw = dst;
            }
            unsigned char *bm = enc + enc_used;
            size_t bm_bytes = tern_sparse_bitmap_bytes(n);
            unsigned char *zout = bm + bm_bytes;
            tern_chunk_plan plan;
            tern_chunk_encode(&cs, raw, n, w->opts.compress_level > 0 ? zout : NULL,
                              tern_deflate_bound(n), bm, &plan);
            chunk_rec *c = &w->chunks[gi];
            c->data = k;
            c->kind = (uint32_t)plan.kind;
            c->offset = bytes;
            c->raw = (uint32_t)n;
            c->stored = (uint32_t)plan.stored;
            crc_src[gi] = raw;
            int prc = 0;
            switch (plan.kind) {
            case TERN_CHUNK_ZERO:
                w->zero += n;
                break;
            case TERN_CHUNK_RAW:
                /* format 1.1: a whole-page RAW chunk starts on a page of
                 * the file (data.K itself is page aligned, writer.c) */
                if (n % TERN_RAW_ALIGN == 0 && bytes % TERN_RAW_ALIGN && !tern_w_minor0()) {
                    size_t pad = TERN_RAW_ALIGN - bytes % TERN_RAW_ALIGN;
                    prc = add_piece(&pc, zero_pad, pad);
                    bytes += pad;
                    c->offset = bytes;
                }
                if (!prc)
                    prc = add_piece(&pc, raw, n);
                break;
            case TERN_CHUNK_DEFLATE:
                /* keep the bitmap slot: it is tiny and keeps zout aligned */
                enc_used += bm_bytes + plan.stored;
                prc = add_piece(&pc, zout, plan.stored);
                break;
            case TERN_CHUNK_SPARSE: {
                enc_used += bm_bytes;
                prc = add_piece(&pc, bm, bm_bytes);
                size_t nb = (n + TERN_SPARSE_BLOCK - 1) / TERN_SPARSE_BLOCK;
                for (size_t b = 0; b < nb && !prc; b++) {
                    size_t bo = b * TERN_SPARSE_BLOCK;
                    size_t bl = n - bo < TERN_SPARSE_BLOCK ? n - bo : TERN_SPARSE_BLOCK;
                    if ((bm[b / 8] >> (b % 8)) & 1)
                        prc = add_piece(&pc, raw + bo, bl);
                }
                w->zero += n - plan.nonzero_mask_bytes;
                break;
            }
            }
            if (prc) {
                local_rc = tern_error_set(err, ENOMEM, "rank %d: out of memory", w->rank);
                break;
            }
            s->stored += plan.stored;
            bytes += plan.stored;
            ci++;
            gi++;
        }
        /* skip trailing exhausted segments so `more` is exact */
        while (si < w->nsegs && ci >= w->segs[si].nchunks) {
            si++;
            ci = 0;
        }
        double t_enc = tern_w_now();
        round_info mine = {local_rc != 0, si < w->nsegs, bytes};
        if (w->comm != MPI_COMM_NULL) {
            MPI_Request req;
            PMPI_Iallgather(&mine, sizeof mine, MPI_BYTE, all, sizeof mine, MPI_BYTE, w->comm, &req);
            tern_w_wait(&req);
        } else
            all[0] = mine;
        int any_fail = 0, any_more = 0;
        for (int r = 0; r < w->size; r++) {
            any_fail |= all[r].fail;
            any_more |= all[r].more;
        }
        if (any_fail) {
            w->err_early = local_rc != 0;
            rc = tern_w_agree(w, local_rc, err);
            w->agreed_fail = 1;
            break;
        }
        double t_ag = tern_w_now();
        haddr_t my_off;
        local_rc = create_round(w, k, all, &my_off, err);
        double t_cr = tern_w_now(), t_wr = t_cr, t_sfr = t_cr;
        if (!local_rc && bytes) {
            int wrc = write_pieces(w->fd, pc.v, pc.n, (off_t)my_off);
            t_wr = t_sfr = tern_w_now();
            if (wrc) {
                int e = errno;
                local_rc = tern_error_set(err, e, "%s: rank %d: writing chunk data: %s",
                                          w->partial, w->rank, strerror(e));
            } else {
                if (my_off + bytes > w->max_end)
                    w->max_end = my_off + bytes;
                /* start writeback now; the final fsync then finds less to do */
                if (tern_w_early_writeback())
                    sync_file_range(w->fd, (off_t)my_off, (off_t)bytes, SYNC_FILE_RANGE_WRITE);
                t_sfr = tern_w_now();
            }
        }
        if (!local_rc)
            for (uint64_t i = round_first; i < gi; i++)
                w->chunks[i].crc = tern_crc32(crc_src[i], w->chunks[i].raw);
        if (getenv("TERN_STORE_TRACE") && w->rank == 0)
            fprintf(stderr, "tern-store: round %u: encode %.4f allgather %.4f create %.4f "
                    "write %.4f sfr %.4f crc %.4f (%zu pieces)\n", k, t_enc - t_round,
                    t_ag - t_enc, t_cr - t_ag, t_wr - t_cr, t_sfr - t_wr, tern_w_now() - t_sfr, pc.n);
        w->stored += bytes;
        uint64_t *rb = realloc(w->round_bytes, (k + 1) * sizeof *rb);
        if (rb) {
            rb[k] = bytes;
            w->round_bytes = rb;
        } else if (!local_rc) {
            local_rc = tern_error_set(err, ENOMEM, "rank %d: out of memory", w->rank);
        }
        w->rounds = k + 1;
        /* whatever failed here (a callback, a chunk write) is a root cause */
        w->err_early = local_rc != 0;
        if (!any_more) {
            rc = local_rc;    /* agreed on by the caller's next exchange */
            break;
        }
    }
    tern_codec_free(&cs);
    free(stage);
    free(enc);
    free(crc_src);
    free(pc.v);
    return rc;
}
