#define _GNU_SOURCE
#include "dmp_restore.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/rseq.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <cpuid.h>
#include <time.h>
#include <pthread.h>
#include <stdint.h>

#include "dmp_capture.h"
#include "dmp_fds.h"
#include "dmp_image.h"
#include "restorer/rst_args.h"

extern const unsigned char tern_rst_blob[];
extern const unsigned long tern_rst_blob_len;

#define PAGE DMP_PAGE
#define RUP(x, a) (((x) + (a)-1) & ~((uint64_t)(a)-1))
#define THREAD_STACK (32 * 1024)
#define NFS_MAGIC 0x6969

static double mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static uint32_t cpu_xsave_size(void)
{
    unsigned a, b, c, d;
    if (!__get_cpuid_count(0xd, 0, &a, &b, &c, &d))
        return 0;
    return b;   /* bytes needed for the features enabled in XCR0 */
}

static uint64_t xcr0(void)
{
    uint32_t lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return ((uint64_t)hi << 32) | lo;
}

/* The xstate features a signal frame of this process may carry: those XCR0
 * enables, less the dynamic ones (AMX tile data) the process has no
 * permission for. XCR0 enables AMX on CPUs that have it, but the kernel
 * sizes a task's signal frames by its permissions; a frame whose xstate_size
 * is larger than that is not an error to sigreturn: it silently restores the
 * legacy FXSAVE part only, so the AVX and AVX-512 upper halves came back as
 * zeros on such CPUs. */
static uint64_t frame_features(void)
{
    uint64_t perm = 0;
    if (syscall(SYS_arch_prctl, 0x1022 /* ARCH_GET_XCOMP_PERM */, &perm) < 0)
        perm = ~0ULL;   /* kernel before 5.16: no dynamic features */
    return xcr0() & perm;
}

/* Bytes of standard-format XSAVE area that hold FEATURES (at least the
 * legacy area and the header). */
static uint32_t frame_xstate_size(uint64_t features)
{
    uint32_t size = 576;
    for (unsigned f = 2; f < 63; f++) {
        unsigned a, b, c, d;
        if (!(features >> f & 1) || !__get_cpuid_count(0xd, f, &a, &b, &c, &d))
            continue;
        if (b + a > size)
            size = b + a;
    }
    return size;
}

int dmp_restore_check(const dmp_state *s, tern_error *err)
{
    /* The image's code holds pointers into the vdso and its data page
     * offsets: same pieces, same sizes, same distances, same text. */
    dmp_special cur[4];
    uint32_t crc;
    if (dmp_special_read(0, cur, &crc, err))
        return -1;
    for (uint32_t i = 0; i < 4; i++) {
        const dmp_special *a = i < s->h.nspecial ? &s->special[i] : NULL;
        const dmp_special *b = cur[i].name[0] ? &cur[i] : NULL;
        if (!a && !b)
            break;
        if (!a || !b || strcmp(a->name, b->name) || a->end - a->start != b->end - b->start ||
            a->start - s->special[0].start != b->start - cur[0].start)
            return tern_error_set(err, EXDEV, "vdso layout of the image (kernel %s: %s %llu "
                                  "bytes) differs from this kernel's (%s %llu bytes); the "
                                  "image comes from another kernel", s->h.kernel,
                                  a ? a->name : "none",
                                  a ? (unsigned long long)(a->end - a->start) : 0ULL,
                                  b ? b->name : "none",
                                  b ? (unsigned long long)(b->end - b->start) : 0ULL);
    }
    if (crc != s->h.vdso_crc)
        return tern_error_set(err, EXDEV, "the [vdso] code of the image (kernel %s) differs "
                              "from this kernel's; the image comes from another kernel",
                              s->h.kernel);
    uint32_t xs = cpu_xsave_size();
    for (uint32_t i = 0; i < s->h.nthreads; i++)
        if (s->threads[i].xsave_len > xs || s->threads[i].xsave_len < 576)
            return tern_error_set(err, EXDEV, "thread %d: XSAVE area of %u bytes does not fit "
                                  "this CPU's %u bytes (image from another CPU?)",
                                  s->threads[i].tid, s->threads[i].xsave_len, xs);
    uint64_t xf = frame_features();
    for (uint32_t i = 0; i < s->h.nthreads; i++) {
        uint64_t bv;
        memcpy(&bv, s->threads[i].xsave + 512, 8);
        if (bv & ~xf)
            return tern_error_set(err, EXDEV, "thread %d: registers in XSAVE features 0x%llx "
                                  "(AMX tiles?) that a restored process cannot be given",
                                  s->threads[i].tid, (unsigned long long)(bv & ~xf));
    }
    for (uint32_t i = 0; i < s->h.nregions; i++) {
        const dmp_region *r = &s->regions[i];
        if (r->kind != DMP_R_FILE && r->kind != DMP_R_FILE_SHARED)
            continue;
        struct stat st;
        if (stat(r->path, &st) < 0)
            return tern_error_set(err, errno, "%s (mapped at 0x%llx): %s", r->path,
                                  (unsigned long long)r->start, strerror(errno));
        if (st.st_ino != r->inode || (uint64_t)st.st_size != r->fsize ||
            st.st_mtim.tv_sec != r->mtime_sec || st.st_mtim.tv_nsec != r->mtime_nsec)
            return tern_error_set(err, ESTALE, "%s (mapped at 0x%llx) changed since the dump "
                                  "(%s differs); the image cannot be restored", r->path,
                                  (unsigned long long)r->start,
                                  st.st_ino != r->inode ? "inode" :
                                  (uint64_t)st.st_size != r->fsize ? "size" : "mtime");
    }
    return dmp_fds_check(s, err);
}

