/* dmp_blob.h: the restorer blob of one restore, placed and filled in. */
#define _GNU_SOURCE
#include "dmp_blob.h"

#include <cpuid.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/rseq.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "dmp_capture.h"

extern const unsigned char tern_rst_blob[];
extern const unsigned long tern_rst_blob_len;

#define PAGE DMP_PAGE
#define RUP(x, a) (((x) + (a)-1) & ~((uint64_t)(a)-1))
#define THREAD_STACK (32 * 1024)

uint64_t dmp_xcr0(void)
{
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & bit_OSXSAVE))
        return 3;   /* no XSAVE: x87 and SSE (FXSAVE) only; xgetbv would fault */
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
uint64_t dmp_frame_features(void)
{
    uint64_t perm = 0;
    if (syscall(SYS_arch_prctl, 0x1022 /* ARCH_GET_XCOMP_PERM */, &perm) < 0)
        perm = ~0ULL;   /* kernel before 5.16: no dynamic features */
    return dmp_xcr0() & perm;
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

/* One build: the sizes of the blob's parts, and the arguments area. */
typedef struct build {
    const dmp_blob_in *in;
    const dmp_state *s;
    dmp_blob *b;
    uint64_t code_len, args_len, scratch_len, frame_sz;
    bump bp;
} build;

/* The blob: a header page, the restorer code, its arguments, a stack per
 * thread and the scratch the vdso pieces wait in, placed where neither
 * tern nor the image has anything; the arguments' fixed part filled. */
static int place_restorer(build *bd, tern_error *err)
{
    const dmp_state *s = bd->s;
    bd->code_len = RUP(tern_rst_blob_len, PAGE);
    bd->frame_sz = RUP(8 + sizeof(struct rst_ucontext) + 128, 64) + RUP(DMP_XSAVE_MAX + 64, 64);
    uint64_t args_len = sizeof(struct rst_args) + s->h.nregions * (sizeof(struct rst_map) + 32) +
                        s->h.nruns * sizeof(struct rst_run) +
                        s->h.nthreads * (sizeof(struct rst_thread) + bd->frame_sz + 64) +
                        bd->in->nfm * sizeof(struct rst_filemap) + s->h.nregions * 8 +
                        s->h.nsiginfo * 128 + (bd->in->nfiles + 1) * sizeof(int) + 4096;
    bd->args_len = RUP(args_len, PAGE);
    uint64_t stacks_len = (uint64_t)s->h.nthreads * THREAD_STACK;
    for (uint32_t i = 0; i < s->h.nspecial; i++)
        bd->scratch_len += s->special[i].end - s->special[i].start + PAGE;
    bd->b->len = PAGE + bd->code_len + bd->args_len + stacks_len + bd->scratch_len;
    char *blob = place_blob(s, bd->b->len, err);
    if (!blob)
        return -1;
    bd->b->base = blob;
    struct rst_hdr *hdr = (struct rst_hdr *)blob;
    memcpy(hdr->magic, RST_MAGIC, RST_MAGIC_LEN);
    hdr->total_len = bd->b->len;
    memcpy(blob + PAGE, tern_rst_blob, tern_rst_blob_len);
    bd->bp = (bump){blob + PAGE + bd->code_len, 0, bd->args_len};
    struct rst_args *a = bd->b->args = take(&bd->bp, sizeof *a, 64);
    memset(a, 0, sizeof *a);
    a->blob_start = (uint64_t)blob;
    /* includes the vdso scratch at the top: the pieces wait there while
     * everything outside the reservation is unmapped */
    a->blob_len = bd->b->len;
    a->memfd = bd->in->memfd;
    a->errfd = bd->in->errfd;
    a->imgfd = bd->in->img_at >= 0 ? bd->in->files[bd->in->img_at] : -1;
    struct stat ist;
    if (a->imgfd >= 0 && fstat(a->imgfd, &ist) == 0) {
        hdr->img_dev = ist.st_dev;
        hdr->img_ino = ist.st_ino;
    }
    return 0;
}

static int map_kind(const dmp_region *r, int placed)
{
    if (placed)
        return RST_ANON_PLACED;
    if (r->kind == DMP_R_FILE)
        return RST_FILE_PRIVATE;
    if (r->kind == DMP_R_FILE_SHARED)
        return RST_FILE_SHARED;
    if (r->kind == DMP_R_EXTERNAL)
        return RST_EXTERNAL;
    if (r->data_pages >= 256 && !(r->flags & DMP_F_STACK))
        return RST_ANON_MEMFD;
    return RST_ANON_COPY;
}

/* Region i as the blob rebuilds it: where, from which fd, its runs of
 * dumped pages and the pieces it maps from the image file. */
static int describe_map(build *bd, uint32_t i, tern_error *err)
{
    const dmp_state *s = bd->s;
    const dmp_region *r = &s->regions[i];
    struct rst_map *m = &bd->b->args->maps[i];
    memset(m, 0, sizeof *m);
    m->start = r->start;
    m->len = r->end - r->start;
    m->foff = r->foff;
    m->data_off = r->data_off;
    m->prot = r->prot;
    m->fd = bd->in->region_fd[i];
    m->nruns = r->nruns;
    m->runs = take(&bd->bp, r->nruns * sizeof(struct rst_run) + 1, 8);
    memcpy(m->runs, &s->runs[r->run0], r->nruns * sizeof(struct rst_run));
    if (!bd->in->placed[i]) {   /* placed regions were mapped from the image already */
        uint64_t k0 = 0;
        while (k0 < bd->in->nfm && bd->in->fm[k0].region != i)
            k0++;
        uint64_t k1 = k0;
        while (k1 < bd->in->nfm && bd->in->fm[k1].region == i)
            k1++;
        m->nfile = (uint32_t)(k1 - k0);
        m->file = take(&bd->bp, m->nfile * sizeof(struct rst_filemap) + 8, 8);
        if (!m->file)
            return tern_error_set(err, ENOMEM, "restorer arguments overflow");
        for (uint64_t k = k0; k < k1; k++)
            m->file[k - k0] = bd->in->fm[k].m;
    }
    m->kind = map_kind(r, bd->in->placed[i]);
    if (r->flags & DMP_F_STACK)
        m->extra_flags = MAP_GROWSDOWN;
    if (m->nfile && m->kind != RST_ANON_MEMFD)   /* only that kind maps them */
        return tern_error_set(err, EINVAL, "region 0x%llx: image pages for a region of kind %d",
                              (unsigned long long)m->start, m->kind);
    return 0;
}

/* The address space the blob builds: every region, the ranges it must
 * not unmap (itself, the placed regions) and the fds it closes. */
static int describe_maps(build *bd, tern_error *err)
{
    const dmp_state *s = bd->s;
    struct rst_args *a = bd->b->args;
    a->maps = take(&bd->bp, s->h.nregions * sizeof *a->maps, 8);
    a->nmaps = s->h.nregions;
    for (uint32_t i = 0; i < s->h.nregions; i++)
        if (describe_map(bd, i, err))
            return -1;
    int nplaced = 0;
    for (uint32_t i = 0; i < s->h.nregions; i++)
        nplaced += bd->in->placed[i];
    a->keep = take(&bd->bp, (nplaced + 1) * sizeof *a->keep, 8);
    a->keep[a->nkeep].start = (uint64_t)bd->b->base;
    a->keep[a->nkeep++].end = (uint64_t)bd->b->base + bd->b->len;
    for (uint32_t i = 0; i < s->h.nregions; i++)
        if (bd->in->placed[i]) {
            a->keep[a->nkeep].start = s->regions[i].start;
            a->keep[a->nkeep++].end = s->regions[i].end;
        }
    qsort(a->keep, a->nkeep, sizeof *a->keep, cmp_range);
    a->close_fds = take(&bd->bp, (bd->in->nfiles + 1) * sizeof(int), 8);
    memcpy(a->close_fds, bd->in->files, bd->in->nfiles * sizeof(int));
    a->nclose = bd->in->nfiles;
    return 0;
}

/* Where this kernel's vdso pieces are and where the image wants them. */
static int describe_vdso(build *bd, tern_error *err)
{
    const dmp_state *s = bd->s;
    dmp_special cur[4];
    uint32_t crc;
    if (dmp_special_read(0, cur, &crc, err))
        return -1;
    uint64_t scr = (uint64_t)bd->b->base + bd->b->len - bd->scratch_len;
    for (uint32_t i = 0; i < s->h.nspecial; i++) {
        struct rst_vdso_move *v = &bd->b->args->vdso[bd->b->args->nvdso++];
        v->from = cur[i].start;
        v->len = cur[i].end - cur[i].start;
        v->scratch = scr;
        v->to = s->special[i].start;
        scr += v->len + PAGE;
    }
    return 0;
}

/* Process-wide state: tern's own rseq to drop, the vdso moves, the mm
 * fields, itimers, process-directed pending signals. */
static int describe_process(build *bd, tern_error *err)
{
    const dmp_header *h = &bd->s->h;
    struct rst_args *a = bd->b->args;
    if (describe_vdso(bd, err))
        return -1;
    if (__rseq_size) {
        a->own_rseq_ptr = (uint64_t)((char *)__builtin_thread_pointer() + __rseq_offset);
        a->own_rseq_len = __rseq_size < 32 ? 32 : __rseq_size;
        a->own_rseq_sig = RSEQ_SIG;
    }
    a->mm = (struct rst_mm_map){
        .start_code = h->start_code, .end_code = h->end_code,
        .start_data = h->start_data, .end_data = h->end_data,
        .start_brk = h->start_brk, .brk = h->brk, .start_stack = h->start_stack,
        .arg_start = h->arg_start, .arg_end = h->arg_end,
        .env_start = h->env_start, .env_end = h->env_end,
        .auxv_size = h->auxv_bytes, .exe_fd = (uint32_t)-1};
    memcpy(a->auxv, h->auxv, sizeof a->auxv);
    for (int w = 0; w < 3; w++) {
        memcpy(&a->itimer[w], h->itimer[w], sizeof a->itimer[w]);
        /* A periodic ITIMER_REAL whose signal is pending reads as value 0:
         * the kernel re-arms it only when SIGALRM is dequeued. Arm it for
         * one interval, as that dequeue would have. */
        struct rst_itimer *it = &a->itimer[w];
        if (!it->value_sec && !it->value_usec && (it->interval_sec || it->interval_usec)) {
            it->value_sec = it->interval_sec;
            it->value_usec = it->interval_usec;
        }
    }
    uint8_t(*sig)[128] = take(&bd->bp, (h->nsiginfo + 1) * 128, 8);
    memcpy(sig, bd->s->siginfo, h->nsiginfo * 128);
    a->pending = sig;
    a->npending = h->shared_pending;
    return 0;
}

/* Every thread: its signal frame to rt_sigreturn into, its blob stack,
 * TLS, tid field, robust list, rseq and pending signals. Then the blob's
 * code is made executable. */
static int describe_threads(build *bd, tern_error *err)
{
    const dmp_state *s = bd->s;
    struct rst_args *a = bd->b->args;
    uint64_t xf = dmp_frame_features();
    a->threads = take(&bd->bp, s->h.nthreads * sizeof *a->threads, 64);
    a->nthreads = s->h.nthreads;
    char *stacks = bd->b->base + PAGE + bd->code_len + bd->args_len;
    for (uint32_t i = 0; i < s->h.nthreads; i++) {
        const dmp_thread *t = &s->threads[i];
        struct rst_thread *rt = &a->threads[i];
        memset(rt, 0, sizeof *rt);
        rt->args = a;
        char *fr = take(&bd->bp, bd->frame_sz, 64);
        if (!fr)
            return tern_error_set(err, ENOMEM, "restorer arguments overflow");
        rt->frame = (struct rst_ucontext *)(fr + 64);   /* room for pretcode below */
        uint8_t *xs = (uint8_t *)RUP((uint64_t)(fr + 64 + sizeof(struct rst_ucontext) + 128), 64);
        fill_frame(rt->frame, xs, t, xf);
        rt->stack_top = (uint64_t)(stacks + (uint64_t)(i + 1) * THREAD_STACK - 64);
        rt->fs_base = t->regs.fs_base;
        rt->gs_base = t->regs.gs_base;
        rt->tid_addr = s->h.tid_offset >= 0 ? t->regs.fs_base + (uint64_t)s->h.tid_offset : 0;
        rt->robust_head = t->robust_head;
        rt->robust_len = t->robust_len;
        rt->rseq_ptr = t->rseq_ptr;
        rt->rseq_len = t->rseq_len;
        rt->rseq_sig = t->rseq_sig;
        rt->npending = t->npending;
        rt->pending = a->pending + t->pending0;
    }
    if (bd->bp.off > bd->bp.cap)
        return tern_error_set(err, ENOMEM, "restorer arguments overflow");
    if (mprotect(bd->b->base + PAGE, bd->code_len, PROT_READ | PROT_EXEC) < 0)
        return tern_error_set(err, errno, "restorer: mprotect: %s", strerror(errno));
    return 0;
}

int dmp_blob_build(const dmp_blob_in *in, dmp_blob *b, tern_error *err)
{
    build bd = {.in = in, .s = in->s, .b = b};
    if (place_restorer(&bd, err) || describe_maps(&bd, err) || describe_process(&bd, err))
        return -1;
    return describe_threads(&bd, err);
}

void dmp_blob_unmap(dmp_blob *b)
{
    if (b->base)
        munmap(b->base, b->len);
    b->base = NULL;
}

void dmp_blob_enter(const dmp_blob *b)
{
    uint64_t sp = b->args->threads[0].stack_top;
    void *entry = b->base + PAGE;   /* the code's first byte is rst_entry_fn */
    struct rst_args *a = b->args;
    __asm__ volatile("mov %0, %%rsp\n\t"
                     "mov %1, %%rdi\n\t"
                     "jmp *%2\n\t" ::"r"(sp), "r"(a), "r"(entry)
                     : "memory");
    __builtin_unreachable();
}
