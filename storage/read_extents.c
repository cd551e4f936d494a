/* Where a segment's bytes lie in the file (tern_ckpt_extents), for a reader
 * that maps them instead of copying them: page-aligned RAW chunks become FILE
 * extents, ZERO chunks ZERO extents, the rest is decoded and handed to the
 * sink. Every chunk's CRC is checked before anything is returned. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "reader_int.h"

int tern_ckpt_dup_fd(tern_ckpt *c)
{
    if (!c || c->fd < 0) {
        errno = EBADF;
        return -1;
    }
    return fcntl(c->fd, F_DUPFD_CLOEXEC, 0);
}

static int add_extent(tern_extent **v, uint64_t *n, uint64_t *cap, int kind, uint64_t off,
                      uint64_t len, uint64_t foff)
{
    if (*n) {
        tern_extent *p = &(*v)[*n - 1];
        if (p->kind == kind && p->offset + p->len == off &&
            (kind != TERN_EXTENT_FILE || p->file_offset + p->len == foff)) {
            p->len += len;
            return 0;
        }
    }
    if (*n == *cap) {
        uint64_t nc = *cap ? *cap * 2 : 64;
        tern_extent *nv = realloc(*v, nc * sizeof *nv);
        if (!nv)
            return -1;
        *v = nv;
        *cap = nc;
    }
    (*v)[(*n)++] = (tern_extent){off, len, kind == TERN_EXTENT_FILE ? foff : 0, kind, 0};
    return 0;
}

/* RAW chunks that tern_ckpt_extents hands out as file extents. Their CRCs
 * are computed where the bytes lie in the page cache, through read-only
 * windows of the file (64 MiB: a mapping per chunk costs more than the copy
 * it saves), else through a slice buffer that stays in the CPU cache;
 * nothing is copied out. A big segment is split between this thread and one
 * helper when there is a second CPU: the check is then about as fast as a
 * plain read of the file (TERN_STORE_CRC_THREADS=1 keeps it in one). */
enum { FC_OK = 0, FC_BAD = 1, FC_SHORT = 2 };

typedef struct file_chunk {
    uint64_t index, foff;
    uint32_t raw, crc;
    uint32_t got;             /* computed CRC */
    int32_t state;            /* FC_* */
} file_chunk;

typedef struct fc_job {
    int fd;
    file_chunk *v;
    uint64_t n;
    const file_chunk *bad;    /* first failing chunk of this job */
} fc_job;

static void *check_job(void *arg)
{
    enum { SLICE = 256 << 10, WINDOW = 64 << 20, WINDOW_ALIGN = 2 << 20 };
    fc_job *j = arg;
    struct stat st;
    uint64_t fsize = fstat(j->fd, &st) == 0 ? (uint64_t)st.st_size : 0;
    void *win = MAP_FAILED;
    uint64_t win_lo = 0, win_len = 0;
    int use_win = !getenv("TERN_STORE_NO_MMAP");
    unsigned char *slice = NULL;
    for (uint64_t i = 0; i < j->n && !j->bad; i++) {
        file_chunk *f = &j->v[i];
        if (f->foff > fsize || f->raw > fsize - f->foff) {
            f->state = FC_SHORT;
            j->bad = f;
            break;
        }
        if (win != MAP_FAILED && (f->foff < win_lo || f->foff + f->raw > win_lo + win_len)) {
            munmap(win, win_len);
            win = MAP_FAILED;
        }
        if (win == MAP_FAILED && use_win) {
            win_lo = f->foff & ~(uint64_t)(WINDOW_ALIGN - 1);
            win_len = WINDOW;
            if (win_len < f->foff + f->raw - win_lo)
                win_len = f->foff + f->raw - win_lo;
            if (win_lo + win_len > fsize)
                win_len = fsize - win_lo;
            win = mmap(NULL, win_len, PROT_READ, MAP_SHARED, j->fd, (off_t)win_lo);
            if (win == MAP_FAILED)
                use_win = 0;
        }
        uint32_t crc = 0;
        if (win != MAP_FAILED) {
            crc = tern_crc32((const unsigned char *)win + (f->foff - win_lo), f->raw);
        } else {
            if (!slice && !(slice = malloc(SLICE))) {
                f->state = FC_SHORT;
                j->bad = f;
                break;
            }
            for (uint64_t o = 0; o < f->raw;) {
                size_t n = f->raw - o < SLICE ? (size_t)(f->raw - o) : SLICE;
                ssize_t k = pread(j->fd, slice, n, (off_t)(f->foff + o));
                if (k <= 0) {
                    if (k < 0 && errno == EINTR)
                        continue;
                    f->state = FC_SHORT;
                    break;
                }
                crc = tern_crc32_update(crc, slice, (size_t)k);
                o += (uint64_t)k;
            }
        }
        if (f->state == FC_OK && crc != f->crc) {
            f->state = FC_BAD;
            f->got = crc;
        }
        if (f->state != FC_OK)
            j->bad = f;
    }
    if (win != MAP_FAILED)
        munmap(win, win_len);
    free(slice);
    return NULL;
}

