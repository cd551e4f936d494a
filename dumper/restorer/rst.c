/* The restorer blob: the last step of `tern restore`.
 *
 * Runs inside the tern process after tern has prepared everything that
 * needs libc (files opened, page data in a memfd, fds and handlers in
 * place). It owns nothing but its own reservation (code, args, stacks), so
 * it can remove every other mapping -- tern's binary, libc, heap and stack
 * included -- and rebuild the image's address space around itself.
 *
 * Rules that keep it working at any address with nothing else mapped:
 * no libc, no globals, no absolute relocations (checked at build time),
 * system calls written out, and nothing that could need TLS or a stack
 * protector canary (fs is repointed half-way through).
 */
#include "rst_args.h"

#define NR_read 0
#define NR_write 1
#define NR_close 3
#define NR_mmap 9
#define NR_mprotect 10
#define NR_munmap 11
#define NR_rt_sigreturn 15
#define NR_pread64 17
#define NR_sched_yield 24
#define NR_mremap 25
#define NR_setitimer 38
#define NR_getpid 39
#define NR_clone 56
#define NR_exit 60
#define NR_prctl 157
#define NR_arch_prctl 158
#define NR_gettid 186
#define NR_set_tid_address 218
#define NR_exit_group 231
#define NR_rt_sigqueueinfo 129
#define NR_rt_tgsigqueueinfo 297
#define NR_set_robust_list 273
#define NR_rseq 334

#define PROT_READ 1
#define PROT_WRITE 2
#define MAP_SHARED 0x01
#define MAP_PRIVATE 0x02
#define MAP_FIXED 0x10
#define MAP_ANONYMOUS 0x20
#define MREMAP_MAYMOVE 1
#define MREMAP_FIXED 2
#define PR_SET_MM 35
#define PR_SET_MM_MAP 14
#define ARCH_SET_GS 0x1001
#define ARCH_SET_FS 0x1002
#define RSEQ_FLAG_UNREGISTER 1

#define CLONE_VM 0x00000100
#define CLONE_FS 0x00000200
#define CLONE_FILES 0x00000400
#define CLONE_SIGHAND 0x00000800
#define CLONE_THREAD 0x00010000
#define CLONE_SYSVSEM 0x00040000
#define CLONE_SETTLS 0x00080000
#define CLONE_PARENT_SETTID 0x00100000
#define CLONE_CHILD_CLEARTID 0x00200000
#define CLONE_CHILD_SETTID 0x01000000

#define PAGE 4096UL

typedef unsigned long ul;

static inline long sc6(long n, long a, long b, long c, long d, long e, long f)
{
    long ret;
    register long r10 __asm__("r10") = d;
    register long r8 __asm__("r8") = e;
    register long r9 __asm__("r9") = f;
    __asm__ volatile("syscall"
                     : "=a"(ret)
                     : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
                     : "rcx", "r11", "memory");
    return ret;
}
#define sc0(n) sc6(n, 0, 0, 0, 0, 0, 0)
#define sc1(n, a) sc6(n, (long)(a), 0, 0, 0, 0, 0)
#define sc2(n, a, b) sc6(n, (long)(a), (long)(b), 0, 0, 0, 0)
#define sc3(n, a, b, c) sc6(n, (long)(a), (long)(b), (long)(c), 0, 0, 0)
#define sc4(n, a, b, c, d) sc6(n, (long)(a), (long)(b), (long)(c), (long)(d), 0, 0)
#define sc5(n, a, b, c, d, e) sc6(n, (long)(a), (long)(b), (long)(c), (long)(d), (long)(e), 0)

/* gcc may emit calls to these for struct copies even when freestanding. */
void *memcpy(void *d, const void *s, ul n)
{
    char *dd = d;
    const char *ss = s;
    while (n--)
        *dd++ = *ss++;
    return d;
}
void *memset(void *d, int c, ul n)
{
    char *dd = d;
    while (n--)
        *dd++ = (char)c;
    return d;
}

static ul slen(const char *s)
{
    ul n = 0;
    while (s[n])
        n++;
    return n;
}

static char *put_str(char *p, const char *s)
{
    while (*s)
        *p++ = *s++;
    return p;
}

