#define _GNU_SOURCE
#include "dmp_image.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* 100000 threads and a million regions, the most dmp_image_load takes, need
 * about 1 GiB of metadata. */
#define DMP_META_MAX (1ULL << 30)

/* meta layout: header | regions | runs | threads | fds | special[nspecial] | siginfo.
 * SIZE_MAX when the counts (read from an image: anything) overflow. */
static size_t meta_size(const dmp_header *h)
{
    const uint64_t part[][2] = {{1, sizeof *h}, {h->nregions, sizeof(dmp_region)},
                                {h->nruns, sizeof(dmp_run)}, {h->nthreads, sizeof(dmp_thread)},
                                {h->nfds, sizeof(dmp_fd)}, {h->nspecial, sizeof(dmp_special)},
                                {h->nsiginfo, 128}};
    uint64_t sum = 0, n;
    for (size_t i = 0; i < sizeof part / sizeof *part; i++)
        if (__builtin_mul_overflow(part[i][0], part[i][1], &n) ||
            __builtin_add_overflow(sum, n, &sum))
            return SIZE_MAX;
    return (size_t)sum;
}

/* Region segments see offsets from their own start; the callers' fill and
 * sink see offsets in all regions' data. */
typedef struct shift {
    tern_fill_fn fill;
    tern_sink_fn sink;
    void *ctx;
    uint64_t base;
} shift;

static int shift_fill(void *c, uint64_t off, void *dst, size_t n, tern_error *err)
{
    shift *sh = c;
    return sh->fill(sh->ctx, sh->base + off, dst, n, err);
}

static int shift_sink(void *c, uint64_t off, const void *src, size_t n, tern_error *err)
{
    shift *sh = c;
    return sh->sink(sh->ctx, sh->base + off, src, n, err);
}

static int writer_put(void *w, const char *name, const void *buf, size_t len, tern_error *err)
{
    return tern_ckpt_put(w, name, buf, len, err);
}

static int writer_put_fn(void *w, const char *name, uint64_t len, tern_fill_fn fill, void *ctx,
                         tern_error *err)
{
    return tern_ckpt_put_fn(w, name, len, fill, ctx, err);
}

int dmp_image_put(tern_ckpt_writer *w, const char *prefix, const dmp_state *s,
                  tern_fill_fn fill, void *ctx, void **keep, tern_error *err)
{
    const dmp_sink k = {w, writer_put, writer_put_fn};
    return dmp_image_put_sink(&k, prefix, s, fill, ctx, keep, err);
}

int dmp_image_put_sink(const dmp_sink *k, const char *prefix, const dmp_state *s,
                       tern_fill_fn fill, void *ctx, void **keep, tern_error *err)
{
    size_t len = meta_size(&s->h);
    size_t shifts = (s->h.nregions + 1) * sizeof(shift);
    char *b = malloc(shifts + len), *p = b + shifts;
    *keep = b;
    if (!b)
        return tern_error_set(err, ENOMEM, "image metadata: out of memory");
    shift *sh = (shift *)b;
    char *meta = p;
#define PUT(src, n)                 \
    do {                            \
        if ((n) != 0)               \
            memcpy(p, (src), (n));  \
        p += (n);                   \
    } while (0)
    PUT(&s->h, sizeof s->h);
    PUT(s->regions, s->h.nregions * sizeof(dmp_region));
    PUT(s->runs, s->h.nruns * sizeof(dmp_run));
    PUT(s->threads, s->h.nthreads * sizeof(dmp_thread));
    PUT(s->fds, s->h.nfds * sizeof(dmp_fd));
    PUT(s->special, s->h.nspecial * sizeof(dmp_special));
    PUT(s->siginfo, s->h.nsiginfo * 128);
#undef PUT
    char name[256];
    snprintf(name, sizeof name, "%s.meta", prefix);
    if (k->put(k->w, name, meta, len, err))
        return -1;
    for (uint32_t i = 0; i < s->h.nregions; i++) {
        const dmp_region *r = &s->regions[i];
        if (!r->data_pages)
            continue;
        sh[i] = (shift){fill, NULL, ctx, r->data_off};
        snprintf(name, sizeof name, "%s.pages.%u", prefix, i);
        if (k->put_fn(k->w, name, r->data_pages * DMP_PAGE, shift_fill, &sh[i], err))
            return -1;
    }
    return 0;
}

/* Region r's runs: in its table, in order, inside the region, adding up to
 * its data_pages. Every sum and product of numbers from the image is
 * overflow-checked: a run0 of 2^64 - nruns or a page of 2^64 - 1 must not
 * wrap around into the check's favour. */