/* Page data goes straight to its final address for regions tern restore
 * could map there already (placed), into the memfd for the others. */
typedef struct sink_ctx {
    int fd;
    const dmp_state *s;
    const char *placed;
    uint32_t region;
} sink_ctx;

static int to_memfd(int fd, const char *p, size_t n, uint64_t off, tern_error *err)
{
    while (n) {
        ssize_t w = pwrite(fd, p, n, (off_t)off);
        if (w <= 0)
            return tern_error_set(err, errno, "page data: writing memfd: %s", strerror(errno));
        p += w;
        off += (uint64_t)w;
        n -= (size_t)w;
    }
    return 0;
}

static int page_sink(void *vctx, uint64_t off, const void *src, size_t n, tern_error *err)
{
    sink_ctx *c = vctx;
    const dmp_state *s = c->s;
    const char *p = src;
    while (n) {
        uint32_t ri = c->region < s->h.nregions && off >= s->regions[c->region].data_off
                          ? c->region : 0;
        while (ri < s->h.nregions &&
               off >= s->regions[ri].data_off + s->regions[ri].data_pages * PAGE)
            ri++;
        if (ri >= s->h.nregions)
            return tern_error_set(err, EINVAL, "page data: offset %llu beyond the regions",
                                  (unsigned long long)off);
        c->region = ri;
        const dmp_region *r = &s->regions[ri];
        uint64_t rend = r->data_off + r->data_pages * PAGE;
        size_t take = rend - off < n ? (size_t)(rend - off) : n;
        if (!c->placed[ri]) {
            if (to_memfd(c->fd, p, take, off, err))
                return -1;
        } else {
            uint64_t rel = off - r->data_off, done = 0;
            for (uint32_t k = 0; k < r->nruns && done < take; k++) {
                const dmp_run *run = &s->runs[r->run0 + k];
                uint64_t rl = run->npages * PAGE;
                if (rel >= rl) {
                    rel -= rl;
                    continue;
                }
                uint64_t t = rl - rel < take - done ? rl - rel : take - done;
                memcpy((char *)(r->start + run->page * PAGE + rel), p + done, t);
                done += t;
                rel = 0;
            }
        }
        p += take;
        off += take;
        n -= take;
    }
    return 0;
}

/* Lazy restore: the pages of a region that lie as they are in the image
 * file (RAW chunks, page aligned) are mapped MAP_PRIVATE from it instead of
 * copied. These are the pieces, in image addresses. */
typedef struct fmap {
    uint32_t region;
    struct rst_filemap m;
} fmap;

typedef struct fmaps {
    fmap *v;
    uint64_t n, cap;
    uint64_t bytes;
} fmaps;

/* Turns the FILE extents of region ri (offsets in its segment, i.e. in the
 * concatenation of its runs) into address ranges, split at run ends. */
