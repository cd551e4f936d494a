/* External shared memory across a dump and a restore, the way transparent
 * mode's proxy will do it with its channel (docs/dumper.md, "External
 * shared memory"):
 *
 *   dmp_ext_driver EXTMEM
 *
 * 1. makes memfd A, starts EXTMEM (progs/extmem.c) with it; EXTMEM maps it
 *    shared and counts;
 * 2. tern_dump_capture without options must refuse the memfd mapping (the
 *    process runs on), one naming a wrong address is refused too;
 * 3. captures with A's mapping external, puts the image into a serial
 *    checkpoint (MPI_COMM_NULL, as `tern dump` does), kills EXTMEM;
 * 4. the image without fds: tern_restore_check and tern_restore (in a
 *    child) give the one line; a too small memfd, a read-only fd and a
 *    pipe are refused by tern_restore_check_opts;
 * 5. makes memfd B with other contents and restores the image in a child
 *    that creates nothing, with B external: the restored process's private
 *    counter continues from the saved value, it answers through B (its fd
 *    and its mapping are B, at the saved address and fd number), never
 *    touches A again;
 * 6. dumps that restored process again with the region external (through
 *    tern_dump_put_sink this time), kills it and restores the second image
 *    with a third memfd C, the same checks;
 *    it exits 0 after checking its private heap.
 * Prints PASS, or FAIL: and the reason (exit 1). Every wait is bounded. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "dumper.h"
#include "ext_page.h"
#include "tern_store.h"

#define MAGIC_A 0x4141414141414141ULL
#define MAGIC_B 0x4242424242424242ULL
#define MAGIC_C 0x4343434343434343ULL
#define CHILD_FD 3   /* where EXTMEM gets memfd A */

static pid_t kids[8];
static int nkids;
static char dir[64];

static void cleanup(void)
{
    for (int i = 0; i < nkids; i++)
        if (kids[i] > 0)
            kill(kids[i], SIGKILL);
    DIR *d = dir[0] ? opendir(dir) : NULL;
    struct dirent *de;
    while (d && (de = readdir(d))) {
        char p[512];
        if (de->d_name[0] == '.')
            continue;
        snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
        unlink(p);
    }
    if (d) {
        closedir(d);
        rmdir(dir);
    }
}

static void __attribute__((noreturn, format(printf, 1, 2))) fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    printf("FAIL: ");
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
    fflush(stdout);
    cleanup();
    exit(1);
}

static void sleep_ms(int ms)
{
    struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&t, NULL);
}

static uint64_t get(const uint64_t *w)
{
    return __atomic_load_n(w, __ATOMIC_ACQUIRE);
}

static void set(uint64_t *w, uint64_t v)
{
    __atomic_store_n(w, v, __ATOMIC_RELEASE);
}

/* A memfd of len bytes named like the channel, mapped here. */
static struct ext_page *make_memfd(size_t len, uint64_t magic, int *fd)
{
    *fd = memfd_create("tern-channel", 0);
    if (*fd < 0 || ftruncate(*fd, (off_t)len) < 0)
        fail("memfd: %s", strerror(errno));
    struct ext_page *pg = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, *fd, 0);
    if (pg == MAP_FAILED)
        fail("mmap memfd: %s", strerror(errno));
    memset(pg, 0x5a, len);   /* other contents than the dumped memory */
    memset(pg, 0, sizeof *pg);
    pg->magic = magic;
    return pg;
}

/* Until cond(pg) holds, at most secs seconds; pid must not end meanwhile
 * (0: not watched). */
static int wait_for(struct ext_page *pg, int (*cond)(struct ext_page *), pid_t pid, int secs)
{
    for (int i = 0; i < secs * 1000; i++) {
        if (cond(pg))
            return 1;
        int st;
        if (pid > 0 && waitpid(pid, &st, WNOHANG) == pid)
            fail("pid %d ended early (status 0x%x)", (int)pid, st);
        sleep_ms(1);
    }
    return 0;
}

/* pid's exit status, waiting at most secs seconds; -1 if it is still running. */
static int wait_exit(pid_t pid, int secs)
{
    for (int i = 0; i < secs * 100; i++) {
        int st;
        pid_t r = waitpid(pid, &st, WNOHANG);
        if (r == pid)
            return st;
        if (r < 0)
            return -2;
        sleep_ms(10);
    }
    return -1;
}

