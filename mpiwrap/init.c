/* init.c: mpiwrap's global state and what it sets once PMPI_Init has
 * returned (the MPI_Init entry points themselves are coord's). */
#include "wrap.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int tern_internal;
int tern_initialized, tern_finalized;
int tern_world_rank, tern_world_size;
int tern_thread_level = MPI_THREAD_SINGLE;
int tq_total;

/* What mpiwrap needs once PMPI_Init has returned (the MPI_Init entry
 * points are coord's: coord/coord.c calls this, then sets itself up). */
void tern_wrap_after_init(int thread_level)
{
    PMPI_Comm_rank(MPI_COMM_WORLD, &tern_world_rank);
    PMPI_Comm_size(MPI_COMM_WORLD, &tern_world_size);
    tern_thread_level = thread_level;
    if (thread_level == MPI_THREAD_MULTIPLE)
        tern_unsafe_mark("MPI_Init_thread(MPI_THREAD_MULTIPLE)", TERN_UNSAFE_THREAD, 0);
    tc_init_predefined();
    tern_initialized = 1;
}