static int extents_to_maps(const dmp_state *s, uint32_t ri, const tern_extent *e, uint64_t ne,
                           fmaps *out)
{
    const dmp_region *r = &s->regions[ri];
    for (uint64_t k = 0; k < ne; k++) {
        if (e[k].kind != TERN_EXTENT_FILE)
            continue;
        uint64_t lo = e[k].offset, hi = e[k].offset + e[k].len, run_lo = 0;
        for (uint32_t j = 0; j < r->nruns && lo < hi; j++) {
            const dmp_run *run = &s->runs[r->run0 + j];
            uint64_t run_hi = run_lo + run->npages * PAGE;
            if (lo < run_hi) {
                uint64_t end = hi < run_hi ? hi : run_hi;
                if (out->n == out->cap) {
                    uint64_t nc = out->cap ? out->cap * 2 : 64;
                    fmap *nv = realloc(out->v, nc * sizeof *nv);
                    if (!nv)
                        return -1;
                    out->v = nv;
                    out->cap = nc;
                }
                fmap *f = &out->v[out->n++];
                f->region = ri;
                f->m.addr = r->start + run->page * PAGE + (lo - run_lo);
                f->m.len = end - lo;
                f->m.foff = e[k].file_offset + (lo - e[k].offset);
                out->bytes += f->m.len;
                lo = end;
            }
            run_lo = run_hi;
        }
    }
    return 0;
}

/* TERN_RESTORE_LAZY=0: copy every page, as before format 1.1. */
static int lazy_wanted(void)
{
    const char *e = getenv("TERN_RESTORE_LAZY");
    return !(e && !strcmp(e, "0"));
}

/* Cold image: keep the disk busy ahead of the store's chunk reads. */
static void *readahead_thread(void *arg)
{
    int fd = (int)(intptr_t)arg;
    struct stat st;
    if (fstat(fd, &st) == 0)
        for (off_t o = 0; o < st.st_size; o += 32 << 20)
            posix_fadvise(fd, o, 32 << 20, POSIX_FADV_WILLNEED);
    return NULL;
}

static int cmp_range(const void *x, const void *y)
{
    const struct rst_range *a = x, *b = y;
    return a->start < b->start ? -1 : a->start > b->start;
}

static int overlaps(uint64_t a, uint64_t b, const dmp_state *s)
{
    const uint64_t guard = 1 << 20;
    for (uint32_t i = 0; i < s->h.nregions; i++)
        if (a < s->regions[i].end + guard && s->regions[i].start < b + guard)
            return 1;
    for (uint32_t i = 0; i < s->h.nspecial; i++)
        if (a < s->special[i].end + guard && s->special[i].start < b + guard)
            return 1;
    return 0;
}

/* Somewhere free both here and in the image. */
static void *place_blob(const dmp_state *s, uint64_t len, tern_error *err)
{
    void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p != MAP_FAILED && !overlaps((uint64_t)p, (uint64_t)p + len, s))
        return p;
    if (p != MAP_FAILED)
        munmap(p, len);
    for (uint64_t cand = 0x100000000ULL; cand < 0x7f0000000000ULL; cand += 0x40000000ULL) {
        if (overlaps(cand, cand + len, s))
            continue;
        p = mmap((void *)cand, len, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
        if (p == (void *)cand)
            return p;
        if (p != MAP_FAILED)
            munmap(p, len);
    }
    tern_error_set(err, ENOMEM, "no room for the restorer beside the image");
    return NULL;
}

typedef struct bump {
    char *base;
    uint64_t off, cap;
} bump;

static void *take(bump *b, uint64_t n, uint64_t align)
{
    b->off = RUP(b->off, align);
    void *p = b->base + b->off;
    b->off += n;
    return b->off <= b->cap ? p : NULL;
}

static int single_threaded(void)
{
    DIR *d = opendir("/proc/self/task");
    int n = 0;
    struct dirent *de;
    while (d && (de = readdir(d)))
        n += de->d_name[0] != '.';
    if (d)
        closedir(d);
    return n == 1;
}

