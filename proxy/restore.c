/* restore.c: a proxy that restarts its rank from a transparent checkpoint
 * (ckpt.h): instead of starting PROGRAM, it
 *   1. forks the process that will become the application, before MPI_Init
 *      (so that it holds nothing of Open MPI), which waits;
 *   2. calls MPI_Init; libtern rebuilds every communicator from the log and
 *      queues the drained messages (tern_tm_recover);
 *   3. puts back its registry at the saved ids (datatypes, groups, ops; the
 *      communicators are libtern's at their saved handles), and the channel
 *      as the application left it (the call it waits in, if any);
 *   4. lets the child go: it opens the checkpoint itself and becomes the
 *      saved application (dumper/), its channel mapped from the new memfd;
 *   5. makes the pending requests again, at their ids;
 *   6. serves: first the call the application was waiting in (made again;
 *      its sends skipped when they were done), then as always.
 * Any failure before step 4 ends the job in one line (nothing was started).
 */
#define _GNU_SOURCE
#include "ckpt.h"
#include "life.h"
#include "px_types.h"
#include "serve.h"

#include "dumper.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

typedef struct {
    int rank;
    char path[PATH_MAX];
} go_msg;

/* ---- the child: waits, then becomes the application ------------------------------------- */
static void child(int rd, int chan_fd, pid_t parent) __attribute__((noreturn));
static void child(int rd, int chan_fd, pid_t parent)
{
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(1);
    setpgid(0, 0);
    px_life_child();
    go_msg g;
    size_t got = 0;
    while (got < sizeof g) {
        ssize_t n = read(rd, (char *)&g + got, sizeof g - got);
        if (n <= 0) _exit(1);   /* the proxy failed first and said why */
        got += (size_t)n;
    }
    close(rd);
    g.path[sizeof g.path - 1] = 0;
    tern_error err;
    tern_ckpt *ck = NULL;
    if (tern_ckpt_open(g.path, &ck, &err)) {
        px_say("restart: %s", err.msg);
        _exit(127);
    }
    /* stdio is the new proxy's: mpirun gave it a pty of this run */
    struct tern_restore_opts o = {.ext_fd = &chan_fd, .n_ext = 1, .stdio_inherit = 1};
    tern_restore_opts(ck, g.rank, "app", &o, &err);
    px_say("restart: cannot restore the application: %s", err.msg);
    _exit(127);
}

/* ---- the proxy's state -------------------------------------------------------------------- */
static void *must_read(const char *name, size_t *len)
{
    void *b;
    tern_error err;
    if (tern_tm_read(name, &b, len, &err)) px_fatal("restart: %s", err.msg);
    return b;
}

static void restore_entry(const px_id_rec *r, const unsigned char *p)
{
    char why[512] = "";
    size_t used = 0;
    void *h = NULL, *ext = NULL;
    switch (r->kind) {
    case TK_COMM: {
        uint64_t v;
        if (r->len != sizeof v) px_fatal("restart: handle %llu: a bad communicator record", (unsigned long long)r->id);
        memcpy(&v, p, sizeof v);
        h = (void *)(uintptr_t)v;
        int size;
        if (MPI_Comm_size((MPI_Comm)h, &size) != MPI_SUCCESS)
            px_fatal("restart: communicator %llu was not rebuilt", (unsigned long long)r->id);
        break;
    }
    case TK_DTYPE: {
        MPI_Datatype t;
        if (px_type_load(p, r->len, &t, &used, why, sizeof why)) px_fatal("restart: a datatype: %s", why);
        h = t;
        break;
    }
    case TK_GROUP: {
        MPI_Group g;
        if (px_group_load(p, r->len, &g, &used, why, sizeof why)) px_fatal("restart: a group: %s", why);
        h = g;
        break;
    }
    case TK_OP: {
        uint64_t rec[3];
        MPI_Op op;
        if (r->len != sizeof rec) px_fatal("restart: a bad operation record");
        memcpy(rec, p, sizeof rec);
        if (px_op_restore(rec, &op, &ext)) px_fatal("restart: a user operation could not be made again");
        h = op;
        break;
    }
    case TK_REQ:
        return;   /* px.reqs, once the application is back */
    default:
        px_fatal("restart: a handle of kind %u cannot be restored", r->kind);
    }
    px_reg_at(r->id, h, (int)r->kind, r->refs);
    px_ent_of(r->id)->ext = ext;
}

