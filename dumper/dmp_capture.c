#define _GNU_SOURCE
#include "dmp_capture.h"

#include <dirent.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>
#include <sys/utsname.h>
#include <unistd.h>
#include <zlib.h>

#include "dmp_fds.h"
#include "dmp_maps.h"
#include "dmp_mem.h"
#include "restorer/rst_args.h"

#ifndef NT_X86_XSTATE
#define NT_X86_XSTATE 0x202
#endif

struct rseq_conf {   /* struct ptrace_rseq_configuration */
    uint64_t ptr;
    uint32_t size, sig, flags, pad;
};

static int read_small(const char *path, char *buf, size_t cap)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, buf, cap - 1);
    close(fd);
    if (n < 0)
        return -1;
    buf[n] = 0;
    return (int)n;
}

/* k if the mapping at start is external region k, else -1. */
static int ext_find(const dmp_ext *ext, uint64_t start)
{
    for (int k = 0; ext && k < ext->n; k++)
        if (ext->addr[k] == start)
            return k;
    return -1;
}

/* The object behind every external region (maps' device and inode): each
 * address must start a shared mapping of pid, once. *ids (malloc'ed, NULL
 * when there are none) is the caller's. */
static int ext_resolve(pid_t pid, const dmp_ext *ext, const dmp_mapping *m, int n,
                       dmp_ext_id **ids, tern_error *err)
{
    *ids = NULL;
    if (!ext || ext->n <= 0)
        return 0;
    if (!ext->addr)
        return tern_error_set(err, EINVAL, "pid %d: %d external regions, no addresses",
                              (int)pid, ext->n);
    dmp_ext_id *v = calloc((size_t)ext->n, sizeof *v);
    if (!v)
        return tern_error_set(err, ENOMEM, "out of memory");
    for (int k = 0; k < ext->n; k++) {
        int i = 0;
        while (i < n && m[i].start != ext->addr[k])
            i++;
        const char *why = i == n ? "no mapping starts there"
                          : !m[i].shared ? "it is a private mapping, not shared memory"
                          : ext_find(ext, ext->addr[k]) != k ? "it is named twice"
                          : NULL;
        if (why) {
            free(v);
            return tern_error_set(err, EINVAL, "pid %d: external region %d at 0x%llx: %s",
                                  (int)pid, k, (unsigned long long)ext->addr[k], why);
        }
        v[k].dev = (uint64_t)makedev(m[i].dev_major, m[i].dev_minor);
        v[k].ino = m[i].inode;
    }
    *ids = v;
    return 0;
}

/* Mappings that cannot be restored, but for the external ones. */
static int check_maps(pid_t pid, const dmp_ext *ext, const dmp_mapping *m, int n,
                      tern_error *err)
{
    for (int i = 0; i < n; i++) {
        if (ext_find(ext, m[i].start) >= 0)
            continue;   /* shared memory the restore's caller supplies again */
        if (!strncmp(m[i].path, "/SYSV", 5))
            return tern_error_set(err, ENOTSUP, "pid %d: region 0x%llx is SysV shared memory, "
                                  "which cannot be restored", (int)pid,
                                  (unsigned long long)m[i].start);
        if (m[i].shared && (m[i].deleted || m[i].path[0] != '/' ||
                            !strncmp(m[i].path, "/memfd:", 7)))
            return tern_error_set(err, ENOTSUP, "pid %d: region 0x%llx-0x%llx is a shared "
                                  "mapping of %s%s; its contents would be lost", (int)pid,
                                  (unsigned long long)m[i].start, (unsigned long long)m[i].end,
                                  m[i].path[0] ? m[i].path : "anonymous memory",
                                  m[i].deleted ? " (deleted)" : "");
    }
    return 0;
}

/* The fds of pid, with those of external regions recognised (into s). */
static int capture_fds(pid_t pid, const dmp_ext *ext, dmp_state *s, tern_error *err)
{
    dmp_mapping *m;
    int n;
    dmp_ext_id *ids = NULL;
    if (dmp_maps_read(pid, &m, &n, err))
        return -1;
    int rc = ext_resolve(pid, ext, m, n, &ids, err);
    free(m);
    if (!rc)
        rc = dmp_fds_capture(pid, s, ids, ids ? ext->n : 0, err);
    free(ids);
    return rc;
}

