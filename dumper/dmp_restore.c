/* dmp_restore.h: compatibility checks, and a restore as the stages it
 * takes. */
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
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <cpuid.h>
#include <pthread.h>
#include <stdint.h>

#include "dmp_blob.h"
#include "dmp_capture.h"
#include "dmp_fds.h"
#include "dmp_image.h"
#include "clock.h"
#include "private_dir.h"

#define PAGE DMP_PAGE
#define NFS_MAGIC 0x6969

static uint32_t cpu_xsave_size(void)
{
    unsigned a, b, c, d;
    if (!__get_cpuid_count(0xd, 0, &a, &b, &c, &d))
        return 0;
    return b;   /* bytes needed for the features enabled in XCR0 */
}

/* The image's code holds pointers into the vdso and its data page offsets:
 * same pieces, same sizes, same distances, same text. */
static int check_vdso(const dmp_state *s, tern_error *err)
{
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
    return 0;
}

/* XSAVE state components by their bit in XCR0 (Intel SDM vol. 1, 13.1). */
static const char *const xfeature_names[] = {
    "x87", "sse", "avx", "mpx_bndregs", "mpx_bndcsr", "avx512_opmask", "avx512_zmm_hi256",
    "avx512_hi16_zmm", "pt", "pkru", "pasid", "cet_u", "cet_s", "hdc", "uintr", "lbr", "hwp",
    "amx_tilecfg", "amx_tiledata", "apx"};

/* "avx512_opmask, avx512_zmm_hi256, ..." for the bits of mask. */
static void xfeature_list(uint64_t mask, char *buf, size_t len)
{
    size_t n = 0;
    buf[0] = '\0';
    for (unsigned f = 0; f < 64 && n < len; f++)
        if (mask >> f & 1) {
            const size_t nn = sizeof xfeature_names / sizeof xfeature_names[0];
            int w = f < nn ? snprintf(buf + n, len - n, "%s%s", n ? ", " : "", xfeature_names[f])
                           : snprintf(buf + n, len - n, "%sxfeature %u", n ? ", " : "", f);
            n += w > 0 ? (size_t)w : 0;
        }
}

/* The XSAVE features the dumping CPU had: what its kernel enabled in XCR0
 * (ptrace puts that in the software-reserved bytes of NT_X86_XSTATE, at
 * offset 464, where gdb reads it too) and what each thread had in use
 * (XSTATE_BV). A program picks its code by the CPU it starts on (glibc's
 * string functions use AVX-512 where XCR0 enables it, whether or not a
 * thread's registers hold AVX-512 state right now), so a feature the dumping
 * CPU had and this one lacks is refused even if no thread has it in use. */
static int check_cpu_features(const dmp_state *s, int rank, tern_error *err)
{
    uint64_t saved = 0;
    for (uint32_t i = 0; i < s->h.nthreads; i++) {
        const dmp_thread *t = &s->threads[i];
        if (t->xsave_len < 576)
            break;   /* check_xsave says what is wrong with it */
        uint64_t xcr0, bv;
        memcpy(&xcr0, t->xsave + 464, 8);
        memcpy(&bv, t->xsave + 512, 8);
        saved |= xcr0 | bv;
    }
    uint64_t missing = saved & ~dmp_xcr0();
    if (!missing)
        return 0;
    char names[512];
    xfeature_list(missing, names, sizeof names);
    return tern_error_set(err, EXDEV, "rank %d: saved on a CPU with %s, which this CPU lacks",
                          rank, names);
}

/* Every thread's XSAVE area fits this CPU's, and holds nothing a signal
 * frame of this process cannot carry. */
