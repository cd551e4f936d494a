#define _GNU_SOURCE
#include "dmp_ptrace.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

#include "dmp_maps.h"

#ifndef PTRACE_EVENT_STOP
#define PTRACE_EVENT_STOP 128
#endif

static int has_tid(const dmp_proc *p, pid_t t)
{
    for (int i = 0; i < p->nthreads; i++)
        if (p->tids[i] == t)
            return 1;
    return 0;
}

static int grow(dmp_proc *p)
{
    int n = p->nthreads + 1;
    pid_t *t = realloc(p->tids, n * sizeof *t);
    if (t)
        p->tids = t;
    dmp_regs *r = realloc(p->orig, n * sizeof *r);
    if (r)
        p->orig = r;
    uint64_t *m = realloc(p->orig_mask, n * sizeof *m);
    if (m)
        p->orig_mask = m;
    int *d = realloc(p->dirty, n * sizeof *d);
    if (d)
        p->dirty = d;
    return t && r && m && d ? 0 : -1;
}

/* Wait for the interrupt stop of a freshly seized thread. A signal that was
 * on its way in shows up first as a signal-delivery stop: keep its siginfo
 * and let the interrupt stop come. */
static int wait_stop(dmp_proc *p, int ti, tern_error *err)
{
    pid_t tid = p->tids[ti];
    for (;;) {
        int st;
        if (waitpid(tid, &st, __WALL) < 0)
            return tern_error_set(err, errno, "pid %d: waiting for thread %d to stop: %s",
                                  p->pid, tid, strerror(errno));
        if (!WIFSTOPPED(st))
            return tern_error_set(err, ESRCH, "pid %d: thread %d exited while being stopped",
                                  p->pid, tid);
        if ((st >> 16) == PTRACE_EVENT_STOP)
            return 0;
        int sig = WSTOPSIG(st);
        dmp_caught *c = realloc(p->caught, (p->ncaught + 1) * sizeof *c);
        if (!c)
            return tern_error_set(err, ENOMEM, "pid %d: out of memory", p->pid);
        p->caught = c;
        c = &p->caught[p->ncaught++];
        c->thread = ti;
        memset(c->info, 0, sizeof c->info);
        if (ptrace(PTRACE_GETSIGINFO, tid, 0, c->info) < 0) {
            siginfo_t *si = (siginfo_t *)c->info;
            si->si_signo = sig;
            si->si_code = SI_TKILL;
        }
        if (ptrace(PTRACE_CONT, tid, 0, 0) < 0)
            return tern_error_set(err, errno, "pid %d: thread %d: %s", p->pid, tid,
                                  strerror(errno));
    }
}

static int find_syscall_insn(dmp_proc *p, tern_error *err)
{
    dmp_mapping *m;
    int n;
    if (dmp_maps_read(p->pid, &m, &n, err))
        return -1;
    uint64_t lo = 0, hi = 0;
    for (int i = 0; i < n; i++)
        if (!strcmp(m[i].path, "[vdso]")) {
            lo = m[i].start;
            hi = m[i].end;
        }
    free(m);
    if (!lo)
        return tern_error_set(err, ENOENT, "pid %d: no [vdso] mapping", p->pid);
    size_t len = hi - lo;
    unsigned char *buf = malloc(len);
    if (!buf)
        return tern_error_set(err, ENOMEM, "pid %d: out of memory", p->pid);
    if (dmp_proc_read(p, lo, buf, len, err)) {
        free(buf);
        return -1;
    }
    for (size_t i = 0; i + 1 < len; i++)
        if (buf[i] == 0x0f && buf[i + 1] == 0x05) {
            p->sc_insn = lo + i;
            break;
        }
    free(buf);
    if (!p->sc_insn)
        return tern_error_set(err, ENOENT, "pid %d: no syscall instruction in [vdso]", p->pid);
    return 0;
}

