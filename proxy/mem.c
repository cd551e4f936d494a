/* mem.c: the application's memory, read and written by the proxy
 * (px_dispatch.h). Large buffers do not go through the channel: one
 * process_vm_readv/writev moves them. The proxy is the application's parent,
 * which Yama's ptrace_scope 1 (Debian's default) allows; 2 allows it to root
 * only (CAP_SYS_PTRACE), 3 to nobody -- px_check_access() says so once, at
 * MPI_Init, instead of a failed call later.
 */
#define _GNU_SOURCE
#include "px_dispatch.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/uio.h>

pid_t px_app;

/* IOV_MAX entries per system call; a partial transfer goes on from where it
 * stopped (it stops at an iovec boundary or a page that is not mapped). */
static int moved(ssize_t r, size_t want)
{
    return r >= 0 && (size_t)r == want;
}

int px_mem_blind;

int px_read(uint64_t addr, void *dst, size_t n)
{
    if (px_mem_blind) {   /* a restart makes requests again before the application is back */
        memset(dst, 0, n);
        return 0;
    }
    while (n > 0) {
        struct iovec l = {dst, n}, r = {(void *)(uintptr_t)addr, n};
        ssize_t got = process_vm_readv(px_app, &l, 1, &r, 1, 0);
        if (got <= 0) return -1;
        dst = (char *)dst + got;
        addr += (uint64_t)got;
        n -= (size_t)got;
    }
    return 0;
}

int px_write(uint64_t addr, const void *src, size_t n)
{
    while (n > 0) {
        struct iovec l = {(void *)src, n}, r = {(void *)(uintptr_t)addr, n};
        ssize_t put = process_vm_writev(px_app, &l, 1, &r, 1, 0);
        if (put <= 0) return -1;
        src = (const char *)src + put;
        addr += (uint64_t)put;
        n -= (size_t)put;
    }
    return 0;
}

/* remote[i] <- local[i], same lengths pairwise */
int px_writev(const struct iovec *local, int nl, const struct iovec *remote, int nr)
{
    if (nl != nr) return -1;
    for (int i = 0; i < nl; i += IOV_MAX) {
        int k = nl - i < IOV_MAX ? nl - i : IOV_MAX;
        size_t want = 0;
        for (int j = 0; j < k; j++) want += local[i + j].iov_len;
        ssize_t put = process_vm_writev(px_app, local + i, (unsigned long)k, remote + i, (unsigned long)k, 0);
        if (!moved(put, want)) {
            /* finish one by one (rare: a partial batch) */
            for (int j = 0; j < k; j++)
                if (px_write((uint64_t)(uintptr_t)remote[i + j].iov_base, local[i + j].iov_base,
                             local[i + j].iov_len))
                    return -1;
        }
    }
    return 0;
}

static int yama_scope(void)
{
    FILE *f = fopen("/proc/sys/kernel/yama/ptrace_scope", "r");
    if (!f) return -1;
    int v = -1;
    if (fscanf(f, "%d", &v) != 1) v = -1;
    fclose(f);
    return v;
}

int px_check_access(uint64_t probe_addr)
{
    uint64_t v = 0;
    if (px_read(probe_addr, &v, sizeof v) == 0 && v == 0x7465726e70726f62ull) return 0;
    int e = errno, scope = yama_scope();
    if (scope >= 2)
        px_fatal("cannot read the application's memory (process_vm_readv: %s): kernel.yama.ptrace_scope is %d; "
                 "transparent mode needs 0 or 1%s",
                 strerror(e), scope, scope == 2 ? " (or to run as root)" : "");
    px_fatal("cannot read the application's memory (process_vm_readv: %s)", strerror(e));
}