static char *put_hex(char *p, ul v)
{
    char tmp[16];
    int n = 0;
    do {
        tmp[n++] = "0123456789abcdef"[v & 15];
        v >>= 4;
    } while (v);
    *p++ = '0';
    *p++ = 'x';
    while (n)
        *p++ = tmp[--n];
    return p;
}

static char *put_dec(char *p, long v)
{
    char tmp[24];
    int n = 0;
    if (v < 0) {
        *p++ = '-';
        v = -v;
    }
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n)
        *p++ = tmp[--n];
    return p;
}

/* Past the point of no return the only honest thing left is one line on
 * tern's stderr and an exit status nobody can mistake for the program's. */
static void __attribute__((noreturn)) die(struct rst_args *a, const char *what, ul addr, long rc)
{
    char buf[256], *p = buf;
    p = put_str(p, "tern restore: restorer: ");
    if (slen(what) < 120)
        p = put_str(p, what);
    p = put_str(p, " at ");
    p = put_hex(p, addr);
    p = put_str(p, " failed (errno ");
    p = put_dec(p, -rc);
    p = put_str(p, ")\n");
    if (a->errfd >= 0)
        sc3(NR_write, a->errfd, buf, p - buf);
    for (;;)
        sc1(NR_exit_group, 127);
}

static void __attribute__((noreturn)) jump(struct rst_ucontext *uc)
{
    /* rt_sigreturn finds the frame's pretcode at rsp - 8, the ucontext at rsp */
    __asm__ volatile("mov %0, %%rsp\n\t"
                     "mov $15, %%eax\n\t"
                     "syscall\n\t"
                     "ud2\n\t" ::"r"(uc)
                     : "memory");
    __builtin_unreachable();
}

/* clone(flags, stack, ptid, ctid, tls) that runs fn(arg) on the new stack.
 * Written in assembly: the child must not return through a C frame that
 * lives on the parent's stack. */
long rst_clone(ul flags, ul stack, int *ptid, ul ctid, ul tls,
               void (*fn)(void *), void *arg);
__asm__(".text\n"
        ".type rst_clone,@function\n"
        "rst_clone:\n\t"
        "mov 8(%rsp), %rax\n\t"
        "sub $16, %rsi\n\t"
        "mov %r9, 0(%rsi)\n\t"
        "mov %rax, 8(%rsi)\n\t"
        "mov %rcx, %r10\n\t"
        "mov $56, %eax\n\t"
        "syscall\n\t"
        "test %rax, %rax\n\t"
        "jnz 1f\n\t"
        "pop %rax\n\t"
        "pop %rdi\n\t"
        "call *%rax\n\t"
        "ud2\n"
        "1:\n\t"
        "ret\n");

static void copy_runs(struct rst_args *a, const struct rst_map *m)
{
    ul off = m->data_off;
    for (uint32_t i = 0; i < m->nruns; i++) {
        char *dst = (char *)(m->start + m->runs[i].page * PAGE);
        ul left = m->runs[i].npages * PAGE;
        while (left) {
            long n = sc4(NR_pread64, a->memfd, dst, left, off);
            if (n <= 0)
                die(a, "reading page data for region", (ul)dst, n ? n : -5);
            dst += n;
            off += (ul)n;
            left -= (ul)n;
        }
    }
}