int dmp_proc_seize(pid_t pid, dmp_proc *p, tern_error *err)
{
    memset(p, 0, sizeof *p);
    p->pid = pid;
    p->memfd = -1;
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
    /* Threads can be born until every existing one is stopped: list again
     * until a pass finds nobody new. The leader goes first. */
    for (int pass = 0;; pass++) {
        int added = 0;
        DIR *d = opendir(path);
        if (!d) {
            tern_error_set(err, errno, "pid %d: %s", (int)pid,
                           errno == ENOENT ? "no such process" : strerror(errno));
            goto fail;
        }
        struct dirent *de;
        pid_t list[4096];
        int nl = 0;
        if (pass == 0)
            list[nl++] = pid;
        while ((de = readdir(d)) && nl < 4096) {
            pid_t t = atoi(de->d_name);
            if (t > 0 && t != pid)
                list[nl++] = t;
        }
        closedir(d);
        for (int i = 0; i < nl; i++) {
            pid_t t = list[i];
            if (has_tid(p, t))
                continue;
            if (ptrace(PTRACE_SEIZE, t, 0, 0) < 0) {
                if (errno == ESRCH && t != pid)
                    continue;
                tern_error_set(err, errno, "pid %d: cannot ptrace thread %d: %s", (int)pid,
                               t, strerror(errno));
                goto fail;
            }
            if (grow(p)) {
                ptrace(PTRACE_DETACH, t, 0, 0);
                tern_error_set(err, ENOMEM, "pid %d: out of memory", (int)pid);
                goto fail;
            }
            int ti = p->nthreads++;
            p->tids[ti] = t;
            p->dirty[ti] = 0;
            if (ptrace(PTRACE_INTERRUPT, t, 0, 0) < 0 || wait_stop(p, ti, err)) {
                if (!err || !err->code)
                    tern_error_set(err, errno, "pid %d: cannot stop thread %d", (int)pid, t);
                goto fail;
            }
            if (ptrace(PTRACE_GETREGS, t, 0, &p->orig[ti]) < 0 ||
                ptrace(PTRACE_GETSIGMASK, t, sizeof(uint64_t), &p->orig_mask[ti]) < 0) {
                tern_error_set(err, errno, "pid %d: thread %d: reading registers: %s",
                               (int)pid, t, strerror(errno));
                goto fail;
            }
            added++;
        }
        if (!added && pass > 0)
            break;
    }
    snprintf(path, sizeof path, "/proc/%d/mem", (int)pid);
    p->memfd = open(path, O_RDWR | O_CLOEXEC);
    if (p->memfd < 0) {
        tern_error_set(err, errno, "%s: %s", path, strerror(errno));
        goto fail;
    }
    if (find_syscall_insn(p, err))
        goto fail;
    return 0;
fail:
    dmp_proc_release(p, 0, NULL);
    return -1;
}

int dmp_proc_read(dmp_proc *p, uint64_t addr, void *buf, size_t n, tern_error *err)
{
    char *b = buf;
    while (n) {
        ssize_t r = pread(p->memfd, b, n, (off_t)addr);
        if (r <= 0)
            return tern_error_set(err, r ? errno : EIO, "pid %d: reading memory at 0x%llx: %s",
                                  p->pid, (unsigned long long)addr,
                                  r ? strerror(errno) : "short read");
        b += r;
        addr += (uint64_t)r;
        n -= (size_t)r;
    }
    return 0;
}

int dmp_proc_write(dmp_proc *p, uint64_t addr, const void *buf, size_t n, tern_error *err)
{
    ssize_t r = pwrite(p->memfd, buf, n, (off_t)addr);
    if (r != (ssize_t)n)
        return tern_error_set(err, errno, "pid %d: writing memory at 0x%llx: %s", p->pid,
                              (unsigned long long)addr, r < 0 ? strerror(errno) : "short");
    return 0;
}

