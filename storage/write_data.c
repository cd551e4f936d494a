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

int tern_w_pwritev(int fd, struct iovec *v, size_t n, off_t off)
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

/* The rounds' working state: buffers, the cursor over segments and chunks,
 * and what the current round holds. */
typedef struct rounds {
    size_t cb, cap;                   /* chunk bytes, staging bytes per buffer */
    unsigned char *stage;             /* bytes pulled from put_fn */
    unsigned char *enc;               /* deflate output and sparse bitmaps */
    const unsigned char **crc_src;    /* where each chunk's logical bytes are */
    pieces pc;                        /* the round's stored bytes, in file order */
    tern_codec_state cs;
    int si;                           /* cursor: segment, chunk within it, global chunk */
    uint64_t ci, gi;
    size_t stage_used, enc_used;      /* this round's use of stage and enc */
    uint64_t bytes, first;            /* this round's stored bytes and first chunk */
} rounds;

/* Creates data.K of every rank that has bytes this round (collective; every
 * rank creates every one, whatever fails); returns this rank's file offset
 * (or HADDR_UNDEF when it has none). */
static int create_round(tern_ckpt_writer *w, unsigned k, const round_info *all,
                        haddr_t *my_off, tern_error *err)
{
    hid_t dcpl = tern_w_raw_dcpl();
    int rc = 0;
    *my_off = HADDR_UNDEF;
    for (int r = 0; r < w->size; r++) {
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
            if (!rc)
                rc = tern_error_set(err, EIO, "%s: creating %s: %s", w->partial, path, h5);
            continue;
        }
        if (r == w->rank) {
            *my_off = H5Dget_offset(d);
            if (*my_off == HADDR_UNDEF && !rc)
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

static int rounds_init(tern_ckpt_writer *w, rounds *st, tern_error *err)
{
    memset(st, 0, sizeof *st);
    st->cb = w->opts.chunk_bytes;
    int have_fn = 0;
    for (int i = 0; i < w->nsegs; i++)
        have_fn |= w->segs[i].buf == NULL && w->segs[i].len > 0;
    st->cap = round_bytes_limit(st->cb);
    st->stage = have_fn ? malloc(st->cap) : NULL;
    st->enc = malloc(st->cap);
    st->crc_src = malloc((w->nchunks ? w->nchunks : 1) * sizeof *st->crc_src);
    tern_codec_init(&st->cs, w->opts.compress_level,
                    w->opts.disk_bytes_per_s / (w->node_size > 0 ? w->node_size : 1));
    if ((have_fn && !st->stage) || !st->enc || !st->crc_src)
        return tern_error_set(err, ENOMEM, "rank %d: out of memory for write buffers", w->rank);
    return 0;
}

static void rounds_free(rounds *st)
{
    tern_codec_free(&st->cs);
    free(st->stage);
    free(st->enc);
    free(st->crc_src);
    free(st->pc.v);
}

/* Queues the stored form of one encoded chunk c (logical bytes raw, n of
 * them; bitmap bm and deflate output zout in enc). Returns add_piece's rc. */
static int queue_chunk(tern_ckpt_writer *w, rounds *st, const unsigned char *raw, size_t n,
                       const unsigned char *bm, const unsigned char *zout,
                       const tern_chunk_plan *plan, chunk_rec *c)
{
    size_t bm_bytes = tern_sparse_bitmap_bytes(n);
    int prc = 0;
    switch (plan->kind) {
    case TERN_CHUNK_ZERO:
        w->zero += n;
        break;
    case TERN_CHUNK_RAW:
        /* format 1.1: a whole-page RAW chunk starts on a page of the file
         * (data.K itself is page aligned, writer.c) */
        if (n % TERN_RAW_ALIGN == 0 && st->bytes % TERN_RAW_ALIGN && !tern_w_minor0()) {
            size_t pad = TERN_RAW_ALIGN - st->bytes % TERN_RAW_ALIGN;
            prc = add_piece(&st->pc, zero_pad, pad);
            st->bytes += pad;
            c->offset = st->bytes;
        }
        if (!prc)
            prc = add_piece(&st->pc, raw, n);
        break;
    case TERN_CHUNK_DEFLATE:
        /* keep the bitmap slot: it is tiny and keeps zout aligned */
        st->enc_used += bm_bytes + plan->stored;
        prc = add_piece(&st->pc, zout, plan->stored);
        break;
    case TERN_CHUNK_SPARSE: {
        st->enc_used += bm_bytes;
        prc = add_piece(&st->pc, bm, bm_bytes);
        size_t nb = (n + TERN_SPARSE_BLOCK - 1) / TERN_SPARSE_BLOCK;
        for (size_t b = 0; b < nb && !prc; b++) {
            size_t bo = b * TERN_SPARSE_BLOCK;
            size_t bl = n - bo < TERN_SPARSE_BLOCK ? n - bo : TERN_SPARSE_BLOCK;
            if ((bm[b / 8] >> (b % 8)) & 1)
                prc = add_piece(&st->pc, raw + bo, bl);
        }
        w->zero += n - plan->nonzero_mask_bytes;
        break;
    }
    }
    return prc;
}

/* The cursor's chunk into round k: pulled (put_fn), encoded, queued.
 * Returns 0, 1 when it does not fit in this round any more, -1 on error. */
static int take_chunk(tern_ckpt_writer *w, rounds *st, unsigned k, tern_error *err)
{
    wseg *s = &w->segs[st->si];
    uint64_t off = st->ci * st->cb;
    size_t n = s->len - off < st->cb ? (size_t)(s->len - off) : st->cb;
    size_t need_stage = s->buf ? 0 : n;
    size_t need_enc = tern_sparse_bitmap_bytes(n) +
                      (w->opts.compress_level > 0 ? tern_deflate_bound(n) : 0);
    if (st->gi > st->first &&
        (st->stage_used + need_stage > st->cap || st->enc_used + need_enc > st->cap))
        return 1;
    const unsigned char *raw;
    if (s->buf) {
        raw = (const unsigned char *)s->buf + off;
    } else {
        unsigned char *dst = st->stage + st->stage_used;
        if (s->fill(s->ctx, off, dst, n, err)) {
            if (!err->msg[0])
                tern_error_set(err, EIO, "fill callback failed");
            return tern_error_prefix(err, "rank %d: segment '%s': ", w->rank, s->name);
        }
        st->stage_used += n;
        raw = dst;
    }
    unsigned char *bm = st->enc + st->enc_used;
    unsigned char *zout = bm + tern_sparse_bitmap_bytes(n);
    tern_chunk_plan plan;
    tern_chunk_encode(&st->cs, raw, n, w->opts.compress_level > 0 ? zout : NULL,
                      tern_deflate_bound(n), bm, &plan);
    chunk_rec *c = &w->chunks[st->gi];
    c->data = k;
    c->kind = (uint32_t)plan.kind;
    c->offset = st->bytes;
    c->raw = (uint32_t)n;
    c->stored = (uint32_t)plan.stored;
    st->crc_src[st->gi] = raw;
    if (queue_chunk(w, st, raw, n, bm, zout, &plan, c))
        return tern_error_set(err, ENOMEM, "rank %d: out of memory", w->rank);
    s->stored += plan.stored;
    st->bytes += plan.stored;
    st->ci++;
    st->gi++;
    return 0;
}

/* Fills round k with as many chunks as fit in the staging buffers. */
static int encode_round(tern_ckpt_writer *w, rounds *st, unsigned k, tern_error *err)
{
    st->stage_used = st->enc_used = 0;
    st->bytes = 0;
    st->first = st->gi;
    st->pc.n = 0;
    int rc = 0;
    while (!rc && st->si < w->nsegs) {
        if (st->ci >= w->segs[st->si].nchunks) {
            st->si++;
            st->ci = 0;
            tern_codec_reset(&st->cs);
            continue;
        }
        rc = take_chunk(w, st, k, err);
    }
    /* skip trailing exhausted segments so `more` is exact */
    while (st->si < w->nsegs && st->ci >= w->segs[st->si].nchunks) {
        st->si++;
        st->ci = 0;
    }
    return rc < 0 ? -1 : 0;
}

/* This rank's stored bytes of the round at offset off (its own writes),
 * their write-back started, then the round's CRCs while the disk works. */
static int write_round(tern_ckpt_writer *w, rounds *st, haddr_t off, double t[2], tern_error *err)
{
    int e = tern_w_injected(w, "data");
    if (!e && tern_w_pwritev(w->fd, st->pc.v, st->pc.n, (off_t)off))
        e = errno;
    t[0] = t[1] = tern_now_mono();
    if (e)
        return tern_error_set(err, e, "%s: rank %d: writing chunk data: %s", w->partial, w->rank,
                              strerror(e));
    if (off + st->bytes > w->max_end)
        w->max_end = off + st->bytes;
    /* start writeback now; the final fsync then finds less to do */
    if (tern_w_early_writeback())
        sync_file_range(w->fd, (off_t)off, (off_t)st->bytes, SYNC_FILE_RANGE_WRITE);
    t[1] = tern_now_mono();
    return 0;
}

/* Every rank's status, whether it has more, and its bytes of this round. */
static void exchange_round(tern_ckpt_writer *w, const round_info *mine, int *any_fail,
                           int *any_more)
{
    round_info *all = w->scratch;   /* sized for the largest record */
    if (!tern_w_serial(w)) {
        MPI_Request req;
        PMPI_Iallgather(mine, sizeof *mine, MPI_BYTE, all, sizeof *mine, MPI_BYTE, w->comm, &req);
        tern_w_wait(&req);
    } else {
        all[0] = *mine;
    }
    *any_fail = *any_more = 0;
    for (int r = 0; r < w->size; r++) {
        *any_fail |= all[r].fail;
        *any_more |= all[r].more;
    }
}

/* Round k after the exchange: data.K created, this rank's bytes written and
 * their CRCs computed, the round recorded. Returns this rank's status. */
static int finish_round(tern_ckpt_writer *w, rounds *st, unsigned k, const double t_enc[2],
                        tern_error *err)
{
    double t_ag = tern_now_mono(), t_wr[2];
    haddr_t my_off;
    int local_rc = create_round(w, k, w->scratch, &my_off, err);
    double t_cr = tern_now_mono();
    t_wr[0] = t_wr[1] = t_cr;
    if (!local_rc && st->bytes)
        local_rc = write_round(w, st, my_off, t_wr, err);
    if (!local_rc)
        for (uint64_t i = st->first; i < st->gi; i++)
            w->chunks[i].crc = tern_crc32(st->crc_src[i], w->chunks[i].raw);
    if (getenv("TERN_STORE_TRACE") && w->rank == 0)
        fprintf(stderr, "tern-store: round %u: encode %.4f allgather %.4f create %.4f "
                "write %.4f sfr %.4f crc %.4f (%zu pieces)\n", k, t_enc[1] - t_enc[0],
                t_ag - t_enc[1], t_cr - t_ag, t_wr[0] - t_cr, t_wr[1] - t_wr[0],
                tern_now_mono() - t_wr[1], st->pc.n);
    w->stored += st->bytes;
    uint64_t *rb = realloc(w->round_bytes, (k + 1) * sizeof *rb);
    if (rb) {
        rb[k] = st->bytes;
        w->round_bytes = rb;
    } else if (!local_rc) {
        local_rc = tern_error_set(err, ENOMEM, "rank %d: out of memory", w->rank);
    }
    w->rounds = k + 1;
    return local_rc;
}

int tern_w_write_data(tern_ckpt_writer *w, tern_error *err)
{
    rounds st;
    int local_rc = rounds_init(w, &st, err), rc = 0;
    for (unsigned k = 0;; k++) {
        double t_enc[2] = {tern_now_mono(), 0};
        if (!local_rc)
            local_rc = encode_round(w, &st, k, err);
        t_enc[1] = tern_now_mono();
        round_info mine = {local_rc != 0, st.si < w->nsegs, local_rc ? 0 : st.bytes};
        int any_fail, any_more;
        exchange_round(w, &mine, &any_fail, &any_more);
        if (any_fail) {
            w->err_early = local_rc != 0;
            rc = tern_w_agree(w, local_rc, err);
            w->agreed_fail = 1;
            break;
        }
        local_rc = finish_round(w, &st, k, t_enc, err);
        /* whatever failed here (a callback, a chunk write) is a root cause */
        w->err_early = local_rc != 0;
        if (!any_more) {
            rc = local_rc;    /* agreed on by the caller's next exchange */
            break;
        }
    }
    rounds_free(&st);
    return rc;
}