static void map_region(struct rst_args *a, const struct rst_map *m)
{
    long r;
    uint32_t rw = PROT_READ | PROT_WRITE;
    switch (m->kind) {
    case RST_ANON_COPY:
        r = sc6(NR_mmap, (long)m->start, (long)m->len, rw,
                MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | m->extra_flags, -1, 0);
        if (r != (long)m->start)
            die(a, "mmap anonymous region", m->start, r);
        copy_runs(a, m);
        if (m->prot != rw && (r = sc3(NR_mprotect, m->start, m->len, m->prot)))
            die(a, "mprotect region", m->start, r);
        break;
    case RST_ANON_MEMFD: {
        r = sc6(NR_mmap, (long)m->start, (long)m->len, m->prot,
                MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | m->extra_flags, -1, 0);
        if (r != (long)m->start)
            die(a, "mmap anonymous region", m->start, r);
        ul off = m->data_off;
        for (uint32_t i = 0; i < m->nruns; i++) {
            ul addr = m->start + m->runs[i].page * PAGE, len = m->runs[i].npages * PAGE;
            r = sc6(NR_mmap, (long)addr, (long)len, m->prot, MAP_PRIVATE | MAP_FIXED,
                    a->memfd, (long)off);
            if (r != (long)addr)
                die(a, "mmap page data", addr, r);
            off += len;
        }
        /* the image's own pages: from the page cache on first touch,
         * copied only when written */
        for (uint32_t i = 0; i < m->nfile; i++) {
            r = sc6(NR_mmap, (long)m->file[i].addr, (long)m->file[i].len, m->prot,
                    MAP_PRIVATE | MAP_FIXED, a->imgfd, (long)m->file[i].foff);
            if (r != (long)m->file[i].addr)
                die(a, "mmap of the image file", m->file[i].addr, r);
        }
        break;
    }
    case RST_FILE_PRIVATE: {
        uint32_t p = m->nruns ? m->prot | rw : m->prot;
        r = sc6(NR_mmap, (long)m->start, (long)m->len, p, MAP_PRIVATE | MAP_FIXED,
                m->fd, (long)m->foff);
        if (r != (long)m->start)
            die(a, "mmap file region", m->start, r);
        if (m->nruns) {
            copy_runs(a, m);
            if (p != m->prot && (r = sc3(NR_mprotect, m->start, m->len, m->prot)))
                die(a, "mprotect file region", m->start, r);
        }
        break;
    }
    case RST_ANON_PLACED:
        if (m->prot != rw && (r = sc3(NR_mprotect, m->start, m->len, m->prot)))
            die(a, "mprotect region", m->start, r);
        break;
    case RST_FILE_SHARED:
        r = sc6(NR_mmap, (long)m->start, (long)m->len, m->prot, MAP_SHARED | MAP_FIXED,
                m->fd, (long)m->foff);
        if (r != (long)m->start)
            die(a, "mmap shared file region", m->start, r);
        break;
    case RST_EXTERNAL:
        r = sc6(NR_mmap, (long)m->start, (long)m->len, m->prot, MAP_SHARED | MAP_FIXED,
                m->fd, (long)m->foff);
        if (r != (long)m->start)
            die(a, "mmap external shared region", m->start, r);
        break;
    default:
        die(a, "unknown region kind", m->start, -22);
    }
}

/* Per-thread kernel state that is not in the signal frame. */
static void thread_state(struct rst_args *a, struct rst_thread *t)
{
    long r;
    if (t->robust_head && (r = sc2(NR_set_robust_list, t->robust_head, t->robust_len)))
        die(a, "set_robust_list", t->robust_head, r);
    if (t->rseq_ptr && t->rseq_len &&
        (r = sc4(NR_rseq, t->rseq_ptr, t->rseq_len, 0, t->rseq_sig)))
        die(a, "rseq registration", t->rseq_ptr, r);
}

static void thread_entry(void *arg)
{
    struct rst_thread *t = arg;
    struct rst_args *a = t->args;
    thread_state(a, t);
    long pid = sc0(NR_getpid), tid = sc0(NR_gettid);
    for (int i = 0; i < t->npending; i++)
        sc4(NR_rt_tgsigqueueinfo, pid, tid, *(int32_t *)t->pending[i], t->pending[i]);
    __atomic_fetch_add(&a->threads_started, 1, __ATOMIC_SEQ_CST);
    jump(t->frame);
}