int dmp_proc_inject(dmp_proc *p, int ti, long nr, const long a[6], long *ret, tern_error *err)
{
    pid_t tid = p->tids[ti];
    struct user_regs_struct r;
    memcpy(&r, &p->orig[ti], sizeof r);
    r.rip = p->sc_insn;
    r.rax = (unsigned long)nr;
    r.orig_rax = (unsigned long)-1; /* no syscall restart on the way out */
    r.rdi = a[0];
    r.rsi = a[1];
    r.rdx = a[2];
    r.r10 = a[3];
    r.r8 = a[4];
    r.r9 = a[5];
    if (!p->dirty[ti]) {
        /* a signal arriving mid-injection must stay pending, not run */
        uint64_t all = ~0ULL;
        if (ptrace(PTRACE_SETSIGMASK, tid, sizeof all, &all) < 0)
            return tern_error_set(err, errno, "pid %d: thread %d: blocking signals: %s",
                                  p->pid, tid, strerror(errno));
        p->dirty[ti] = 1;
    }
    if (ptrace(PTRACE_SETREGS, tid, 0, &r) < 0 || ptrace(PTRACE_SINGLESTEP, tid, 0, 0) < 0)
        return tern_error_set(err, errno, "pid %d: thread %d: injecting syscall %ld: %s",
                              p->pid, tid, nr, strerror(errno));
    int st;
    if (waitpid(tid, &st, __WALL) < 0 || !WIFSTOPPED(st))
        return tern_error_set(err, ESRCH, "pid %d: thread %d died during syscall %ld",
                              p->pid, tid, nr);
    if (WSTOPSIG(st) != SIGTRAP)
        return tern_error_set(err, EIO, "pid %d: thread %d: unexpected stop (signal %d) "
                              "during syscall %ld", p->pid, tid, WSTOPSIG(st), nr);
    if (ptrace(PTRACE_GETREGS, tid, 0, &r) < 0)
        return tern_error_set(err, errno, "pid %d: thread %d: %s", p->pid, tid,
                              strerror(errno));
    *ret = (long)r.rax;
    return 0;
}

int dmp_proc_scratch_map(dmp_proc *p, tern_error *err)
{
    long a[6] = {0, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0}, r;
    if (dmp_proc_inject(p, 0, SYS_mmap, a, &r, err))
        return -1;
    if (r < 0 && r > -4096)
        return tern_error_set(err, (int)-r, "pid %d: mmap of a scratch page: %s", p->pid,
                              strerror((int)-r));
    p->scratch = (uint64_t)r;
    return 0;
}

int dmp_proc_scratch_unmap(dmp_proc *p, tern_error *err)
{
    if (!p->scratch)
        return 0;
    long a[6] = {(long)p->scratch, 4096, 0, 0, 0, 0}, r;
    if (dmp_proc_inject(p, 0, SYS_munmap, a, &r, err))
        return -1;
    p->scratch = 0;
    return 0;
}

int dmp_proc_release(dmp_proc *p, int kill_it, tern_error *err)
{
    int rc = 0;
    if (kill_it) {
        kill(p->pid, SIGKILL);
    } else {
        /* Signals we took out of delivery go back in, as the same siginfo. */
        if (p->ncaught && !p->scratch && dmp_proc_scratch_map(p, err))
            rc = -1;
        for (int i = 0; i < p->ncaught && !rc; i++) {
            long r, a[6] = {p->pid, p->tids[p->caught[i].thread],
                            ((siginfo_t *)p->caught[i].info)->si_signo, (long)p->scratch, 0, 0};
            if (dmp_proc_write(p, p->scratch, p->caught[i].info, 128, err) ||
                dmp_proc_inject(p, 0, SYS_rt_tgsigqueueinfo, a, &r, err))
                rc = -1;
        }
        if (!rc && dmp_proc_scratch_unmap(p, err))
            rc = -1;
        for (int i = 0; i < p->nthreads; i++) {
            if (!p->dirty[i])
                continue;
            if (ptrace(PTRACE_SETREGS, p->tids[i], 0, &p->orig[i]) < 0 ||
                ptrace(PTRACE_SETSIGMASK, p->tids[i], sizeof(uint64_t), &p->orig_mask[i]) < 0)
                rc = rc ? rc : tern_error_set(err, errno, "pid %d: thread %d: restoring "
                                              "registers: %s", p->pid, p->tids[i],
                                              strerror(errno));
        }
    }
    for (int i = 0; i < p->nthreads; i++)
        ptrace(PTRACE_DETACH, p->tids[i], 0, 0);
    if (p->memfd >= 0)
        close(p->memfd);
    free(p->tids);
    free(p->orig);
    free(p->orig_mask);
    free(p->dirty);
    free(p->caught);
    memset(p, 0, sizeof *p);
    p->memfd = -1;
    return rc;
}