static const file_chunk *check_file_chunks(int fd, file_chunk *v, uint64_t n)
{
    uint64_t total = 0;
    for (uint64_t i = 0; i < n; i++)
        total += v[i].raw;
    int threads = sysconf(_SC_NPROCESSORS_ONLN) > 1 ? 2 : 1;
    const char *e = getenv("TERN_STORE_CRC_THREADS");
    if (e && atoi(e) >= 1)
        threads = atoi(e) > 1 ? 2 : 1;
    fc_job jobs[2] = {{fd, v, n, NULL}, {fd, NULL, 0, NULL}};
    pthread_t th;
    int helper = 0;
    if (threads > 1 && total >= (32u << 20)) {
        /* the helper takes the second half of the bytes */
        uint64_t half = 0, m = 0;
        while (m < n && half + v[m].raw <= total / 2)
            half += v[m++].raw;
        jobs[0].n = m;
        jobs[1] = (fc_job){fd, v + m, n - m, NULL};
        helper = m < n && pthread_create(&th, NULL, check_job, &jobs[1]) == 0;
        if (!helper)
            jobs[0].n = n;
    }
    check_job(&jobs[0]);
    if (helper)
        pthread_join(th, NULL);
    return jobs[0].bad ? jobs[0].bad : jobs[1].bad;
}

/* One segment's extents being built, chunk by chunk. */
typedef struct ext_build {
    tern_r_decoder d;         /* its data.K open, and where it lies (data_hdr) */
    int fd;                   /* the checkpoint's descriptor, or -1 */
    uint64_t fsize;           /* its size */
    file_chunk *fc;           /* the FILE chunks, checked after the loop */
    uint64_t nfc, fc_cap;
    tern_extent **ext;
    uint64_t *next, cap;
} ext_build;

static int short_file(const ext_build *b, uint64_t i, tern_error *err)
{
    return tern_r_chunk_error(&b->d, i, EIO, err, "cannot read stored bytes (short file?)");
}

static int add(ext_build *b, int kind, uint64_t off, uint64_t len, uint64_t foff,
               tern_error *err)
{
    if (add_extent(b->ext, b->next, &b->cap, kind, off, len, foff))
        return tern_error_set(err, ENOMEM, "out of memory");
    return 0;
}

/* Opens the data.K chunk i lies in (when it has stored bytes) and checks
 * that they lie inside it; data.K lies inside the file (its header was
 * checked), so the chunk's file offset is there too. */
static int locate(ext_build *b, const chunk_rec *r, uint64_t i, tern_error *err)
{
    if (r->stored && tern_r_open_data(&b->d, i, r->data, err))
        return -1;
    if (r->stored && (r->offset > b->d.data_dim || r->stored > b->d.data_dim - r->offset))
        return short_file(b, i, err);
    return 0;
}

/* A RAW chunk that can be mapped: a FILE extent, its CRC checked after the
 * loop, all together (in two threads when it pays). */
static int take_file_chunk(ext_build *b, const chunk_rec *r, uint64_t i, uint64_t off,
                           uint64_t foff, tern_error *err)
{
    if (foff > b->fsize || r->raw > b->fsize - foff)
        return short_file(b, i, err);
    if (b->nfc == b->fc_cap) {
        uint64_t nc = b->fc_cap ? b->fc_cap * 2 : 64;
        file_chunk *nv = realloc(b->fc, nc * sizeof *nv);
        if (!nv)
            return tern_error_set(err, ENOMEM, "out of memory");
        b->fc = nv;
        b->fc_cap = nc;
    }
    b->fc[b->nfc++] = (file_chunk){i, foff, r->raw, r->crc, 0, 0};
    return add(b, TERN_EXTENT_FILE, off, r->raw, foff, err);
}

