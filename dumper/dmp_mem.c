#define _GNU_SOURCE
#include "dmp_mem.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <unistd.h>

#define PM_PRESENT (1ULL << 63)
#define PM_SWAPPED (1ULL << 62)
#define PM_FILE (1ULL << 61)
#define SCAN_CHUNK (1UL << 20)

static int page_is_zero(const uint64_t *w)
{
    for (size_t i = 0; i < DMP_PAGE / 8; i += 8)
        if (w[i] | w[i + 1] | w[i + 2] | w[i + 3] | w[i + 4] | w[i + 5] | w[i + 6] | w[i + 7])
            return 0;
    return 1;
}

/* Zero check without copying every page: read the first 64 bytes of each
 * candidate page (1024 pages per process_vm_readv); only pages whose start
 * is zero are read whole. Random or ordinary data is decided by its first
 * bytes. On return flags[i] is 1 for candidate pages that are not zero.
 * Returns -1 if the region cannot be sampled this way (not readable). */
static int sample_nonzero(dmp_proc *p, uint64_t base, uint64_t *flags, uint64_t np,
                          uint64_t *page)
{
    enum { B = 1024, S = 64 };
    static uint64_t samples[B * S / 8];
    struct iovec local[B], remote[B];
    uint64_t idx[B];
    for (uint64_t i = 0; i < np;) {
        int k = 0;
        for (; i < np && k < B; i++)
            if (flags[i]) {
                idx[k] = i;
                local[k].iov_base = &samples[k * (S / 8)];
                local[k].iov_len = S;
                remote[k].iov_base = (void *)(base + i * DMP_PAGE);
                remote[k].iov_len = S;
                k++;
            }
        if (!k)
            break;
        ssize_t got = process_vm_readv(p->pid, local, (unsigned long)k, remote, (unsigned long)k, 0);
        if (got != (ssize_t)k * S)
            return -1;
        for (int j = 0; j < k; j++) {
            const uint64_t *w = &samples[j * (S / 8)];
            if (w[0] | w[1] | w[2] | w[3] | w[4] | w[5] | w[6] | w[7])
                continue;
            if (dmp_proc_read(p, base + idx[j] * DMP_PAGE, page, DMP_PAGE, NULL))
                return -1;
            flags[idx[j]] = !page_is_zero(page);
        }
    }
    return 0;
}

typedef struct runbuf {
    dmp_run *v;
    uint64_t n, cap;
} runbuf;

static int add_page(runbuf *rb, uint64_t first_run, uint64_t page)
{
    if (rb->n > first_run && rb->v[rb->n - 1].page + rb->v[rb->n - 1].npages == page) {
        rb->v[rb->n - 1].npages++;
        return 0;
    }
    if (rb->n == rb->cap) {
        uint64_t cap = rb->cap ? rb->cap * 2 : 256;
        dmp_run *v = realloc(rb->v, cap * sizeof *v);
        if (!v)
            return -1;
        rb->v = v;
        rb->cap = cap;
    }
    rb->v[rb->n].page = page;
    rb->v[rb->n].npages = 1;
    rb->n++;
    return 0;
}

/* One scan: the process, its pagemap, and the buffers for one chunk. */
typedef struct scan {
    dmp_proc *p;
    int pm;                /* /proc/PID/pagemap */
    char path[64];
    uint64_t *flags;       /* per page of the chunk: pagemap entry, then candidate */
    uint64_t *buf;         /* the chunk's bytes, when they are read whole */
    runbuf rb;
    uint64_t first_run;    /* the current region's first run in rb */
} scan;

static int oom(const scan *sc, tern_error *err)
{
    return tern_error_set(err, ENOMEM, "pid %d: out of memory", sc->p->pid);
}

/* Pages [a, a + np pages) of r that may go into the image: flags[i] = 1.
 * Returns how many, or -1. */
static int64_t chunk_candidates(scan *sc, const dmp_region *r, uint64_t a, uint64_t np,
                                tern_error *err)
{
    ssize_t got = pread(sc->pm, sc->flags, np * 8, (off_t)(a / DMP_PAGE * 8));
    if (got != (ssize_t)(np * 8))
        return tern_error_set(err, errno, "%s: reading flags of region 0x%llx: %s", sc->path,
                              (unsigned long long)r->start, strerror(errno));
    int is_file = r->kind == DMP_R_FILE;
    int gone_file = r->kind == DMP_R_ANON && r->path[0] == '/';
    int64_t n = 0;
    for (uint64_t i = 0; i < np; i++) {
        uint64_t f = sc->flags[i];
        int cand;
        if (gone_file)
            cand = 1;
        else if (is_file)   /* written: copied on write, no longer the file's page */
            cand = (f & PM_SWAPPED) || ((f & PM_PRESENT) && !(f & PM_FILE));
        else
            cand = (f & (PM_PRESENT | PM_SWAPPED)) != 0;
        sc->flags[i] = cand;
        n += cand;
    }
    return n;
}

/* The flagged pages lo..hi-1 of a chunk whose first page is page `first` of
 * its region, as runs. */
static int add_flagged(scan *sc, uint64_t first, uint64_t lo, uint64_t hi, tern_error *err)
{
    for (uint64_t i = lo; i < hi; i++)
        if (sc->flags[i] && add_page(&sc->rb, sc->first_run, first + i))
            return oom(sc, err);
    return 0;
}

/* Anonymous candidates that are not all zero: sampled where the region is
 * readable, else (or if sampling fails) read whole. */