static void fill_frame(struct rst_ucontext *uc, uint8_t *xs, const dmp_thread *t, uint64_t xf)
{
    const dmp_regs *r = &t->regs;
    memset(uc, 0, sizeof *uc);
    uc->uc_flags = 1 | 2 | 4;   /* UC_FP_XSTATE | UC_SIGCONTEXT_SS | UC_STRICT_RESTORE_SS */
    uc->ss_sp = t->ss_sp;
    uc->ss_flags = t->ss_flags;
    uc->ss_size = t->ss_size;
    struct rst_sigcontext *m = &uc->mc;
    m->r8 = r->r8; m->r9 = r->r9; m->r10 = r->r10; m->r11 = r->r11;
    m->r12 = r->r12; m->r13 = r->r13; m->r14 = r->r14; m->r15 = r->r15;
    m->rdi = r->rdi; m->rsi = r->rsi; m->rbp = r->rbp; m->rbx = r->rbx;
    m->rdx = r->rdx; m->rax = r->rax; m->rcx = r->rcx; m->rsp = r->rsp;
    m->rip = r->rip; m->eflags = r->eflags;
    m->cs = 0x33;
    m->ss = 0x2b;
    m->fpstate = (uint64_t)xs;
    uc->uc_sigmask = t->sigmask;
    /* only the part of the dump's area that this process's frames carry;
     * dmp_restore_check refused images whose state lies beyond it */
    uint32_t len = frame_xstate_size(xf);
    if (len > t->xsave_len)
        len = t->xsave_len;
    memcpy(xs, t->xsave, len);
    uint64_t bv;                        /* XSAVE header: XSTATE_BV */
    memcpy(&bv, xs + 512, 8);
    bv &= xf;
    memcpy(xs + 512, &bv, 8);
    /* the software bytes sigreturn wants in the FXSAVE area's tail */
    uint32_t *sw = (uint32_t *)(xs + 464);
    sw[0] = 0x46505853;                 /* FP_XSTATE_MAGIC1 */
    sw[1] = len + 4;                    /* extended_size */
    memcpy(&sw[2], &xf, 8);             /* xfeatures */
    sw[4] = len;                        /* xstate_size */
    uint32_t m2 = 0x46505845;           /* FP_XSTATE_MAGIC2 */
    memcpy(xs + len, &m2, 4);
}

static int move_high(int fd, int floor)
{
    int n = fcntl(fd, F_DUPFD_CLOEXEC, floor);
    if (n >= 0)
        close(fd);
    return n;
}