static int check_runs(const dmp_state *s, const dmp_region *r)
{
    uint64_t end, pages = 0, next = 0, rpages = (r->end - r->start) / DMP_PAGE;
    if (r->run0 > s->h.nruns || r->nruns > s->h.nruns - r->run0)
        return -1;
    for (uint32_t k = 0; k < r->nruns; k++) {
        const dmp_run *run = &s->runs[r->run0 + k];
        if (!run->npages || run->page < next || __builtin_add_overflow(run->page, run->npages, &end) ||
            end > rpages)
            return -1;
        next = end;
        pages += run->npages;   /* at most rpages: the runs do not overlap */
    }
    return pages == r->data_pages ? 0 : -1;
}

/* Kinds this image's minor knows; an external region holds no pages and
 * names its index in the restore caller's list (bounded like the table). */
static int check_kind(const dmp_header *h, const dmp_region *r)
{
    if (r->kind >= DMP_R_ANON && r->kind <= DMP_R_FILE_SHARED)
        return 0;
    if (r->kind != DMP_R_EXTERNAL || h->minor < 1 || r->nruns || r->data_pages)
        return -1;
    return r->ext_index >= 0 && r->ext_index < (int64_t)h->nregions ? 0 : -1;
}

/* The cross-checks that keep a damaged image from steering the restorer:
 * regions in address order, their kinds, runs and data offsets, every
 * thread's XSAVE length and pending signals inside the siginfo table,
 * external indices bounded (restore wants an fd for each one it meets). */
static int check_tables(dmp_state *s)
{
    const dmp_header *h = &s->h;
    uint64_t off = 0, prev_end = 0, bytes;
    for (uint32_t i = 0; i < h->nregions; i++) {
        dmp_region *r = &s->regions[i];
        r->path[sizeof r->path - 1] = 0;
        if (r->end <= r->start || (r->start | r->end) % DMP_PAGE || r->start < prev_end ||
            r->data_off != off || check_kind(h, r) || check_runs(s, r))
            return -1;
        prev_end = r->end;
        if (__builtin_mul_overflow(r->data_pages, DMP_PAGE, &bytes) ||
            __builtin_add_overflow(off, bytes, &off))
            return -1;
    }
    if (off != h->data_bytes || h->shared_pending < 0 || (uint32_t)h->shared_pending > h->nsiginfo ||
        h->auxv_bytes > sizeof h->auxv)
        return -1;
    for (uint32_t i = 0; i < h->nthreads; i++) {
        dmp_thread *t = &s->threads[i];
        if (t->xsave_len > DMP_XSAVE_MAX || t->npending < 0 || t->pending0 > h->nsiginfo ||
            (uint64_t)t->npending > h->nsiginfo - t->pending0)
            return -1;
    }
    for (uint32_t i = 0; i < h->nfds; i++) {
        dmp_fd *f = &s->fds[i];
        f->path[DMP_PATH_MAX - 1] = 0;
        if (f->kind == DMP_FD_EXTERNAL &&
            (h->minor < 1 || f->ext_index < 0 || (uint32_t)f->ext_index >= h->nregions))
            return -1;
    }
    return 0;
}