int dmp_capture_check(pid_t pid, const dmp_ext *ext, tern_error *err)
{
    char path[96], buf[4096];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    if (read_small(path, buf, sizeof buf) < 0)
        return tern_error_set(err, errno, "pid %d: %s", (int)pid,
                              errno == ENOENT ? "no such process" : strerror(errno));
    char *tp = strstr(buf, "TracerPid:");
    if (tp && atoi(tp + 10) != 0)
        return tern_error_set(err, EBUSY, "pid %d is being traced by pid %d; a traced "
                              "process cannot be dumped", (int)pid, atoi(tp + 10));
    /* A job-control stop would come back between our injected system calls
     * (and be lost on restore): let the user decide. */
    char *st = strstr(buf, "State:");
    if (st && strstr(st, "T (stopped)") && strstr(st, "T (stopped)") < strchr(st, '\n'))
        return tern_error_set(err, EBUSY, "pid %d is stopped by a signal; continue it "
                              "(kill -CONT %d) before dumping", (int)pid, (int)pid);
    /* children of any thread */
    snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
    DIR *d = opendir(path);
    struct dirent *de;
    while (d && (de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        char cp[128];
        snprintf(cp, sizeof cp, "/proc/%d/task/%.20s/children", (int)pid, de->d_name);
        if (read_small(cp, buf, sizeof buf) > 0 && atoi(buf) > 0) {
            closedir(d);
            return tern_error_set(err, ENOTSUP, "pid %d has a child process (pid %d); "
                                  "process trees cannot be dumped", (int)pid, atoi(buf));
        }
    }
    if (d)
        closedir(d);
    dmp_mapping *m;
    int n;
    if (dmp_maps_read(pid, &m, &n, err))
        return -1;
    dmp_ext_id *ids = NULL;
    int rc = ext_resolve(pid, ext, m, n, &ids, err);
    if (!rc)
        rc = check_maps(pid, ext, m, n, err);
    free(m);
    free(ids);
    if (rc)
        return -1;
    /* SysV semaphores/queues a process merely uses are invisible per
     * process; shared memory above is what we can see. Sockets are in fds. */
    dmp_state tmp = {0};
    rc = capture_fds(pid, ext, &tmp, err);
    free(tmp.fds);
    return rc;
}

int dmp_special_read(pid_t pid, dmp_special sp[4], uint32_t *vdso_crc, tern_error *err)
{
    dmp_mapping *m;
    int n, k = 0;
    memset(sp, 0, 4 * sizeof *sp);
    if (dmp_maps_read(pid, &m, &n, err))
        return -1;
    uint64_t vlo = 0, vhi = 0;
    for (int i = 0; i < n && k < 4; i++) {
        if (!strcmp(m[i].path, "[vvar]") || !strcmp(m[i].path, "[vvar_vclock]") ||
            !strcmp(m[i].path, "[vdso]")) {
            snprintf(sp[k].name, sizeof sp[k].name, "%.15s", m[i].path);
            sp[k].start = m[i].start;
            sp[k].end = m[i].end;
            k++;
            if (!strcmp(m[i].path, "[vdso]")) {
                vlo = m[i].start;
                vhi = m[i].end;
            }
        }
    }
    free(m);
    *vdso_crc = 0;
    if (vlo) {
        /* the text is the same for every process on one kernel build */
        char path[64];
        if (pid)
            snprintf(path, sizeof path, "/proc/%d/mem", (int)pid);
        else
            snprintf(path, sizeof path, "/proc/self/mem");
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        unsigned char *b = malloc(vhi - vlo);
        if (fd < 0 || !b || pread(fd, b, vhi - vlo, (off_t)vlo) != (ssize_t)(vhi - vlo)) {
            int e = errno;
            if (fd >= 0)
                close(fd);
            free(b);
            return tern_error_set(err, e, "%s: reading [vdso]: %s", path, strerror(e));
        }
        *vdso_crc = (uint32_t)crc32(0, b, (uInt)(vhi - vlo));
        close(fd);
        free(b);
    }
    return 0;
}

static int read_mm(pid_t pid, dmp_state *s, tern_error *err)
{
    char path[64], buf[4096];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    if (read_small(path, buf, sizeof buf) < 0)
        return tern_error_set(err, errno, "%s: %s", path, strerror(errno));
    char *p = strrchr(buf, ')');
    if (!p)
        return tern_error_set(err, EINVAL, "%s: unexpected format", path);
    unsigned long long v[64] = {0};
    int field = 3;
    for (char *t = strtok(p + 2, " "); t && field < 64; t = strtok(NULL, " "))
        v[field++] = strtoull(t, NULL, 10);
    if (field < 52)
        return tern_error_set(err, EINVAL, "%s: too few fields", path);
    s->h.start_code = v[26];
    s->h.end_code = v[27];
    s->h.start_stack = v[28];
    s->h.start_data = v[45];
    s->h.end_data = v[46];
    s->h.start_brk = v[47];
    s->h.arg_start = v[48];
    s->h.arg_end = v[49];
    s->h.env_start = v[50];
    s->h.env_end = v[51];
    snprintf(path, sizeof path, "/proc/%d/auxv", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return tern_error_set(err, errno, "%s: %s", path, strerror(errno));
    ssize_t n = read(fd, s->h.auxv, sizeof s->h.auxv);
    close(fd);
    if (n < 0)
        return tern_error_set(err, errno, "%s: %s", path, strerror(errno));
    s->h.auxv_bytes = (uint32_t)n;
    return 0;
}

/* A syscall stopped half-way is re-issued after restore, like the kernel's
 * own restart would: the saved ip goes back to the syscall instruction. */
static void rewind_syscall(dmp_regs *r)
{
    long ax = (long)r->rax;
    if ((long)r->orig_rax >= 0 && (ax == -512 || ax == -513 || ax == -514 || ax == -516)) {
        r->rax = r->orig_rax;
        r->rip -= 2;
    }
    r->orig_rax = (uint64_t)-1;
}

static int capture_thread(dmp_proc *p, int ti, dmp_thread *t, tern_error *err)
{
    pid_t tid = p->tids[ti];
    memset(t, 0, sizeof *t);
    t->tid = tid;
    memcpy(&t->regs, &p->orig[ti], sizeof t->regs);
    rewind_syscall(&t->regs);
    t->sigmask = p->orig_mask[ti];
    struct iovec iov = {t->xsave, sizeof t->xsave};
    if (ptrace(PTRACE_GETREGSET, tid, NT_X86_XSTATE, &iov) < 0)
        return tern_error_set(err, errno, "pid %d: thread %d: reading XSAVE state: %s",
                              p->pid, tid, strerror(errno));
    t->xsave_len = (uint32_t)iov.iov_len;
    void *head = NULL;
    size_t hlen = 0;
    if (syscall(SYS_get_robust_list, tid, &head, &hlen) < 0)
        return tern_error_set(err, errno, "pid %d: thread %d: get_robust_list: %s", p->pid,
                              tid, strerror(errno));
    t->robust_head = (uint64_t)head;
    t->robust_len = hlen;
    struct rseq_conf rc;
    memset(&rc, 0, sizeof rc);
    if (ptrace(PTRACE_GET_RSEQ_CONFIGURATION, tid, sizeof rc, &rc) >= 0) {
        t->rseq_ptr = rc.ptr;
        t->rseq_len = rc.size;
        t->rseq_sig = rc.sig;
    }
    long r, a[6] = {0, (long)p->scratch, 0, 0, 0, 0};
    if (dmp_proc_inject(p, ti, SYS_sigaltstack, a, &r, err))
        return -1;
    if (r == 0) {
        stack_t ss;
        if (dmp_proc_read(p, p->scratch, &ss, sizeof ss, err))
            return -1;
        t->ss_sp = (uint64_t)ss.ss_sp;
        t->ss_size = ss.ss_size;
        t->ss_flags = ss.ss_flags & ~SS_ONSTACK;
    } else {
        t->ss_flags = SS_DISABLE;
    }
    return 0;
}

/* Pending signals: the queue shared by the process, then each thread's. */
static int add_siginfo(dmp_state *s, const void *info, tern_error *err)
{
    uint32_t n = s->h.nsiginfo;
    uint8_t(*v)[128] = realloc(s->siginfo, (n + 1) * sizeof *v);
    if (!v)
        return tern_error_set(err, ENOMEM, "out of memory");
    s->siginfo = v;
    memcpy(v[n], info, 128);
    s->h.nsiginfo = n + 1;
    return 0;
}

static int peek_pending(dmp_proc *p, dmp_state *s, pid_t tid, int shared, tern_error *err)
{
    struct {
        uint64_t off;
        uint32_t flags;
        int32_t nr;
    } args = {0, shared ? 1u : 0u, 1};
    uint8_t info[128];
    for (;; args.off++) {
        long n = ptrace(PTRACE_PEEKSIGINFO, tid, &args, info);
        if (n < 0)
            return tern_error_set(err, errno, "pid %d: thread %d: reading pending signals: %s",
                                  p->pid, tid, strerror(errno));
        if (n == 0)
            return 0;
        if (add_siginfo(s, info, err))
            return -1;
    }
}

/* glibc keeps each thread's kernel tid in its struct pthread, which starts
 * at the thread pointer (fs base). Its offset is private to glibc, so find
 * it: the field sits 16 bytes before the robust list head glibc registers
 * (struct pthread: ..., pid_t tid; pid_t pid_ununsed; void *robust_prev;
 * struct robust_list_head robust_head), and it must hold the thread's tid.
 * Failing that, the one offset in the first 4 KiB that holds each thread's
 * tid in every thread. */
static int64_t find_tid_offset(dmp_proc *p, dmp_state *s)
{
    int64_t best = -1;
    int agree = 1;
    for (uint32_t i = 0; i < s->h.nthreads; i++) {
        dmp_thread *t = &s->threads[i];
        uint64_t fs = t->regs.fs_base;
        if (!fs)
            return -1;
        if (t->robust_head > fs && t->robust_head - fs < 4096 + 16) {
            int64_t off = (int64_t)(t->robust_head - fs) - 16;
            int32_t v;
            if (!dmp_proc_read(p, fs + off, &v, 4, NULL) && v == t->tid) {
                if (best >= 0 && best != off)
                    agree = 0;
                best = off;
                continue;
            }
        }
        agree = 0;
    }
    if (best >= 0 && agree)
        return best;
    /* scan fallback */
    static int32_t tcb[1024];
    int64_t cand = -1;
    for (uint32_t i = 0; i < s->h.nthreads; i++) {
        if (dmp_proc_read(p, s->threads[i].regs.fs_base, tcb, sizeof tcb, NULL))
            return -1;
        int64_t found = -1;
        for (int k = 0; k < 1024; k++)
            if (tcb[k] == s->threads[i].tid && (cand < 0 || cand == k * 4)) {
                if (found >= 0)
                    return -1;   /* ambiguous in this thread */
                found = k * 4;
            }
        if (found < 0)
            return -1;
        cand = found;
    }
    return cand;
}

static int is_restorer_leftover(dmp_proc *p, const dmp_mapping *m, uint64_t *skip_end,
                                struct rst_hdr *hdr)
{
    if (m->path[0] || m->shared || !(m->prot & PROT_READ))
        return 0;
    struct rst_hdr h;
    if (dmp_proc_read(p, m->start, &h, sizeof h, NULL))
        return 0;
    if (memcmp(h.magic, RST_MAGIC, RST_MAGIC_LEN))
        return 0;
    *skip_end = m->start + h.total_len;
    if (hdr)
        *hdr = h;
    return 1;
}

/* External region k: where it is and how it is mapped; no pages. */
static void external_region(dmp_region *r, const dmp_mapping *x, int k)
{
    r->kind = DMP_R_EXTERNAL;
    r->ext_index = k;
    r->ext_reserved = 0;
    r->foff = x->offset;
    r->inode = x->inode;
    r->dev = (uint64_t)makedev(x->dev_major, x->dev_minor);
}

static int build_regions(dmp_proc *p, const dmp_ext *ext, dmp_state *s, tern_error *err)
{
    dmp_mapping *m;
    int n;
    if (dmp_maps_read(p->pid, &m, &n, err))
        return -1;
    s->regions = calloc(n ? n : 1, sizeof *s->regions);
    if (!s->regions) {
        free(m);
        return tern_error_set(err, ENOMEM, "out of memory");
    }
    /* A restored process has pages of its image file mapped MAP_PRIVATE
     * (lazy restore); the restorer's leftover header names that file. Those
     * mappings are the process's anonymous memory: saved page by page like
     * a deleted file's, never recorded as a clean mapping of a file that
     * may be deleted or replaced later. */
    uint64_t img_dev = 0, img_ino = 0, skip_end = 0;
    for (int i = 0; i < n; i++) {
        struct rst_hdr h;
        if (m[i].start >= skip_end && is_restorer_leftover(p, &m[i], &skip_end, &h) && h.img_ino) {
            img_dev = h.img_dev;
            img_ino = h.img_ino;
        }
    }
    skip_end = 0;
    for (int i = 0; i < n; i++) {
        dmp_mapping *x = &m[i];
        if (x->start < skip_end)
            continue;
        if (!strcmp(x->path, "[vsyscall]") || !strcmp(x->path, "[vvar]") ||
            !strcmp(x->path, "[vvar_vclock]") || !strcmp(x->path, "[vdso]") ||
            !strcmp(x->path, "[uprobes]"))
            continue;
        if (is_restorer_leftover(p, x, &skip_end, NULL))
            continue;
        dmp_region *r = &s->regions[s->h.nregions++];
        r->start = x->start;
        r->end = x->end;
        r->prot = (uint32_t)x->prot;
        r->foff = x->offset;
        snprintf(r->path, sizeof r->path, "%s", x->path);
        if (!strcmp(x->path, "[stack]"))
            r->flags |= DMP_F_STACK;
        if (!strcmp(x->path, "[heap]"))
            r->flags |= DMP_F_HEAP;
        r->kind = DMP_R_ANON;
        int k = ext_find(ext, x->start);
        if (k >= 0) {
            external_region(r, x, k);
            continue;
        }
        if (x->path[0] == '/' && !x->deleted && strncmp(x->path, "/memfd:", 7)) {
            struct stat st;
            int have = stat(x->path, &st) == 0;
            /* maps shows the inode the pages come from; on overlayfs that
             * is the underlying file, so the path's identity counts too */
            int of_image = img_ino && !x->shared &&
                           ((x->inode == img_ino &&
                             (uint64_t)makedev(x->dev_major, x->dev_minor) == img_dev) ||
                            (have && st.st_ino == img_ino && (uint64_t)st.st_dev == img_dev));
            if (of_image) {
                /* stays DMP_R_ANON with its path: every page is saved */
            } else if (have && st.st_ino == x->inode) {
                r->kind = x->shared ? DMP_R_FILE_SHARED : DMP_R_FILE;
                r->inode = st.st_ino;
                r->dev = st.st_dev;
                r->fsize = (uint64_t)st.st_size;
                r->mtime_sec = st.st_mtim.tv_sec;
                r->mtime_nsec = st.st_mtim.tv_nsec;
            } else if (x->shared) {
                tern_error_set(err, ENOTSUP, "pid %d: region 0x%llx is a shared mapping of %s, "
                               "which was replaced on disk", p->pid,
                               (unsigned long long)x->start, x->path);
                free(m);
                return -1;
            }
        }
        if (r->kind == DMP_R_ANON && x->path[0] == '/')
            r->foff = 0;
    }
    free(m);
    return 0;
}

int dmp_capture(pid_t pid, const dmp_ext *ext, dmp_state *s, dmp_proc *p, tern_error *err)
{
    memset(s, 0, sizeof *s);
    s->h.magic = DMP_IMAGE_MAGIC;
    s->h.version = DMP_IMAGE_VERSION;
    s->h.minor = DMP_IMAGE_MINOR;
    s->h.pid = pid;
    struct utsname u;
    if (uname(&u) == 0)
        snprintf(s->h.kernel, sizeof s->h.kernel, "%s", u.release);
    if (dmp_capture_check(pid, ext, err))
        return -1;
    if (dmp_proc_seize(pid, p, err))
        return -1;
    /* only now: fd offsets and the like must be those of the stopped process */
    if (capture_fds(pid, ext, s, err) || read_mm(pid, s, err))
        return -1;
    if (dmp_proc_scratch_map(p, err))
        return -1;

    s->h.nthreads = (uint32_t)p->nthreads;
    s->threads = aligned_alloc(64, p->nthreads * sizeof *s->threads);
    if (!s->threads)
        return tern_error_set(err, ENOMEM, "out of memory");
    for (int i = 0; i < p->nthreads; i++)
        if (capture_thread(p, i, &s->threads[i], err))
            return -1;
    s->h.xsave_size = s->threads[0].xsave_len;

    /* process-wide state only the process can tell */
    for (int sig = 1; sig <= 64; sig++) {
        long r, a[6] = {sig, 0, (long)p->scratch, 8, 0, 0};
        if (dmp_proc_inject(p, 0, SYS_rt_sigaction, a, &r, err))
            return -1;
        if (r == 0 &&
            dmp_proc_read(p, p->scratch, &s->h.sigact[sig - 1], sizeof s->h.sigact[0], err))
            return -1;
    }
    for (int w = 0; w < 3; w++) {
        long r, a[6] = {w, (long)p->scratch, 0, 0, 0, 0};
        struct itimerval_k { int64_t v[4]; } it;
        if (dmp_proc_inject(p, 0, SYS_getitimer, a, &r, err))
            return -1;
        if (r == 0 && dmp_proc_read(p, p->scratch, &it, sizeof it, err))
            return -1;
        memcpy(s->h.itimer[w], it.v, sizeof it.v);
    }
    {
        long r, a[6] = {0};
        if (dmp_proc_inject(p, 0, SYS_brk, a, &r, err))
            return -1;
        s->h.brk = (uint64_t)r;
    }
    if (dmp_proc_scratch_unmap(p, err))
        return -1;

    /* signals: shared queue first, then per thread (incl. those we caught) */
    if (peek_pending(p, s, p->tids[0], 1, err))
        return -1;
    s->h.shared_pending = (int32_t)s->h.nsiginfo;
    for (int i = 0; i < p->nthreads; i++) {
        dmp_thread *t = &s->threads[i];
        t->pending0 = s->h.nsiginfo;
        if (peek_pending(p, s, p->tids[i], 0, err))
            return -1;
        for (int c = 0; c < p->ncaught; c++)
            if (p->caught[c].thread == i && add_siginfo(s, p->caught[c].info, err))
                return -1;
        t->npending = (int32_t)(s->h.nsiginfo - t->pending0);
    }
    s->h.tid_offset = find_tid_offset(p, s);

    if (dmp_special_read(pid, s->special, &s->h.vdso_crc, err))
        return -1;
    for (int i = 0; i < 4; i++)
        if (s->special[i].name[0])
            s->h.nspecial = (uint32_t)i + 1;
    if (build_regions(p, ext, s, err))
        return -1;
    return dmp_mem_scan(p, s, err);
}

void dmp_state_free(dmp_state *s)
{
    free(s->regions);
    free(s->runs);
    free(s->threads);
    free(s->fds);
    free(s->siginfo);
    memset(s, 0, sizeof *s);
}
