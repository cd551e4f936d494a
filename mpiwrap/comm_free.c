/* comm_free.c: MPI_Comm_free and MPI_Comm_disconnect of virtual
 * communicators. */
#include "wrap.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int comm_destroy(MPI_Comm *comm, int disconnect)
{
    uintptr_t v = (uintptr_t)*comm;
    if (tern_internal || (v >> 48) != TERN_TAG_COMM)
        return disconnect ? PMPI_Comm_disconnect(comm) : PMPI_Comm_free(comm);
    tern_comm *c = tc_get(*comm);
    MPI_Comm r = c->real;
    int rc = disconnect ? PMPI_Comm_disconnect(&r) : PMPI_Comm_free(&r);
    if (rc == MPI_SUCCESS) {
        c->freed = 1;
        c->real = MPI_COMM_NULL;
        /* entry kept (ordinals are never reused), counters dropped: a freed
         * communicator carries no messages (MPI requires pending operations
         * to complete) */
        for (int i = 0; i < c->npeers; i++) {
            int w = c->world[i];
            if (w < 0) continue;
            tern_wsent[w] -= c->sent[i];
            tern_wrecvd[w] -= c->recvd[i];
        }
        while (c->qhead) {
            tern_msg *m = c->qhead;
            tq_unlink(c, m, NULL);
            free(m);
        }
        *comm = MPI_COMM_NULL;
    }
    return rc;
}

int MPI_Comm_free(MPI_Comm *comm) { return comm_destroy(comm, 0); }
int MPI_Comm_disconnect(MPI_Comm *comm) { return comm_destroy(comm, 1); }