static int take_chunk(ext_build *b, const chunk_rec *r, uint64_t i, uint64_t off,
                      tern_sink_fn sink, void *ctx, tern_error *err)
{
    if (locate(b, r, i, err))
        return -1;
    uint64_t addr = r->stored ? b->d.data_hdr.addr : TERN_H5_UNDEF;
    uint64_t foff = addr != TERN_H5_UNDEF ? addr + r->offset : 0;
    int mappable = r->kind == TERN_CHUNK_RAW && b->fd >= 0 && addr != TERN_H5_UNDEF &&
                   r->raw % TERN_PAGE_ALIGN == 0 && off % TERN_PAGE_ALIGN == 0 &&
                   foff % TERN_PAGE_ALIGN == 0;
    if (mappable)
        return take_file_chunk(b, r, i, off, foff, err);
    if (r->kind == TERN_CHUNK_ZERO) {
        if (r->crc != tern_zero_crc32(r->raw))
            return tern_r_chunk_error(&b->d, i, EIO, err,
                                      "CRC mismatch (stored %08x, computed %08x)", r->crc,
                                      tern_zero_crc32(r->raw));
        return add(b, TERN_EXTENT_ZERO, off, r->raw, 0, err);
    }
    /* anything else: decoded, checked and handed to sink */
    if (tern_r_decode_chunk(&b->d, r, i, off, NULL, sink, ctx, err))
        return -1;
    return add(b, TERN_EXTENT_DATA, off, r->raw, 0, err);
}

/* The FILE chunks before the first failure (limit: its index, if any) are
 * checked now; the first bad chunk in segment order is the one reported. */
static int check_deferred(ext_build *b, uint64_t limit, int rc, tern_error *err)
{
    uint64_t nchk = 0;
    while (nchk < b->nfc && b->fc[nchk].index < limit)
        nchk++;
    const file_chunk *bad = nchk ? check_file_chunks(b->fd, b->fc, nchk) : NULL;
    if (!bad)
        return rc;
    if (bad->state == FC_SHORT)
        return short_file(b, bad->index, err);
    return tern_r_chunk_error(&b->d, bad->index, EIO, err,
                              "CRC mismatch (stored %08x, computed %08x)", bad->crc, bad->got);
}

static int tern_ckpt_extents_impl(tern_ckpt *c, int rank, const char *name, tern_sink_fn sink,
                                  void *ctx, tern_extent **ext, uint64_t *next, tern_error *err)
{
    *ext = NULL;
    *next = 0;
    rank_tables rt;
    const seg_rec *s;
    if (tern_r_open_seg(c, rank, name, &rt, &s, err))
        return -1;
    chunk_rec *ch = NULL;
    int rc = tern_r_read_chunk_index(c, &rt, rank, s, &ch, err);
    ext_build b = {.fd = c->fd, .ext = ext, .next = next};
    tern_r_decoder_init(&b.d, c, &rt, rank, s);
    struct stat fst;
    b.fsize = c->fd >= 0 && fstat(c->fd, &fst) == 0 ? (uint64_t)fst.st_size : 0;
    uint64_t off = 0, ch_fail = 0;
    for (uint64_t i = 0; rc == 0 && i < s->nchunks; i++) {
        const chunk_rec *r = &ch[i];
        ch_fail = i;   /* where the loop stopped, if it failed */
        if (tern_r_bad_chunk(c, r, i, s->nchunks))
            rc = tern_r_chunk_error(&b.d, i, EIO, err, "bad sizes in chunk index");
        else
            rc = take_chunk(&b, r, i, off, sink, ctx, err);
        off += r->raw;
    }
    rc = check_deferred(&b, rc ? ch_fail : UINT64_MAX, rc, err);
    free(b.fc);
    tern_r_decoder_free(&b.d);
    free(ch);
    tern_r_close_rank(&rt);
    if (rc) {
        free(*ext);
        *ext = NULL;
        *next = 0;
    }
    return rc;
}

int tern_ckpt_extents(tern_ckpt *c, int rank, const char *name, tern_sink_fn sink, void *ctx,
                      tern_extent **ext, uint64_t *next, tern_error *err)
{
    tern_error scratch;
    if (!err)
        err = &scratch;
    tern_h5_mute_t m = tern_h5_mute();
    return tern_h5_reader_done(m, tern_ckpt_extents_impl(c, rank, name, sink, ctx, ext, next, err));
}