__attribute__((section(".text.entry"), used, noreturn))
void rst_main(struct rst_args *a)
{
    long r;
    struct rst_thread *t0 = &a->threads[0];

    /* 1. tern's glibc registered rseq on its TLS, which is about to vanish:
     * the kernel would fault writing cpu ids there. */
    if (a->own_rseq_len &&
        (r = sc4(NR_rseq, a->own_rseq_ptr, a->own_rseq_len, RSEQ_FLAG_UNREGISTER, a->own_rseq_sig)))
        die(a, "unregistering tern's rseq area", a->own_rseq_ptr, r);
    sc2(NR_set_robust_list, 0, 24);

    /* 2. Park the vdso pieces inside our reservation, drop everything else. */
    for (uint32_t i = 0; i < a->nvdso; i++) {
        r = sc5(NR_mremap, a->vdso[i].from, a->vdso[i].len, a->vdso[i].len,
                MREMAP_MAYMOVE | MREMAP_FIXED, a->vdso[i].scratch);
        if (r != (long)a->vdso[i].scratch)
            die(a, "mremap vdso to scratch", a->vdso[i].from, r);
    }
    ul lo = 0x10000, hi = 0x7ffffffff000UL;
    for (uint32_t i = 0; i <= a->nkeep; i++) {
        ul end = i < a->nkeep ? a->keep[i].start : hi;
        if (end > lo && (r = sc2(NR_munmap, lo, end - lo)))
            die(a, "munmap of tern's mappings", lo, r);
        if (i < a->nkeep)
            lo = a->keep[i].end;
    }

    /* 3. The vdso pieces go exactly where the image's code expects them. */
    for (uint32_t i = 0; i < a->nvdso; i++) {
        r = sc5(NR_mremap, a->vdso[i].scratch, a->vdso[i].len, a->vdso[i].len,
                MREMAP_MAYMOVE | MREMAP_FIXED, a->vdso[i].to);
        if (r != (long)a->vdso[i].to)
            die(a, "mremap vdso to image address", a->vdso[i].to, r);
    }

    /* 4. Memory. */
    for (uint32_t i = 0; i < a->nmaps; i++)
        map_region(a, &a->maps[i]);

    /* 5. brk, stack, arg/env and auxv as the image had them (unprivileged
     * PR_SET_MM_MAP: no exe_fd change). */
    a->mm.auxv = (uint64_t)a->auxv;
    r = sc5(NR_prctl, PR_SET_MM, PR_SET_MM_MAP, &a->mm, sizeof a->mm, 0);
    a->mm_ok = (int32_t)r;
    if (r)
        die(a, "prctl(PR_SET_MM_MAP) brk", a->mm.brk, r);

    /* 6. Other threads: the kernel writes each new tid into glibc's
     * struct pthread (CHILD_SETTID) and clears it at exit (CHILD_CLEARTID),
     * exactly what pthread_join waits on. */
    for (uint32_t i = 1; i < a->nthreads; i++) {
        struct rst_thread *t = &a->threads[i];
        ul flags = CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD |
                   CLONE_SYSVSEM | CLONE_SETTLS | CLONE_PARENT_SETTID;
        if (t->tid_addr)
            flags |= CLONE_CHILD_SETTID | CLONE_CHILD_CLEARTID;
        r = rst_clone(flags, t->stack_top, &t->new_tid, t->tid_addr, t->fs_base,
                      thread_entry, t);
        if (r < 0)
            die(a, "clone thread", t->fs_base, r);
    }

    /* 7. The leader: this very thread becomes image thread 0. */
    r = sc1(NR_set_tid_address, t0->tid_addr);
    t0->new_tid = (int32_t)r;
    if (t0->tid_addr)
        *(volatile int32_t *)t0->tid_addr = (int32_t)r;
    thread_state(a, t0);
    if ((r = sc2(NR_arch_prctl, ARCH_SET_FS, t0->fs_base)))
        die(a, "arch_prctl(ARCH_SET_FS)", t0->fs_base, r);
    if (t0->gs_base && (r = sc2(NR_arch_prctl, ARCH_SET_GS, t0->gs_base)))
        die(a, "arch_prctl(ARCH_SET_GS)", t0->gs_base, r);

    /* 8. Timers and pending signals last: everything is blocked until each
     * thread's sigreturn installs its own mask. */
    for (int i = 0; i < 3; i++) {
        if (a->itimer[i].value_sec || a->itimer[i].value_usec)
            if ((r = sc3(NR_setitimer, i, &a->itimer[i], 0)))
                die(a, "setitimer", (ul)i, r);
    }
    long pid = sc0(NR_getpid);
    for (int i = 0; i < a->npending; i++)
        sc3(NR_rt_sigqueueinfo, pid, *(int32_t *)a->pending[i], a->pending[i]);
    for (int i = 0; i < t0->npending; i++)
        sc4(NR_rt_tgsigqueueinfo, pid, t0->new_tid, *(int32_t *)t0->pending[i], t0->pending[i]);

    /* the other threads may still need errfd to report a failure */
    while (__atomic_load_n(&a->threads_started, __ATOMIC_SEQ_CST) < (int32_t)a->nthreads - 1)
        sc0(NR_sched_yield);
    sc1(NR_close, a->memfd);
    for (int i = 0; i < a->nclose; i++)
        sc1(NR_close, a->close_fds[i]);
    if (a->errfd >= 0)
        sc1(NR_close, a->errfd);
    jump(t0->frame);
}
