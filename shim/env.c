/* env.c: the calls the shim writes by hand (class shim and local in
 * mpiwrap/mpi_roles.tbl): MPI_Init(_thread), MPI_Finalize, MPI_Abort, and
 * what needs no proxy -- clocks, versions, the thread level, addresses and
 * memory of the application, MPI_COMM_WORLD's rank and size.
 */
#define _GNU_SOURCE
#include "shim.h"

#include <pthread.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#pragma GCC diagnostic ignored "-Wdeprecated-declarations"

int sh_rank = -1, sh_size = -1, sh_initialized, sh_finalized;
static int provided = MPI_THREAD_SINGLE;
static pthread_t main_thread;

/* The proxy reads this word of ours at MPI_Init: its access to the
 * application's memory is checked there, once, with a clear message. */
static volatile uint64_t probe = 0x7465726e70726f62ull;   /* "ternprob" */

void sh_set_init(const tw_init *in)
{
    provided = in->provided;
    sh_rank = in->rank;
    sh_size = in->size;
}

int PMPI_Init_thread(int *argc, char ***argv, int required, int *prov)
{
    (void)argc, (void)argv;
    if (required == MPI_THREAD_MULTIPLE) {
        sh_say("MPI_Init_thread: MPI_THREAD_MULTIPLE is not supported in transparent mode "
               "(MPI_THREAD_FUNNELED and MPI_THREAD_SERIALIZED are)");
        _exit(1);
    }
    sh_msg m;
    sh_begin(&m, TC_MPI_Init_thread, 2);
    m.w[0] = (uint64_t)(int64_t)required;
    m.w[1] = (uint64_t)(uintptr_t)&probe;
    int rc = sh_end(&m);
    if (rc == MPI_SUCCESS) {
        sh_initialized = 1;
        main_thread = pthread_self();
        if (prov) *prov = provided;
    }
    return rc;
}

int PMPI_Init(int *argc, char ***argv)
{
    return PMPI_Init_thread(argc, argv, MPI_THREAD_SINGLE, NULL);
}

int PMPI_Finalize(void)
{
    sh_msg m;
    sh_begin(&m, TC_MPI_Finalize, 0);
    int rc = sh_end(&m);
    if (rc == MPI_SUCCESS) sh_finalized = 1;
    return rc;
}

int PMPI_Abort(MPI_Comm comm, int errorcode)
{
    sh_msg m;
    sh_begin(&m, TC_MPI_Abort, 2);
    m.w[0] = sh_id(comm);
    m.w[1] = (uint64_t)(int64_t)errorcode;
    sh_end(&m);   /* the proxy aborts the job: no answer comes */
    _exit(errorcode ? errorcode : 1);
}

/* ---- answered here ---------------------------------------------------------------- */
int PMPI_Initialized(int *flag)
{
    *flag = sh_initialized;
    return MPI_SUCCESS;
}

int PMPI_Finalized(int *flag)
{
    *flag = sh_finalized;
    return MPI_SUCCESS;
}

int PMPI_Query_thread(int *prov)
{
    *prov = provided;
    return MPI_SUCCESS;
}

int PMPI_Is_thread_main(int *flag)
{
    *flag = sh_initialized && pthread_equal(main_thread, pthread_self());
    return MPI_SUCCESS;
}

int PMPI_Get_version(int *version, int *subversion)
{
    *version = MPI_VERSION;
    *subversion = MPI_SUBVERSION;
    return MPI_SUCCESS;
}

/* Open MPI's clock: CLOCK_MONOTONIC in seconds */
double PMPI_Wtime(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

double PMPI_Wtick(void)
{
    return 1e-9;
}

int PMPI_Pcontrol(const int level, ...)
{
    (void)level;
    return MPI_SUCCESS;
}

/* Memory for the application is the application's: allocated here, where
 * its checkpoint will find it. */
int PMPI_Alloc_mem(MPI_Aint size, MPI_Info info, void *baseptr)
{
    (void)info;
    void *p = malloc(size > 0 ? (size_t)size : 1);
    if (!p) return MPI_ERR_NO_MEM;
    *(void **)baseptr = p;
    return MPI_SUCCESS;
}

int PMPI_Free_mem(void *base)
{
    free(base);
    return MPI_SUCCESS;
}

int PMPI_Get_address(const void *location, MPI_Aint *address)
{
    *address = (MPI_Aint)(uintptr_t)location;
    return MPI_SUCCESS;
}

int PMPI_Address(void *location, MPI_Aint *address)
{
    return PMPI_Get_address(location, address);
}

/* ---- shortcuts (class fast) --------------------------------------------------------- */
int sh_fast_Comm_rank(MPI_Comm comm, int *rank)
{
    if (!sh_initialized || sh_finalized || comm != MPI_COMM_WORLD || !rank) return -1;
    *rank = sh_rank;
    return 0;
}

int sh_fast_Comm_size(MPI_Comm comm, int *size)
{
    if (!sh_initialized || sh_finalized || comm != MPI_COMM_WORLD || !size) return -1;
    *size = sh_size;
    return 0;
}

SH_ALIAS(MPI_Init_thread);
SH_ALIAS(MPI_Init);
SH_ALIAS(MPI_Finalize);
SH_ALIAS(MPI_Abort);
SH_ALIAS(MPI_Initialized);
SH_ALIAS(MPI_Finalized);
SH_ALIAS(MPI_Query_thread);
SH_ALIAS(MPI_Is_thread_main);
SH_ALIAS(MPI_Get_version);
SH_ALIAS(MPI_Wtime);
SH_ALIAS(MPI_Wtick);
SH_ALIAS(MPI_Pcontrol);
SH_ALIAS(MPI_Alloc_mem);
SH_ALIAS(MPI_Free_mem);
SH_ALIAS(MPI_Get_address);
SH_ALIAS(MPI_Address);