int dmp_image_load(tern_ckpt *c, int rank, const char *prefix, dmp_state *s, tern_error *err)
{
    memset(s, 0, sizeof *s);
    tern_segment_info *segs = NULL;
    int nsegs = 0;
    char name[256];
    snprintf(name, sizeof name, "%s.meta", prefix);
    if (tern_ckpt_segments(c, rank, &segs, &nsegs, err))
        return -1;
    uint64_t size = 0;
    int found = 0;
    for (int i = 0; i < nsegs; i++)
        if (!strcmp(segs[i].name, name)) {
            size = segs[i].size;
            found = 1;
        }
    free(segs);
    if (!found)
        return tern_error_set(err, ENOENT, "segment %s: missing (not a process image)", name);
    if (size < sizeof(dmp_header))
        return tern_error_set(err, EINVAL, "segment %s: too short for a process image", name);
    if (size > DMP_META_MAX)   /* its size is the image's word too: read nothing bigger */
        return tern_error_set(err, EINVAL, "segment %s: %llu bytes, more than any process "
                              "image's metadata (corrupt image)", name, (unsigned long long)size);
    char *b = malloc(size);
    if (!b)
        return tern_error_set(err, ENOMEM, "segment %s: out of memory", name);
    if (tern_ckpt_read(c, rank, name, b, size, err)) {
        free(b);
        return -1;
    }
    memcpy(&s->h, b, sizeof s->h);
    const dmp_header *h = &s->h;
    if (h->magic != DMP_IMAGE_MAGIC || h->version != DMP_IMAGE_VERSION) {
        free(b);
        return tern_error_set(err, EINVAL, "segment %s: not a version %d process image",
                              name, DMP_IMAGE_VERSION);
    }
    /* 1.0 images have 0 there (it was padding); a newer minor may give
     * fields meanings this reader would get wrong */
    if (h->minor > DMP_IMAGE_MINOR) {
        free(b);
        return tern_error_set(err, EINVAL, "segment %s: process image version %d.%u is newer "
                              "than this tern reads (%d.%d)", name, DMP_IMAGE_VERSION, h->minor,
                              DMP_IMAGE_VERSION, DMP_IMAGE_MINOR);
    }
    if (h->nspecial > 4 || h->nthreads == 0 || h->nthreads > 100000 ||
        h->nregions > 1000000 || h->nfds > 1000000 || h->nsiginfo > 100000 ||
        meta_size(h) != size) {
        free(b);
        return tern_error_set(err, EINVAL, "segment %s: inconsistent counts (corrupt image)",
                              name);
    }
    const char *p = b + sizeof s->h;
    s->regions = calloc(h->nregions + 1, sizeof(dmp_region));
    s->runs = calloc(h->nruns + 1, sizeof(dmp_run));
    s->threads = aligned_alloc(64, (h->nthreads) * sizeof(dmp_thread));
    s->fds = calloc(h->nfds + 1, sizeof(dmp_fd));
    s->siginfo = calloc(h->nsiginfo + 1, 128);
    if (!s->regions || !s->runs || !s->threads || !s->fds || !s->siginfo) {
        free(b);
        dmp_state_free(s);
        return tern_error_set(err, ENOMEM, "segment %s: out of memory", name);
    }
#define GET(dst, n)                \
    do {                           \
        if ((n) != 0)              \
            memcpy((dst), p, (n)); \
        p += (n);                  \
    } while (0)
    GET(s->regions, h->nregions * sizeof(dmp_region));
    GET(s->runs, h->nruns * sizeof(dmp_run));
    GET(s->threads, h->nthreads * sizeof(dmp_thread));
    GET(s->fds, h->nfds * sizeof(dmp_fd));
    GET(s->special, h->nspecial * sizeof(dmp_special));
    GET(s->siginfo, h->nsiginfo * 128);
#undef GET
    free(b);
    if (check_tables(s)) {
        dmp_state_free(s);
        return tern_error_set(err, EINVAL, "segment %s: inconsistent region table (corrupt image)",
                              name);
    }
    return 0;
}

int dmp_image_region_pages(tern_ckpt *c, int rank, const char *prefix, const dmp_state *s,
                           uint32_t ri, tern_sink_fn sink, void *ctx, tern_error *err)
{
    char name[256];
    snprintf(name, sizeof name, "%s.pages.%u", prefix, ri);
    shift sh = {NULL, sink, ctx, s->regions[ri].data_off};
    return tern_ckpt_read_fn(c, rank, name, shift_sink, &sh, err);
}

int dmp_image_region_read(tern_ckpt *c, int rank, const char *prefix, const dmp_state *s,
                          uint32_t ri, void *dst, tern_error *err)
{
    char name[256];
    snprintf(name, sizeof name, "%s.pages.%u", prefix, ri);
    return tern_ckpt_read(c, rank, name, dst, s->regions[ri].data_pages * DMP_PAGE, err);
}

int dmp_image_pages(tern_ckpt *c, int rank, const char *prefix, const dmp_state *s,
                    tern_sink_fn sink, void *ctx, tern_error *err)
{
    for (uint32_t i = 0; i < s->h.nregions; i++)
        if (s->regions[i].data_pages &&
            dmp_image_region_pages(c, rank, prefix, s, i, sink, ctx, err))
            return -1;
    return 0;
}

int dmp_image_region_extents(tern_ckpt *c, int rank, const char *prefix, const dmp_state *s,
                             uint32_t ri, tern_sink_fn sink, void *ctx, tern_extent **ext,
                             uint64_t *next, tern_error *err)
{
    char name[256];
    snprintf(name, sizeof name, "%s.pages.%u", prefix, ri);
    shift sh = {NULL, sink, ctx, s->regions[ri].data_off};
    return tern_ckpt_extents(c, rank, name, shift_sink, &sh, ext, next, err);
}

int dmp_image_verify_pages(tern_ckpt *c, int rank, const char *prefix, const dmp_state *s,
                           tern_error *err)
{
    for (uint32_t i = 0; i < s->h.nregions; i++) {
        if (!s->regions[i].data_pages)
            continue;
        char name[256];
        snprintf(name, sizeof name, "%s.pages.%u", prefix, i);
        tern_extent *ext = NULL;
        uint64_t n = 0;
        /* no sink: every chunk is decoded or read where it lies and its
         * CRC checked, nothing is kept */
        int rc = tern_ckpt_extents(c, rank, name, NULL, NULL, &ext, &n, err);
        free(ext);
        if (rc)
            return -1;
    }
    return 0;
}
