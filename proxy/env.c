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


int px_initialized, px_finalized;
int px_argc;
char **px_argv;

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