static int chunk_nonzero(scan *sc, const dmp_region *r, uint64_t a, uint64_t np,
                         tern_error *err)
{
    uint64_t first = (a - r->start) / DMP_PAGE;
    if (r->prot & PROT_READ) {
        uint64_t keep[SCAN_CHUNK / DMP_PAGE];
        memcpy(keep, sc->flags, np * sizeof *sc->flags);
        if (sample_nonzero(sc->p, a, sc->flags, np, sc->buf) == 0)
            return add_flagged(sc, first, 0, np, err);
        memcpy(sc->flags, keep, np * sizeof *sc->flags);   /* fall back to reading all */
    }
    uint64_t lo = 0, hi = np;
    while (!sc->flags[lo])
        lo++;
    while (!sc->flags[hi - 1])
        hi--;
    if (dmp_proc_read(sc->p, a + lo * DMP_PAGE, sc->buf, (hi - lo) * DMP_PAGE, err))
        return tern_error_prefix(err, "region 0x%llx-0x%llx %s: ", (unsigned long long)r->start,
                                 (unsigned long long)r->end, r->path);
    for (uint64_t i = lo; i < hi; i++)
        if (sc->flags[i] && page_is_zero(sc->buf + (i - lo) * (DMP_PAGE / 8)))
            sc->flags[i] = 0;
    return add_flagged(sc, first, lo, hi, err);
}

/* Region r's runs, appended to sc->rb. */
static int scan_region(scan *sc, const dmp_region *r, tern_error *err)
{
    if (r->kind == DMP_R_FILE_SHARED || r->kind == DMP_R_EXTERNAL)
        return 0;   /* the file holds the data; external memory is not saved */
    for (uint64_t a = r->start; a < r->end; a += SCAN_CHUNK) {
        uint64_t len = r->end - a < SCAN_CHUNK ? r->end - a : SCAN_CHUNK;
        uint64_t np = len / DMP_PAGE;
        int64_t n = chunk_candidates(sc, r, a, np, err);
        if (n < 0)
            return -1;
        if (!n)
            continue;
        int rc = r->kind == DMP_R_FILE
                     ? add_flagged(sc, (a - r->start) / DMP_PAGE, 0, np, err)   /* zero or not */
                     : chunk_nonzero(sc, r, a, np, err);
        if (rc)
            return -1;
    }
    return 0;
}

int dmp_mem_scan(dmp_proc *p, dmp_state *s, tern_error *err)
{
    scan sc = {.p = p};
    snprintf(sc.path, sizeof sc.path, "/proc/%d/pagemap", p->pid);
    sc.pm = open(sc.path, O_RDONLY | O_CLOEXEC);
    if (sc.pm < 0)
        return tern_error_set(err, errno, "%s: %s", sc.path, strerror(errno));
    sc.flags = malloc((SCAN_CHUNK / DMP_PAGE) * sizeof *sc.flags);
    sc.buf = aligned_alloc(4096, SCAN_CHUNK);
    uint64_t data_off = 0;
    int rc = !sc.flags || !sc.buf ? oom(&sc, err) : 0;
    for (uint32_t ri = 0; !rc && ri < s->h.nregions; ri++) {
        dmp_region *r = &s->regions[ri];
        r->run0 = sc.rb.n;
        r->data_off = data_off;
        sc.first_run = sc.rb.n;
        rc = scan_region(&sc, r, err);
        r->nruns = (uint32_t)(sc.rb.n - sc.first_run);
        r->data_pages = 0;
        for (uint64_t i = sc.first_run; i < sc.rb.n; i++)
            r->data_pages += sc.rb.v[i].npages;
        data_off += r->data_pages * DMP_PAGE;
    }
    if (!rc) {
        s->runs = sc.rb.v;
        sc.rb.v = NULL;
        s->h.nruns = sc.rb.n;
        s->h.data_bytes = data_off;
    }
    free(sc.rb.v);
    free(sc.flags);
    free(sc.buf);
    close(sc.pm);
    return rc;
}

int dmp_mem_fill(void *vctx, uint64_t offset, void *dst, size_t n, tern_error *err)
{
    dmp_mem_ctx *c = vctx;
    const dmp_state *s = c->s;
    char *out = dst;
    while (n) {
        /* the store asks for consecutive pieces: move the cursor forward,
         * start over only if it asks for something behind it */
        if (c->region >= s->h.nregions || offset < c->run_off) {
            c->region = 0;
            c->run = 0;
            c->run_off = 0;
        }
        const dmp_region *r;
        const dmp_run *run = NULL;
        while (c->region < s->h.nregions) {
            r = &s->regions[c->region];
            if (c->run < r->nruns) {
                run = &s->runs[r->run0 + c->run];
                if (offset < c->run_off + run->npages * DMP_PAGE)
                    break;
                c->run_off += run->npages * DMP_PAGE;
                c->run++;
            } else {
                c->region++;
                c->run = 0;
            }
            run = NULL;
        }
        if (!run)
            return tern_error_set(err, EINVAL, "pid %d: page data offset %llu out of range",
                                  c->p->pid, (unsigned long long)offset);
        r = &s->regions[c->region];
        uint64_t rel = offset - c->run_off, rl = run->npages * DMP_PAGE;
        uint64_t take = rl - rel < n ? rl - rel : n;
        if (dmp_proc_read(c->p, r->start + run->page * DMP_PAGE + rel, out, take, err)) {
            tern_error_prefix(err, "region 0x%llx-0x%llx %s: ", (unsigned long long)r->start,
                              (unsigned long long)r->end, r->path);
            return -1;
        }
        out += take;
        offset += take;
        n -= take;
    }
    return 0;
}