static int counting(struct ext_page *pg) { return get(&pg->addr) && get(&pg->count) >= 50; }
static int restored_counts(struct ext_page *pg) { return get(&pg->count) != 0; }
static uint64_t want_token;
static int echoed(struct ext_page *pg) { return get(&pg->echo) == want_token; }

/* EXTMEM with memfd a at CHILD_FD, nothing else but stdio. */
static pid_t start_prog(const char *prog, int a)
{
    pid_t pid = fork();
    if (pid < 0)
        fail("fork: %s", strerror(errno));
    if (pid == 0) {
        int null = open("/dev/null", O_RDONLY);
        if (null < 0 || dup2(null, 0) < 0 || dup2(a, CHILD_FD) < 0)
            _exit(126);
        for (int fd = CHILD_FD + 1; fd < 1024; fd++)
            close(fd);
        char arg[16];
        snprintf(arg, sizeof arg, "%d", CHILD_FD);
        execl(prog, prog, arg, (char *)NULL);
        _exit(127);
    }
    kids[nkids++] = pid;
    return pid;
}

/* A writer through functions, as the proxy reaches libtern's store. */
static int sink_put(void *w, const char *name, const void *buf, size_t len, tern_error *err)
{
    return tern_ckpt_put(w, name, buf, len, err);
}

static int sink_put_fn(void *w, const char *name, uint64_t len, tern_fill_fn fill, void *ctx,
                       tern_error *err)
{
    return tern_ckpt_put_fn(w, name, len, fill, ctx, err);
}

/* The image of pid with its mapping at addr external, committed into dir
 * as epoch (put through a tern_dump_sink from epoch 2 on); the process is
 * killed. Returns the image file. */
static void dump_external(pid_t pid, uint64_t addr, uint64_t epoch, char *path, size_t plen)
{
    tern_error err = {0};
    tern_dump *d = NULL;
    tern_dump_opts o = {&addr, 1};
    tern_dump_info info;
    if (tern_dump_capture_opts(pid, &o, &d, &info, &err))
        fail("capture with the region external: %s", err.msg);
    tern_store_opts so;
    tern_store_opts_default(&so);
    so.compress_level = 0;
    so.job = "ext";
    tern_ckpt_writer *w = NULL;
    tern_ckpt_stats stats;
    if (tern_ckpt_begin(MPI_COMM_NULL, dir, epoch, &so, &w, &err))
        fail("tern_ckpt_begin: %s", err.msg);
    tern_dump_sink ds = {w, sink_put, sink_put_fn};
    if (epoch == 1 ? tern_dump_put(d, w, "app", &err) : tern_dump_put_sink(d, &ds, "app", &err)) {
        tern_ckpt_abort(w);
        fail("tern_dump_put: %s", err.msg);
    }
    if (tern_ckpt_commit(w, &stats, &err))
        fail("commit: %s", err.msg);
    if (tern_dump_release(d, 1, &err))
        fail("release: %s", err.msg);
    snprintf(path, plen, "%s", stats.path);
}

/* The process must be refused without the region external, and with an
 * address that starts no mapping; it runs on. */
static void refusals_at_capture(pid_t pid, struct ext_page *a)
{
    tern_error err = {0};
    tern_dump *d = NULL;
    if (!tern_dump_capture(pid, &d, NULL, &err)) {
        tern_dump_release(d, 0, NULL);
        fail("capture without options took the shared memfd mapping");
    }
    if (!strstr(err.msg, "is a shared mapping of /memfd:tern-channel"))
        fail("capture without options: unexpected message '%s'", err.msg);
    printf("refused without options: %s\n", err.msg);
    uint64_t bad = 0x10000;
    tern_dump_opts o = {&bad, 1};
    if (!tern_dump_capture_opts(pid, &o, &d, NULL, &err)) {
        tern_dump_release(d, 0, NULL);
        fail("capture with a wrong external address succeeded");
    }
    if (!strstr(err.msg, "external region 0 at 0x10000: no mapping starts there"))
        fail("wrong address: unexpected message '%s'", err.msg);
    uint64_t c0 = get(&a->count);
    sleep_ms(100);
    if (get(&a->count) == c0)
        fail("the refused process stopped counting");
}

