/* env.c: MPI_Init_thread, MPI_Finalize and MPI_Abort of the application,
 * served by the proxy's own (px_dispatch.h), and what transparent mode says
 * to the job directory.
 *
 * The proxy calls MPI_Init when the application does, not before starting
 * it: a program that never calls MPI_Init (mpirun hostname) then runs and
 * ends exactly as natively, and the application is forked before Open MPI
 * has threads or registered memory.
 */
#define _GNU_SOURCE
#include "px_dispatch.h"
#include "life.h"

#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tern.h"

int px_initialized, px_finalized;
int px_argc;
char **px_argv;

/* libtern's MPI_Init checks whether the application can ever reach a
 * snapshot point (it imports tern_snapshot); in transparent mode the proxy
 * is that application, and it will (the next issue). Until then it says so
 * itself, in its own words (px_event_unservable). */
__attribute__((used)) static int (*const proxy_snapshots)(void) = tern_snapshot;

#define NOT_YET "transparent mode cannot checkpoint yet"

/* `tern checkpoint` answers at once when the events say the job cannot be
 * served (jobs/request.c); `tern run` prints it as a warning. */
static void event_unservable(int rank)
{
    const char *dir = getenv("TERN_DIR");
    if (rank != 0 || !dir || !*dir) return;
    char path[4200], line[256];
    snprintf(path, sizeof path, "%s/events", dir);
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0666);
    if (fd < 0) return;
    int n = snprintf(line, sizeof line, "no_snapshot_points reason=%s\n", NOT_YET);
    ssize_t w = write(fd, line, (size_t)n);
    (void)w;
    close(fd);
}

/* the trigger signal is tern's (not forwarded to the application); until
 * transparent checkpoints exist it does nothing */
static void quiet_trigger(void)
{
    const char *s = getenv("TERN_SIGNAL");
    if (!s || !*s) return;
    for (int sig = 1; sig < NSIG; sig++) {
        const char *ab = sigabbrev_np(sig);
        if (ab && (!strcmp(s, ab) || (!strncmp(s, "SIG", 3) && !strcmp(s + 3, ab)) || atoi(s) == sig))
            signal(sig, SIG_IGN);
    }
}

static void init_answer(px_ctx *x, int provided)
{
    tw_init *in = px_rec(x, TW_R_INIT, 0, sizeof *in);
    in->provided = provided;
    MPI_Comm_rank(MPI_COMM_WORLD, &in->rank);
    MPI_Comm_size(MPI_COMM_WORLD, &in->size);
    for (uint64_t id = 0; id < TP_N; id++)
        if (px_predef_kind[id] == TK_DTYPE && id != TP_ompi_mpi_datatype_null) px_dtinfo(x, id, px_predef[id]);
}

int px_MPI_Init_thread(px_ctx *x)
{
    int required = (int)x->w[0], provided = MPI_THREAD_SINGLE;
    px_check_access(x->w[1]);
    int rc = MPI_Init_thread(&px_argc, &px_argv, required, &provided);
    if (rc != MPI_SUCCESS) return px_end(x, rc);
    px_initialized = 1;
    px_handles_init();
    quiet_trigger();
    int rank = 0;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    event_unservable(rank);
    init_answer(x, provided);
    return px_end(x, rc);
}

int px_MPI_Finalize(px_ctx *x)
{
    px_requests_finish();
    int rc = MPI_Finalize();
    if (rc == MPI_SUCCESS) px_finalized = 1;
    return px_end(x, rc);
}

int px_MPI_Abort(px_ctx *x)
{
    MPI_Comm comm = (MPI_Comm)px_h(x, x->w[0]);
    int code = (int)x->w[1];
    MPI_Abort(comm, code);
    _exit(code ? code : 1);
}

/* ---- messages ------------------------------------------------------------------------ */
static void vsay(const char *fmt, va_list ap)
{
    char line[1200];
    const char *r = getenv("OMPI_COMM_WORLD_RANK");
    int n = snprintf(line, sizeof line, "tern-proxy: rank %s: ", r ? r : "?");
    vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
    strcat(line, "\n");
    ssize_t w = write(2, line, strlen(line));
    (void)w;
}

void px_say(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsay(fmt, ap);
    va_end(ap);
}

void px_fatal(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsay(fmt, ap);
    va_end(ap);
    px_fatal_ending();
    if (px_app > 0) kill(px_app, SIGKILL);
    if (px_initialized && !px_finalized) MPI_Abort(MPI_COMM_WORLD, 1);
    _exit(1);
}