static int check_xsave(const dmp_state *s, tern_error *err)
{
    uint32_t xs = cpu_xsave_size();
    for (uint32_t i = 0; i < s->h.nthreads; i++)
        if (s->threads[i].xsave_len > xs || s->threads[i].xsave_len < 576)
            return tern_error_set(err, EXDEV, "thread %d: XSAVE area of %u bytes does not fit "
                                  "this CPU's %u bytes (image from another CPU?)",
                                  s->threads[i].tid, s->threads[i].xsave_len, xs);
    uint64_t xf = dmp_frame_features();
    for (uint32_t i = 0; i < s->h.nthreads; i++) {
        uint64_t bv;
        memcpy(&bv, s->threads[i].xsave + 512, 8);
        if (bv & ~xf)
            return tern_error_set(err, EXDEV, "thread %d: registers in XSAVE features 0x%llx "
                                  "(AMX tiles?) that a restored process cannot be given",
                                  s->threads[i].tid, (unsigned long long)(bv & ~xf));
    }
    return 0;
}

/* Every file the image maps is the one it mapped. */
static int check_mapped_files(const dmp_state *s, tern_error *err)
{
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
    return 0;
}

/* The caller's fd for external index k, or -1. */
static int ext_fd_of(const dmp_ext_fds *ext, int64_t k)
{
    return ext && ext->fd && k >= 0 && k < ext->n ? ext->fd[k] : -1;
}

/* External region r (shared memory the dump's caller named: the proxy's
 * channel) can be mapped from the fd the caller gives: open for what its
 * protection needs, and long enough that no page of it would SIGBUS. */
static int check_external_region(const dmp_region *r, const dmp_ext_fds *ext, tern_error *err)
{
    int fd = ext_fd_of(ext, r->ext_index);
    if (fd < 0)
        return tern_error_set(err, ENXIO, "region 0x%llx is the proxy's channel: restore it "
                              "under tern-proxy", (unsigned long long)r->start);
    struct stat st;
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fstat(fd, &st) < 0)
        return tern_error_set(err, errno, "external region %lld (0x%llx): fd %d: %s",
                              (long long)r->ext_index, (unsigned long long)r->start, fd,
                              strerror(errno));
    if (!S_ISREG(st.st_mode))   /* a pipe or socket would fail in the blob, too late */
        return tern_error_set(err, EINVAL, "external region %lld (0x%llx): fd %d is not a "
                              "memfd or file", (long long)r->ext_index,
                              (unsigned long long)r->start, fd);
    int acc = fl & O_ACCMODE;
    if (acc == O_WRONLY || ((r->prot & PROT_WRITE) && acc != O_RDWR))
        return tern_error_set(err, EACCES, "external region %lld (0x%llx, %s): fd %d is not "
                              "open for %s", (long long)r->ext_index,
                              (unsigned long long)r->start,
                              (r->prot & PROT_WRITE) ? "writable" : "readable", fd,
                              (r->prot & PROT_WRITE) ? "reading and writing" : "reading");
    uint64_t need = r->foff + (r->end - r->start);
    if (st.st_size < 0 || (uint64_t)st.st_size < need)
        return tern_error_set(err, EINVAL, "external region %lld (0x%llx): fd %d has %lld "
                              "bytes, the region needs %llu", (long long)r->ext_index,
                              (unsigned long long)r->start, fd, (long long)st.st_size,
                              (unsigned long long)need);
    return 0;
}

static int check_external(const dmp_state *s, const dmp_ext_fds *ext, tern_error *err)
{
    for (uint32_t i = 0; i < s->h.nregions; i++)
        if (s->regions[i].kind == DMP_R_EXTERNAL &&
            check_external_region(&s->regions[i], ext, err))
            return -1;
    for (uint32_t i = 0; i < s->h.nfds; i++)
        if (s->fds[i].kind == DMP_FD_EXTERNAL && ext_fd_of(ext, s->fds[i].ext_index) < 0)
            return tern_error_set(err, ENXIO, "fd %d is the proxy's channel: restore it under "
                                  "tern-proxy", s->fds[i].fd);
    return 0;
}

int dmp_restore_check(const dmp_state *s, int rank, tern_error *err)
{
    return dmp_restore_check_ext(s, rank, NULL, err);
}

int dmp_restore_check_ext(const dmp_state *s, int rank, const dmp_ext_fds *ext, tern_error *err)
{
    if (check_vdso(s, err) || check_cpu_features(s, rank, err) || check_xsave(s, err) ||
        check_mapped_files(s, err) || check_external(s, ext, err))
        return -1;
    return dmp_fds_check(s, err);
}