/* The check's message with o (NULL: tern_restore_check) must contain want. */
static void check_refused(tern_ckpt *ck, const struct tern_restore_opts *o, const char *want,
                          const char *what)
{
    tern_error err = {0};
    int rc = o ? tern_restore_check_opts(ck, 0, "app", o, &err)
               : tern_restore_check(ck, 0, "app", &err);
    if (!rc)
        fail("check %s: accepted", what);
    if (!strstr(err.msg, want))
        fail("check %s: got '%s', expected '%s'", what, err.msg, want);
    printf("check %s: %s\n", what, err.msg);
}

/* Without fds the image is refused by the check and by the restore itself
 * (in a child, which must come back with the line); too small a memfd and
 * a read-only fd are refused; B itself passes. */
static void refusals_at_restore(const char *path, uint64_t addr, int b)
{
    char want[128];
    snprintf(want, sizeof want, "region 0x%llx is the proxy's channel: restore it under tern-proxy",
             (unsigned long long)addr);
    tern_error err = {0};
    tern_ckpt *ck = NULL;
    if (tern_ckpt_open(path, &ck, &err))
        fail("open %s: %s", path, err.msg);
    check_refused(ck, NULL, want, "without fds");
    int small;
    make_memfd(4096, MAGIC_B, &small);
    int fds[1] = {small};
    struct tern_restore_opts o = {fds, 1, 0};
    check_refused(ck, &o, "has 4096 bytes, the region needs 8192", "with a small memfd");
    char self[64];
    snprintf(self, sizeof self, "/proc/self/fd/%d", b);
    fds[0] = open(self, O_RDONLY);
    check_refused(ck, &o, "is not open for reading and writing", "with a read-only fd");
    close(fds[0]);
    int pp[2];
    if (pipe(pp) < 0)
        fail("pipe: %s", strerror(errno));
    fds[0] = pp[0];
    check_refused(ck, &o, "is not a memfd or file", "with a pipe");
    close(pp[0]);
    close(pp[1]);
    close(small);
    fds[0] = b;
    if (tern_restore_check_opts(ck, 0, "app", &o, &err))
        fail("check with memfd B: %s", err.msg);
    tern_ckpt_close(ck);

    int pfd[2];
    if (pipe(pfd) < 0)
        fail("pipe: %s", strerror(errno));
    pid_t pid = fork();
    if (pid == 0) {
        close(pfd[0]);
        if (tern_ckpt_open(path, &ck, &err) == 0)
            tern_restore(ck, 0, "app", &err);
        if (write(pfd[1], err.msg, strlen(err.msg)) < 0)
            _exit(2);
        _exit(strcmp(err.msg, want) ? 1 : 0);
    }
    kids[nkids++] = pid;
    close(pfd[1]);
    int st = wait_exit(pid, 10);
    char msg[512] = {0};
    if (read(pfd[0], msg, sizeof msg - 1) < 0)
        msg[0] = 0;
    close(pfd[0]);
    if (st < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
        fail("restore without fds: status 0x%x, message '%s', expected '%s'", st, msg, want);
    printf("restore without fds: %s\n", msg);
}

/* The restored process at addr maps B, and its fd CHILD_FD is B. */
static void check_maps_and_fd(pid_t pid, uint64_t addr, int b)
{
    struct stat sb, sf;
    char p[64], line[512];
    if (fstat(b, &sb) < 0)
        fail("fstat B: %s", strerror(errno));
    snprintf(p, sizeof p, "/proc/%d/fd/%d", (int)pid, CHILD_FD);
    if (stat(p, &sf) < 0 || sf.st_ino != sb.st_ino || sf.st_dev != sb.st_dev)
        fail("restored fd %d is not memfd B", CHILD_FD);
    snprintf(p, sizeof p, "/proc/%d/maps", (int)pid);
    FILE *f = fopen(p, "r");
    int found = 0;
    while (f && fgets(line, sizeof line, f)) {
        unsigned long long lo, hi, ino;
        char perm[8];
        if (sscanf(line, "%llx-%llx %7s %*s %*s %llu", &lo, &hi, perm, &ino) == 4 && lo == addr)
            found = hi - lo == EXT_PAGE_LEN && !strcmp(perm, "rw-s") && ino == sb.st_ino ? 1 : -1;
    }
    if (f)
        fclose(f);
    if (found != 1)
        fail("restored mapping at 0x%llx is %s", (unsigned long long)addr,
             found ? "not B, shared, rw, 8192 bytes" : "missing");
}

/* The image restored in a child with memfd b external; it must carry on
 * in b (pb), never in the memfd it had before (pa). Returns its pid, still
 * running. */
static pid_t restore_with(const char *path, uint64_t addr, uint64_t saved, int b,
                          struct ext_page *pb, struct ext_page *pa)
{
    uint64_t a_count = get(&pa->count);
    set(&pb->token, 0x1111);
    pid_t pid = fork();
    if (pid == 0) {
        tern_error err = {0};
        tern_ckpt *ck = NULL;
        int fds[1] = {b};
        struct tern_restore_opts o = {fds, 1, 0};
        if (tern_ckpt_open(path, &ck, &err) == 0)
            tern_restore_opts(ck, 0, "app", &o, &err);
        fprintf(stderr, "restore: %s\n", err.msg);
        _exit(1);
    }
    kids[nkids++] = pid;
    if (!wait_for(pb, restored_counts, pid, 10))
        fail("the restored process never wrote into memfd B");
    uint64_t first = get(&pb->count);
    /* the published count may lag the private one by one at the stop; the
     * first store after restore is that plus one */
    if (first <= saved || first > saved + 2500)
        fail("restored counter %llu does not continue from the saved %llu",
             (unsigned long long)first, (unsigned long long)saved);
    printf("counter saved %llu, restored process went on at %llu\n", (unsigned long long)saved,
           (unsigned long long)first);
    want_token = 0x2222 + saved;
    set(&pb->token, want_token);
    if (!wait_for(pb, echoed, pid, 10))
        fail("the restored process did not answer through memfd B");
    check_maps_and_fd(pid, addr, b);
    if (get(&pa->count) != a_count)
        fail("the restored process wrote into its old memfd");
    return pid;
}

/* pid dumped with its region at addr external and killed; the image's
 * path, the count at the stop (pg: its memfd). */
static uint64_t dump_and_kill(pid_t pid, uint64_t addr, uint64_t epoch, struct ext_page *pg,
                              char *path, size_t plen)
{
    dump_external(pid, addr, epoch, path, plen);
    uint64_t saved = get(&pg->count);   /* as the process was stopped and killed */
    int st = wait_exit(pid, 10);
    if (st == -1 || (st >= 0 && !(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL)))
        fail("dumped process: status 0x%x, expected SIGKILL", st);
    printf("dumped at count %llu, region 0x%llx external -> %s\n", (unsigned long long)saved,
           (unsigned long long)addr, path);
    return saved;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: dmp_ext_driver EXTMEM\n");
        return 2;
    }
    umask(022);   /* restore takes only images no one else can write */
    setvbuf(stdout, NULL, _IOLBF, 0);   /* nothing buffered is copied into a child */
    snprintf(dir, sizeof dir, "/tmp/tern-dumper-ext.XXXXXX");
    if (!mkdtemp(dir))
        fail("mkdtemp: %s", strerror(errno));
    int a, b;
    struct ext_page *pa = make_memfd(EXT_PAGE_LEN, MAGIC_A, &a);
    pid_t pid = start_prog(argv[1], a);
    if (!wait_for(pa, counting, pid, 10))
        fail("extmem did not start counting");
    uint64_t addr = get(&pa->addr);
    refusals_at_capture(pid, pa);

    char path[4096], path2[4096];
    uint64_t saved = dump_and_kill(pid, addr, 1, pa, path, sizeof path);

    struct ext_page *pb = make_memfd(EXT_PAGE_LEN, MAGIC_B, &b);
    refusals_at_restore(path, addr, b);
    pid = restore_with(path, addr, saved, b, pb, pa);
    /* the restored process dumped again the same way (a transparent job's
     * next checkpoint), restored under a third memfd */
    saved = dump_and_kill(pid, addr, 2, pb, path2, sizeof path2);
    int c;
    struct ext_page *pc = make_memfd(EXT_PAGE_LEN, MAGIC_C, &c);
    pid = restore_with(path2, addr, saved, c, pc, pb);
    set(&pc->quit, 1);
    int st = wait_exit(pid, 10);
    if (st < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
        fail("restored process: status 0x%x (3: private heap damaged)", st);
    cleanup();
    printf("PASS\n");
    return 0;
}