int dmp_restore(tern_ckpt *c, int rank, const char *prefix, tern_error *err)
{
    dmp_state s;
    double t_start = mono();
    if (dmp_image_load(c, rank, prefix, &s, err))
        return -1;
    int memfd = -1, errfd = -1, imgfd = -1, nfiles = 0, rc = -1;
    fmaps fm = {0};
    char *placed = NULL;
    int *files = NULL;
    void *blob = MAP_FAILED;
    uint64_t blob_len = 0;
    if (dmp_restore_check(&s, err))
        goto fail;
    if (!single_threaded()) {
        tern_error_set(err, EBUSY, "tern restore must be single-threaded to restore");
        goto fail;
    }

    /* page data into a memfd that the blob maps or copies from */
    memfd = memfd_create("tern-image", MFD_CLOEXEC);
    if (memfd < 0 || ftruncate(memfd, (off_t)s.h.data_bytes) < 0) {
        tern_error_set(err, errno, "page data: memfd: %s", strerror(errno));
        goto fail;
    }
    /* big anonymous regions that are free here are filled in place */
    placed = calloc(s.h.nregions + 1, 1);
    if (!placed) {
        tern_error_set(err, ENOMEM, "out of memory");
        goto fail;
    }
    for (uint32_t i = 0; i < s.h.nregions; i++) {
        const dmp_region *r = &s.regions[i];
        if (r->kind != DMP_R_ANON || r->data_pages < 256 || (r->flags & DMP_F_STACK))
            continue;
        void *want = (void *)r->start;
        void *got = mmap(want, r->end - r->start, PROT_READ | PROT_WRITE,
                         MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
        if (got == want)
            placed[i] = 1;
        else if (got != MAP_FAILED)
            munmap(got, r->end - r->start);
    }
    pthread_t ra;
    int ra_fd = open(tern_ckpt_get_info(c)->path, O_RDONLY | O_CLOEXEC), ra_ok = 0;
    if (ra_fd >= 0)
        ra_ok = pthread_create(&ra, NULL, readahead_thread, (void *)(intptr_t)ra_fd) == 0;
    sink_ctx sc = {memfd, &s, placed, 0};
    double t_pages = mono();
    int prc = 0;
    if (lazy_wanted())
        imgfd = tern_ckpt_dup_fd(c);   /* the inode the store checks */
    struct statfs sfs;
    if (imgfd >= 0 && fstatfs(imgfd, &sfs) == 0 && sfs.f_type == NFS_MAGIC) {
        /* NFS does not keep a file that another client deletes readable
         * for the processes mapping it here (tern prunes old checkpoints):
         * copy the pages instead */
        close(imgfd);
        imgfd = -1;
    }
    for (uint32_t i = 0; i < s.h.nregions && !prc; i++) {
        const dmp_region *r = &s.regions[i];
        if (!r->data_pages)
            continue;
        /* Big anonymous data regions (placed, or mapped from the memfd by
         * the blob) take their RAW pages straight from the image file. Not
         * the stack (MAP_GROWSDOWN must stay one anonymous mapping) and not
         * executable regions (the image may sit on a noexec mount). */
        if (imgfd >= 0 && r->kind == DMP_R_ANON && r->data_pages >= 256 &&
            !(r->flags & DMP_F_STACK) && !(r->prot & PROT_EXEC)) {
            tern_extent *ext = NULL;
            uint64_t ne = 0, first = fm.n;
            prc = dmp_image_region_extents(c, rank, prefix, &s, i, page_sink, &sc, &ext, &ne, err);
            if (!prc && extents_to_maps(&s, i, ext, ne, &fm))
                prc = tern_error_set(err, ENOMEM, "out of memory");
            free(ext);
            for (uint64_t k = first; !prc && placed[i] && k < fm.n; k++) {
                void *want = (void *)fm.v[k].m.addr;
                if (mmap(want, fm.v[k].m.len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_FIXED,
                         imgfd, (off_t)fm.v[k].m.foff) != want)
                    prc = tern_error_set(err, errno, "page data: mapping the image at 0x%llx: %s",
                                         (unsigned long long)fm.v[k].m.addr, strerror(errno));
            }
            continue;
        }
        if (placed[i] && r->nruns == 1)   /* the store decodes straight into place */
            prc = dmp_image_region_read(c, rank, prefix, &s, i,
                                        (char *)(r->start + s.runs[r->run0].page * PAGE), err);
        else
            prc = dmp_image_region_pages(c, rank, prefix, &s, i, page_sink, &sc, err);
    }
    double t_pages_done = mono();
    if (ra_ok)
        pthread_join(ra, NULL);
    if (ra_fd >= 0)
        close(ra_fd);
    if (prc)
        goto fail;

    int floor = dmp_fds_max(&s) + 1;
    if (floor < 64)
        floor = 64;
    if (imgfd >= 0 && !fm.n) {   /* nothing mapped from it: not needed */
        close(imgfd);
        imgfd = -1;
    }
    if ((memfd = move_high(memfd, floor)) < 0 ||
        (imgfd >= 0 && (imgfd = move_high(imgfd, floor)) < 0) ||
        (errfd = fcntl(2, F_DUPFD_CLOEXEC, floor)) < 0) {
        tern_error_set(err, errno, "fd shuffle: %s", strerror(errno));
        goto fail;
    }
    /* one fd per mapped file */
    int *region_fd = calloc(s.h.nregions + 1, sizeof *region_fd);
    files = calloc(s.h.nregions + 3, sizeof *files);
    if (!region_fd || !files) {
        free(region_fd);
        tern_error_set(err, ENOMEM, "out of memory");
        goto fail;
    }
    if (imgfd >= 0) {   /* closed by the blob with the mapped files */
        files[nfiles++] = imgfd;
        imgfd = -1;
    }
    int img_at = nfiles - 1;
    for (uint32_t i = 0; i < s.h.nregions; i++) {
        const dmp_region *r = &s.regions[i];
        region_fd[i] = -1;
        if (r->kind != DMP_R_FILE && r->kind != DMP_R_FILE_SHARED)
            continue;
        int want_rw = r->kind == DMP_R_FILE_SHARED && (r->prot & PROT_WRITE);
        for (uint32_t j = 0; j < i; j++)
            if (region_fd[j] >= 0 && !strcmp(s.regions[j].path, r->path) &&
                (s.regions[j].kind == DMP_R_FILE_SHARED && (s.regions[j].prot & PROT_WRITE)) ==
                    want_rw)
                region_fd[i] = region_fd[j];
        if (region_fd[i] >= 0)
            continue;
        int fd = open(r->path, (want_rw ? O_RDWR : O_RDONLY) | O_CLOEXEC);
        if (fd < 0 || (fd = move_high(fd, floor)) < 0) {
            free(region_fd);
            tern_error_set(err, errno, "%s: %s", r->path, strerror(errno));
            goto fail;
        }
        region_fd[i] = files[nfiles++] = fd;
    }

    /* size the blob */
    uint64_t code_len = RUP(tern_rst_blob_len, PAGE);
    uint64_t frame_sz = RUP(8 + sizeof(struct rst_ucontext) + 128, 64) + RUP(DMP_XSAVE_MAX + 64, 64);
    uint64_t args_len = sizeof(struct rst_args) + s.h.nregions * (sizeof(struct rst_map) + 32) +
                        s.h.nruns * sizeof(struct rst_run) +
                        s.h.nthreads * (sizeof(struct rst_thread) + frame_sz + 64) +
                        fm.n * sizeof(struct rst_filemap) + s.h.nregions * 8 +
                        s.h.nsiginfo * 128 + (nfiles + 1) * sizeof(int) + 4096;
    args_len = RUP(args_len, PAGE);
    uint64_t stacks_len = (uint64_t)s.h.nthreads * THREAD_STACK;
    uint64_t scratch_len = 0;
    for (uint32_t i = 0; i < s.h.nspecial; i++)
        scratch_len += s.special[i].end - s.special[i].start + PAGE;
    blob_len = PAGE + code_len + args_len + stacks_len + scratch_len;
    blob = place_blob(&s, blob_len, err);
    if (!blob) {
        blob = MAP_FAILED;
        free(region_fd);
        goto fail;
    }
    char *B = blob;
    struct rst_hdr *hdr = blob;
    memcpy(hdr->magic, RST_MAGIC, RST_MAGIC_LEN);
    hdr->total_len = blob_len;
    memcpy(B + PAGE, tern_rst_blob, tern_rst_blob_len);
    bump bp = {B + PAGE + code_len, 0, args_len};
    struct rst_args *a = take(&bp, sizeof *a, 64);
    memset(a, 0, sizeof *a);
    a->blob_start = (uint64_t)blob;
    /* includes the vdso scratch at the top: the pieces wait there while
     * everything outside the reservation is unmapped */
    a->blob_len = blob_len;
    a->memfd = memfd;
    a->errfd = errfd;
    a->imgfd = img_at >= 0 ? files[img_at] : -1;
    if (a->imgfd >= 0) {
        struct stat ist;
        if (fstat(a->imgfd, &ist) == 0) {
            hdr->img_dev = ist.st_dev;
            hdr->img_ino = ist.st_ino;
        }
    }

    a->maps = take(&bp, s.h.nregions * sizeof *a->maps, 8);
    a->nmaps = s.h.nregions;
    for (uint32_t i = 0; i < s.h.nregions; i++) {
        const dmp_region *r = &s.regions[i];
        struct rst_map *m = &a->maps[i];
        memset(m, 0, sizeof *m);
        m->start = r->start;
        m->len = r->end - r->start;
        m->foff = r->foff;
        m->data_off = r->data_off;
        m->prot = r->prot;
        m->fd = region_fd[i];
        m->nruns = r->nruns;
        m->runs = take(&bp, r->nruns * sizeof(struct rst_run) + 1, 8);
        memcpy(m->runs, &s.runs[r->run0], r->nruns * sizeof(struct rst_run));
        if (!placed[i]) {   /* placed regions were mapped from the image already */
            uint64_t k0 = 0;
            while (k0 < fm.n && fm.v[k0].region != i)
                k0++;
            uint64_t k1 = k0;
            while (k1 < fm.n && fm.v[k1].region == i)
                k1++;
            m->nfile = (uint32_t)(k1 - k0);
            m->file = take(&bp, m->nfile * sizeof(struct rst_filemap) + 8, 8);
            if (!m->file) {
                free(region_fd);
                tern_error_set(err, ENOMEM, "restorer arguments overflow");
                goto fail;
            }
            for (uint64_t k = k0; k < k1; k++)
                m->file[k - k0] = fm.v[k].m;
        }
        if (placed[i])
            m->kind = RST_ANON_PLACED;
        else if (r->kind == DMP_R_FILE)
            m->kind = RST_FILE_PRIVATE;
        else if (r->kind == DMP_R_FILE_SHARED)
            m->kind = RST_FILE_SHARED;
        else if (r->data_pages >= 256 && !(r->flags & DMP_F_STACK))
            m->kind = RST_ANON_MEMFD;
        else
            m->kind = RST_ANON_COPY;
        if (r->flags & DMP_F_STACK)
            m->extra_flags = MAP_GROWSDOWN;
        if (m->nfile && m->kind != RST_ANON_MEMFD) {   /* only that kind maps them */
            free(region_fd);
            tern_error_set(err, EINVAL, "region 0x%llx: image pages for a region of kind %d",
                           (unsigned long long)m->start, m->kind);
            goto fail;
        }
    }
    free(region_fd);
    int nplaced = 0;
    for (uint32_t i = 0; i < s.h.nregions; i++)
        nplaced += placed[i];
    a->keep = take(&bp, (nplaced + 1) * sizeof *a->keep, 8);
    a->keep[a->nkeep].start = (uint64_t)blob;
    a->keep[a->nkeep++].end = (uint64_t)blob + blob_len;
    for (uint32_t i = 0; i < s.h.nregions; i++)
        if (placed[i]) {
            a->keep[a->nkeep].start = s.regions[i].start;
            a->keep[a->nkeep++].end = s.regions[i].end;
        }
    qsort(a->keep, a->nkeep, sizeof *a->keep, cmp_range);
    a->close_fds = take(&bp, (nfiles + 1) * sizeof(int), 8);
    memcpy(a->close_fds, files, nfiles * sizeof(int));
    a->nclose = nfiles;

    if (__rseq_size) {
        a->own_rseq_ptr = (uint64_t)((char *)__builtin_thread_pointer() + __rseq_offset);
        a->own_rseq_len = __rseq_size < 32 ? 32 : __rseq_size;
        a->own_rseq_sig = RSEQ_SIG;
    }

    dmp_special cur[4];
    uint32_t crc;
    if (dmp_special_read(0, cur, &crc, err))
        goto fail;
    uint64_t scr = (uint64_t)blob + blob_len - scratch_len;
    for (uint32_t i = 0; i < s.h.nspecial; i++) {
        struct rst_vdso_move *v = &a->vdso[a->nvdso++];
        v->from = cur[i].start;
        v->len = cur[i].end - cur[i].start;
        v->scratch = scr;
        v->to = s.special[i].start;
        scr += v->len + PAGE;
    }

    struct rst_mm_map *mm = &a->mm;
    mm->start_code = s.h.start_code;
    mm->end_code = s.h.end_code;
    mm->start_data = s.h.start_data;
    mm->end_data = s.h.end_data;
    mm->start_brk = s.h.start_brk;
    mm->brk = s.h.brk;
    mm->start_stack = s.h.start_stack;
    mm->arg_start = s.h.arg_start;
    mm->arg_end = s.h.arg_end;
    mm->env_start = s.h.env_start;
    mm->env_end = s.h.env_end;
    memcpy(a->auxv, s.h.auxv, sizeof a->auxv);
    mm->auxv_size = s.h.auxv_bytes;
    mm->exe_fd = (uint32_t)-1;

    for (int w = 0; w < 3; w++) {
        memcpy(&a->itimer[w], s.h.itimer[w], sizeof a->itimer[w]);
        /* A periodic ITIMER_REAL whose signal is pending reads as value 0:
         * the kernel re-arms it only when SIGALRM is dequeued. Arm it for
         * one interval, as that dequeue would have. */
        struct rst_itimer *it = &a->itimer[w];
        if (!it->value_sec && !it->value_usec && (it->interval_sec || it->interval_usec)) {
            it->value_sec = it->interval_sec;
            it->value_usec = it->interval_usec;
        }
    }
    uint8_t(*sig)[128] = take(&bp, (s.h.nsiginfo + 1) * 128, 8);
    memcpy(sig, s.siginfo, s.h.nsiginfo * 128);
    a->pending = sig;
    a->npending = s.h.shared_pending;

    uint64_t xf = frame_features();
    a->threads = take(&bp, s.h.nthreads * sizeof *a->threads, 64);
    a->nthreads = s.h.nthreads;
    char *stacks = B + PAGE + code_len + args_len;
    for (uint32_t i = 0; i < s.h.nthreads; i++) {
        const dmp_thread *t = &s.threads[i];
        struct rst_thread *rt = &a->threads[i];
        memset(rt, 0, sizeof *rt);
        rt->args = a;
        char *fr = take(&bp, frame_sz, 64);
        if (!fr) {
            tern_error_set(err, ENOMEM, "restorer arguments overflow");
            goto fail;
        }
        rt->frame = (struct rst_ucontext *)(fr + 64);   /* room for pretcode below */
        uint8_t *xs = (uint8_t *)RUP((uint64_t)(fr + 64 + sizeof(struct rst_ucontext) + 128), 64);
        fill_frame(rt->frame, xs, t, xf);
        rt->stack_top = (uint64_t)(stacks + (uint64_t)(i + 1) * THREAD_STACK - 64);
        rt->fs_base = t->regs.fs_base;
        rt->gs_base = t->regs.gs_base;
        rt->tid_addr = s.h.tid_offset >= 0 ? t->regs.fs_base + (uint64_t)s.h.tid_offset : 0;
        rt->robust_head = t->robust_head;
        rt->robust_len = t->robust_len;
        rt->rseq_ptr = t->rseq_ptr;
        rt->rseq_len = t->rseq_len;
        rt->rseq_sig = t->rseq_sig;
        rt->npending = t->npending;
        rt->pending = sig + t->pending0;
    }
    if (bp.off > bp.cap) {
        tern_error_set(err, ENOMEM, "restorer arguments overflow");
        goto fail;
    }
    if (mprotect(B + PAGE, code_len, PROT_READ | PROT_EXEC) < 0) {
        tern_error_set(err, errno, "restorer: mprotect: %s", strerror(errno));
        goto fail;
    }

    if (getenv("TERN_DUMPER_TIMING"))
        fprintf(stderr, "tern restore: timing: metadata+checks %.3f s, page data %.3f s "
                "(%.1f MiB, %.1f MiB of it mapped from the image), blob setup %.3f s\n",
                t_pages - t_start, t_pages_done - t_pages, s.h.data_bytes / 1048576.0,
                fm.bytes / 1048576.0, mono() - t_pages_done);
    free(fm.v);
    fm.v = NULL;

    /* ---- point of no return ---- */
    tern_ckpt_close(c);
    sigset_t all;
    sigfillset(&all);
    sigprocmask(SIG_SETMASK, &all, NULL);
    for (int sg = 1; sg <= 64; sg++) {
        if (sg == SIGKILL || sg == SIGSTOP)
            continue;
        syscall(SYS_rt_sigaction, sg, &s.h.sigact[sg - 1], NULL, 8);
    }
    int keep[1100], nkeep = 0;
    keep[nkeep++] = memfd;
    keep[nkeep++] = errfd;
    for (int i = 0; i < nfiles && nkeep < 1100; i++)
        keep[nkeep++] = files[i];
    if (dmp_fds_restore(&s, keep, nkeep, err)) {
        dprintf(errfd, "tern restore: %s\n", err->msg);
        _exit(127);
    }
    uint64_t sp = a->threads[0].stack_top;
    void *entry = B + PAGE;
    __asm__ volatile("mov %0, %%rsp\n\t"
                     "mov %1, %%rdi\n\t"
                     "jmp *%2\n\t" ::"r"(sp), "r"(a), "r"(entry)
                     : "memory");
    __builtin_unreachable();

fail:
    for (uint32_t i = 0; placed && i < s.h.nregions; i++)
        if (placed[i])
            munmap((void *)s.regions[i].start, s.regions[i].end - s.regions[i].start);
    free(placed);
    if (blob != MAP_FAILED)
        munmap(blob, blob_len);
    if (memfd >= 0)
        close(memfd);
    if (imgfd >= 0)
        close(imgfd);
    free(fm.v);
    if (errfd >= 0)
        close(errfd);
    for (int i = 0; i < nfiles; i++)
        close(files[i]);
    free(files);
    dmp_state_free(&s);
    return rc;
}