int dmp_restore_trusted(tern_ckpt *c, tern_error *err)
{
    const char *path = tern_ckpt_get_info(c)->path;
    struct stat st;
    int fd = tern_ckpt_dup_fd(c);   /* the inode that is read and mapped */
    if (fd < 0 || fstat(fd, &st) < 0) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        return tern_error_set(err, e, "%s: %s", path, strerror(e));
    }
    close(fd);
    return tern_pdir_check_stat(&st, S_IFREG, 0, path, err) ? -1 : 0;
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
typedef struct fmaps {
    dmp_fmap *v;
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
                    dmp_fmap *nv = realloc(out->v, nc * sizeof *nv);
                    if (!nv)
                        return -1;
                    out->v = nv;
                    out->cap = nc;
                }
                dmp_fmap *f = &out->v[out->n++];
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

static int move_high(int fd, int floor)
{
    int n = fcntl(fd, F_DUPFD_CLOEXEC, floor);
    if (n >= 0)
        close(fd);
    return n;
}

/* Everything one restore holds until the point of no return; undo() gives
 * it all back when a stage before that fails. */
typedef struct restore_job {
    tern_ckpt *c;
    int rank;
    const char *prefix;
    dmp_state s;
    int memfd;                 /* page data the blob maps or copies from */
    int errfd;                 /* our stderr, for the blob's last words */
    int imgfd;                 /* the image file, while pages are mapped from it */
    char *placed;              /* per region: mapped at its place here already */
    fmaps fm;                  /* pieces mapped from the image file */
    int *files, nfiles;        /* fds the blob closes: the image, the mapped files */
    int img_at;                /* the image's index in files, or -1 */
    int *region_fd;            /* per region: the fd it maps, or -1 */
    const dmp_ext_fds *ext;    /* the caller's fds of external regions */
    int *ext_dup;              /* per external index: our copy above the image's
                                  fds (one of files), or -1 */
    dmp_blob blob;
    double t_start, t_pages, t_pages_done;
} restore_job;

/* Checks while nothing is changed yet. */
static int check_here(restore_job *j, tern_error *err)
{
    if (dmp_restore_check_ext(&j->s, j->rank, j->ext, err))
        return -1;
    if (!single_threaded())
        return tern_error_set(err, EBUSY, "tern restore must be single-threaded to restore");
    return 0;
}

/* The memfd for page data, and the big anonymous regions that are free
 * here mapped at their place, to be filled in place. */