static uint64_t restore_ids(void)
{
    size_t n;
    unsigned char *b = must_read("px.ids", &n);
    px_ids_hdr h;
    if (n < sizeof h) px_fatal("restart: px.ids is truncated");
    memcpy(&h, b, sizeof h);
    if (h.magic != PX_CKPT_MAGIC) px_fatal("restart: px.ids is not a proxy's registry");
    size_t at = sizeof h;
    while (at < n) {
        px_id_rec r;
        if (n - at < sizeof r) px_fatal("restart: px.ids is truncated");
        memcpy(&r, b + at, sizeof r);
        at += sizeof r;
        if (r.len > n - at || r.id < TP_N) px_fatal("restart: px.ids has a bad record");
        restore_entry(&r, b + at);
        at += r.len;
    }
    free(b);
    return h.hiwater;
}

static void restore_requests(void)
{
    size_t n;
    unsigned char *b = must_read("px.reqs", &n);
    char why[1024];
    px_mem_blind = 1;
    if (px_requests_restore(b, n, why, sizeof why)) px_fatal("restart: %s", why);
    px_mem_blind = 0;
    free(b);
}

/* The child has become the application once its memory is the image's:
 * the restorer sets the image's argument area (PR_SET_MM_MAP) after it has
 * mapped all memory, so /proc/PID/cmdline stops being the proxy's. Until
 * then the proxy must not read or write the application's memory. */
static void wait_restored(pid_t pid)
{
    char self[4096], path[64], got[4096];
    FILE *f = fopen("/proc/self/cmdline", "r");
    size_t ns = f ? fread(self, 1, sizeof self, f) : 0;
    if (f) fclose(f);
    snprintf(path, sizeof path, "/proc/%d/cmdline", (int)pid);
    for (int i = 0; i < 600000; i++) {
        f = fopen(path, "r");
        size_t ng = f ? fread(got, 1, sizeof got, f) : 0;
        if (f) fclose(f);
        if (ng && (ng != ns || memcmp(got, self, ns))) return;
        px_app_check();   /* a failed restore: the proxy ends as its child did */
        usleep(100);
    }
    px_fatal("restart: the application was not restored within a minute");
}

static void init_mpi(void)
{
    tern_tm_enable(&px_tm_hooks);
    setenv("OMPI_MCA_mpi_yield_when_idle", "1", 0);
    int provided;
    /* the application initialized MPI before the checkpoint; the proxy
     * makes every call on one thread */
    if (MPI_Init_thread(&px_argc, &px_argv, MPI_THREAD_SERIALIZED, &provided) != MPI_SUCCESS)
        px_fatal("restart: MPI_Init failed");
    px_initialized = 1;
    px_handles_init();
    if (!tern_tm_restarted()) px_fatal("restart: TERN_RESTART names no checkpoint libtern could open");
    if (tern_tm_recover()) px_fatal("restart: the communicators could not be rebuilt");
}

void px_restart(tern_chan *c, int fd)
{
    int go[2];
    if (pipe(go)) px_fatal("pipe: %s", strerror(errno));
    sigset_t chld, old;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    sigprocmask(SIG_BLOCK, &chld, &old);
    pid_t parent = getpid(), pid = fork();
    if (pid < 0) px_fatal("fork: %s", strerror(errno));
    if (pid == 0) {
        close(go[1]);
        child(go[0], fd, parent);
    }
    close(go[0]);
    px_app = pid;
    sigprocmask(SIG_SETMASK, &old, NULL);

    init_mpi();
    size_t n;
    px_state *st = must_read("px.state", &n);
    if (n != sizeof *st || st->magic != PX_CKPT_MAGIC || st->version != PX_CKPT_VERSION)
        px_fatal("restart: px.state is not a proxy state of version %u", PX_CKPT_VERSION);
    size_t clen, chlen;
    unsigned char *call = must_read("px.call", &clen);
    void *chan = must_read("px.chan", &chlen);
    if (clen != st->call_len || chlen != st->chan_len) px_fatal("restart: px.call or px.chan has the wrong size");
    uint64_t hiwater = restore_ids();

    tern_error err;
    int pending = st->phase != PX_IDLE;
    if (tern_chan_adopt(c, chan, chlen, pid, pending ? call : NULL, clen, st->call, &err))
        px_fatal("restart: %s", err.msg);
    free(chan);
    go_msg g;
    memset(&g, 0, sizeof g);
    MPI_Comm_rank(MPI_COMM_WORLD, &g.rank);
    snprintf(g.path, sizeof g.path, "%s", tern_tm_restart_file());
    if (write(go[1], &g, sizeof g) != (ssize_t)sizeof g) px_fatal("restart: the application process is gone");
    close(go[1]);
    wait_restored(pid);

    restore_requests();
    px_ids_restored(hiwater);
    px_serve_init(c);
    if (pending) {
        px_skip_send = st->phase == PX_SENT;
        px_serve_adopted(clen);
    }
    free(call);
    free(st);
    px_serve(c);
}