static int prepare_memory(restore_job *j, tern_error *err)
{
    const dmp_state *s = &j->s;
    j->memfd = memfd_create("tern-image", MFD_CLOEXEC);
    if (j->memfd < 0 || ftruncate(j->memfd, (off_t)s->h.data_bytes) < 0)
        return tern_error_set(err, errno, "page data: memfd: %s", strerror(errno));
    j->placed = calloc(s->h.nregions + 1, 1);
    if (!j->placed)
        return tern_error_set(err, ENOMEM, "out of memory");
    for (uint32_t i = 0; i < s->h.nregions; i++) {
        const dmp_region *r = &s->regions[i];
        if (r->kind != DMP_R_ANON || r->data_pages < 256 || (r->flags & DMP_F_STACK))
            continue;
        void *want = (void *)r->start;
        void *got = mmap(want, r->end - r->start, PROT_READ | PROT_WRITE,
                         MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
        if (got == want)
            j->placed[i] = 1;
        else if (got != MAP_FAILED)
            munmap(got, r->end - r->start);
    }
    return 0;
}

/* The image file to map pages from (lazy restore), or -1. */
static int open_image_fd(tern_ckpt *c)
{
    if (!lazy_wanted())
        return -1;
    int fd = tern_ckpt_dup_fd(c);   /* the inode the store checks */
    struct statfs sfs;
    if (fd >= 0 && fstatfs(fd, &sfs) == 0 && sfs.f_type == NFS_MAGIC) {
        /* NFS does not keep a file that another client deletes readable
         * for the processes mapping it here (tern prunes old checkpoints):
         * copy the pages instead */
        close(fd);
        return -1;
    }
    return fd;
}

/* Region i's RAW pages become pieces mapped from the image file (mapped
 * now if the region is placed, by the blob otherwise); the rest of its
 * pages go to the sink. */
static int region_extents(restore_job *j, uint32_t i, sink_ctx *sc, tern_error *err)
{
    tern_extent *ext = NULL;
    uint64_t ne = 0, first = j->fm.n;
    int prc = dmp_image_region_extents(j->c, j->rank, j->prefix, &j->s, i, page_sink, sc, &ext,
                                       &ne, err);
    if (!prc && extents_to_maps(&j->s, i, ext, ne, &j->fm))
        prc = tern_error_set(err, ENOMEM, "out of memory");
    free(ext);
    for (uint64_t k = first; !prc && j->placed[i] && k < j->fm.n; k++) {
        const struct rst_filemap *m = &j->fm.v[k].m;
        void *want = (void *)m->addr;
        if (mmap(want, m->len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_FIXED, j->imgfd,
                 (off_t)m->foff) != want)
            prc = tern_error_set(err, errno, "page data: mapping the image at 0x%llx: %s",
                                 (unsigned long long)m->addr, strerror(errno));
    }
    return prc;
}

static int region_data(restore_job *j, uint32_t i, sink_ctx *sc, tern_error *err)
{
    const dmp_region *r = &j->s.regions[i];
    if (!r->data_pages)
        return 0;
    /* Big anonymous data regions (placed, or mapped from the memfd by
     * the blob) take their RAW pages straight from the image file. Not
     * the stack (MAP_GROWSDOWN must stay one anonymous mapping) and not
     * executable regions (the image may sit on a noexec mount). */
    if (j->imgfd >= 0 && r->kind == DMP_R_ANON && r->data_pages >= 256 &&
        !(r->flags & DMP_F_STACK) && !(r->prot & PROT_EXEC))
        return region_extents(j, i, sc, err);
    if (j->placed[i] && r->nruns == 1)   /* the store decodes straight into place */
        return dmp_image_region_read(j->c, j->rank, j->prefix, &j->s, i,
                                     (char *)(r->start + j->s.runs[r->run0].page * PAGE), err);
    return dmp_image_region_pages(j->c, j->rank, j->prefix, &j->s, i, page_sink, sc, err);
}

/* Every region's page data: into place, into the memfd, or as pieces of
 * the image file to map. */
static int read_pages(restore_job *j, tern_error *err)
{
    pthread_t ra;
    int ra_fd = open(tern_ckpt_get_info(j->c)->path, O_RDONLY | O_CLOEXEC), ra_ok = 0;
    if (ra_fd >= 0)
        ra_ok = pthread_create(&ra, NULL, readahead_thread, (void *)(intptr_t)ra_fd) == 0;
    sink_ctx sc = {j->memfd, &j->s, j->placed, 0};
    j->t_pages = tern_now_mono();
    j->imgfd = open_image_fd(j->c);
    int prc = 0;
    for (uint32_t i = 0; i < j->s.h.nregions && !prc; i++)
        prc = region_data(j, i, &sc, err);
    j->t_pages_done = tern_now_mono();
    if (ra_ok)
        pthread_join(ra, NULL);
    if (ra_fd >= 0)
        close(ra_fd);
    return prc;
}

/* One fd per mapped file and access mode, shared by its regions. */
static int open_mapped_files(restore_job *j, int floor, tern_error *err)
{
    const dmp_state *s = &j->s;
    for (uint32_t i = 0; i < s->h.nregions; i++) {
        const dmp_region *r = &s->regions[i];
        j->region_fd[i] = -1;
        if (r->kind != DMP_R_FILE && r->kind != DMP_R_FILE_SHARED)
            continue;
        int want_rw = r->kind == DMP_R_FILE_SHARED && (r->prot & PROT_WRITE);
        for (uint32_t k = 0; k < i; k++)
            if (j->region_fd[k] >= 0 && !strcmp(s->regions[k].path, r->path) &&
                (s->regions[k].kind == DMP_R_FILE_SHARED && (s->regions[k].prot & PROT_WRITE)) ==
                    want_rw)
                j->region_fd[i] = j->region_fd[k];
        if (j->region_fd[i] >= 0)
            continue;
        int fd = open(r->path, (want_rw ? O_RDWR : O_RDONLY) | O_CLOEXEC);
        if (fd < 0 || (fd = move_high(fd, floor)) < 0)
            return tern_error_set(err, errno, "%s: %s", r->path, strerror(errno));
        j->region_fd[i] = j->files[j->nfiles++] = fd;
    }
    return 0;
}

/* The caller's fd of every external index the image uses, copied above
 * the image's fds (the caller's own stays as it is until the point of no
 * return): the blob maps the regions from the copies and closes them,
 * dmp_fds_restore gives the image's external fds copies of them. */
static int open_external(restore_job *j, int floor, tern_error *err)
{
    const dmp_state *s = &j->s;
    int n = j->ext && j->ext->fd ? j->ext->n : 0;
    j->ext_dup = malloc((size_t)(n + 1) * sizeof *j->ext_dup);
    if (!j->ext_dup)
        return tern_error_set(err, ENOMEM, "out of memory");
    for (int k = 0; k < n; k++)
        j->ext_dup[k] = -1;
    for (uint32_t i = 0; i < s->h.nregions + s->h.nfds; i++) {
        int is_reg = i < s->h.nregions;
        const dmp_region *r = is_reg ? &s->regions[i] : NULL;
        const dmp_fd *f = is_reg ? NULL : &s->fds[i - s->h.nregions];
        if (is_reg ? r->kind != DMP_R_EXTERNAL : f->kind != DMP_FD_EXTERNAL)
            continue;
        int64_t k = is_reg ? r->ext_index : f->ext_index;
        if (k < 0 || k >= n)   /* check_external refused it already */
            return tern_error_set(err, ENXIO, "external region %lld: no fd given", (long long)k);
        if (j->ext_dup[k] < 0) {
            int fd = fcntl(j->ext->fd[k], F_DUPFD_CLOEXEC, floor);
            if (fd < 0)
                return tern_error_set(err, errno, "external region %lld: fd %d: %s",
                                      (long long)k, j->ext->fd[k], strerror(errno));
            j->ext_dup[k] = j->files[j->nfiles++] = fd;
        }
        if (is_reg)
            j->region_fd[i] = j->ext_dup[k];
    }
    return 0;
}

/* The fds the blob uses, moved above every fd of the image so that
 * dmp_fds_restore can set those up around them. */
static int open_fds(restore_job *j, tern_error *err)
{
    const dmp_state *s = &j->s;
    int floor = dmp_fds_max(s) + 1;
    if (floor < 64)
        floor = 64;
    if (j->imgfd >= 0 && !j->fm.n) {   /* nothing mapped from it: not needed */
        close(j->imgfd);
        j->imgfd = -1;
    }
    if ((j->memfd = move_high(j->memfd, floor)) < 0 ||
        (j->imgfd >= 0 && (j->imgfd = move_high(j->imgfd, floor)) < 0) ||
        (j->errfd = fcntl(2, F_DUPFD_CLOEXEC, floor)) < 0)
        return tern_error_set(err, errno, "fd shuffle: %s", strerror(errno));
    j->region_fd = calloc(s->h.nregions + 1, sizeof *j->region_fd);
    /* the image, a file per region at most, an fd per external index */
    j->files = calloc(s->h.nregions + 3 + (j->ext ? (size_t)j->ext->n : 0), sizeof *j->files);
    if (!j->region_fd || !j->files)
        return tern_error_set(err, ENOMEM, "out of memory");
    if (j->imgfd >= 0) {   /* closed by the blob with the mapped files */
        j->files[j->nfiles++] = j->imgfd;
        j->imgfd = -1;
    }
    j->img_at = j->nfiles - 1;
    if (open_mapped_files(j, floor, err))
        return -1;
    return open_external(j, floor, err);
}

static void report_timing(const restore_job *j)
{
    if (getenv("TERN_DUMPER_TIMING"))
        fprintf(stderr, "tern restore: timing: metadata+checks %.3f s, page data %.3f s "
                "(%.1f MiB, %.1f MiB of it mapped from the image), blob setup %.3f s\n",
                j->t_pages - j->t_start, j->t_pages_done - j->t_pages,
                j->s.h.data_bytes / 1048576.0, j->fm.bytes / 1048576.0,
                tern_now_mono() - j->t_pages_done);
}

/* Everything the blob needs, written into it. */
static int build_blob(restore_job *j, tern_error *err)
{
    dmp_blob_in in = {.s = &j->s, .placed = j->placed, .fm = j->fm.v, .nfm = j->fm.n,
                      .region_fd = j->region_fd, .files = j->files, .nfiles = j->nfiles,
                      .img_at = j->img_at, .memfd = j->memfd, .errfd = j->errfd};
    int rc = dmp_blob_build(&in, &j->blob, err);
    free(j->region_fd);
    j->region_fd = NULL;
    return rc;
}

/* The point of no return: the image's signal actions and fds replace
 * ours, and the blob takes over on its own stack. */
static void __attribute__((noreturn)) jump_into_blob(restore_job *j, tern_error *err)
{
    tern_ckpt_close(j->c);
    sigset_t all;
    sigfillset(&all);
    sigprocmask(SIG_SETMASK, &all, NULL);
    for (int sg = 1; sg <= 64; sg++) {
        if (sg == SIGKILL || sg == SIGSTOP)
            continue;
        syscall(SYS_rt_sigaction, sg, &j->s.h.sigact[sg - 1], NULL, 8);
    }
    int keep[1100], nkeep = 0;
    keep[nkeep++] = j->memfd;
    keep[nkeep++] = j->errfd;
    for (int i = 0; i < j->nfiles && nkeep < 1100; i++)
        keep[nkeep++] = j->files[i];
    if (dmp_fds_restore(&j->s, keep, nkeep, j->ext_dup, j->ext && j->ext->fd ? j->ext->n : 0,
                        j->ext && j->ext->stdio_inherit, err)) {
        dprintf(j->errfd, "tern restore: %s\n", err->msg);
        _exit(127);
    }
    dmp_blob_enter(&j->blob);
}

static void undo(restore_job *j)
{
    const dmp_state *s = &j->s;
    for (uint32_t i = 0; j->placed && i < s->h.nregions; i++)
        if (j->placed[i])
            munmap((void *)s->regions[i].start, s->regions[i].end - s->regions[i].start);
    free(j->placed);
    dmp_blob_unmap(&j->blob);
    if (j->memfd >= 0)
        close(j->memfd);
    if (j->imgfd >= 0)
        close(j->imgfd);
    free(j->fm.v);
    if (j->errfd >= 0)
        close(j->errfd);
    for (int i = 0; i < j->nfiles; i++)
        close(j->files[i]);
    free(j->files);
    free(j->region_fd);
    free(j->ext_dup);
    dmp_state_free(&j->s);
}

int dmp_restore(tern_ckpt *c, int rank, const char *prefix, const dmp_ext_fds *ext,
                tern_error *err)
{
    restore_job j = {.c = c, .rank = rank, .prefix = prefix, .memfd = -1, .errfd = -1,
                     .imgfd = -1, .img_at = -1, .ext = ext};
    j.t_start = tern_now_mono();
    if (dmp_restore_trusted(c, err) || dmp_image_load(c, rank, prefix, &j.s, err))
        return -1;
    if (check_here(&j, err) ||       /* the image, kernel, CPU, files and fds fit */
        prepare_memory(&j, err) ||   /* the memfd; big free regions mapped in place */
        read_pages(&j, err) ||       /* in place, into the memfd, or image pieces */
        open_fds(&j, err) ||         /* the blob's fds, above the image's */
        build_blob(&j, err)) {       /* the restorer and its arguments */
        undo(&j);
        return -1;
    }
    report_timing(&j);
    free(j.fm.v);
    j.fm.v = NULL;
    jump_into_blob(&j, err);
}
