/* placement.h: where the ranks of a restarted job go.
 *
 * The hosts are the hostfile's ('host [slots=N]' lines) or the ones the job
 * ran on, less the excluded ones. A host holds slots= ranks, else as many as
 * it has cores (from the hwloc topologies stored in the checkpoint, or this
 * machine's). A rank stays on the host it ran on while that host is there
 * and has room; the others go to the host with the most room left, or, when
 * mpirun is told to oversubscribe, the one with the least load per core. */
#ifndef TERN_JOBS_PLACEMENT_H
#define TERN_JOBS_PLACEMENT_H

#include <stddef.h>

#include "tern_store.h"
#include "util.h"

typedef struct jobs_host {
    char name[256];
    int slots;        /* from a hostfile, -1 none */
    int cores;        /* from hwloc, -1 unknown */
    int cap;          /* ranks it can hold */
    int load;         /* ranks placed on it */
    strv ranks;       /* their numbers (jobs_rankfile) */
} jobs_host;

typedef struct jobs_placement {
    jobs_host *hosts;
    int nhosts;
    int *where;       /* host index of each rank */
} jobs_placement;

/* Places the info->nranks ranks of a checkpoint. 0, or -1 with the error
 * printed for verb: a hostfile that cannot be read or names no host, an
 * excluded host that is not the job's, no host left, a host whose capacity
 * is unknown, hosts that cannot hold the ranks (unless oversubscribe). */
int jobs_place(const char *verb, const tern_ckpt_info *info, const char *hostfile,
               const strv *exclude, int oversubscribe, jobs_placement *p);
/* The rankfile: "rank R=HOST slot=S" lines (malloc'ed), S the rank's index
 * on its host modulo the host's cores. Fills each host's ranks. */
char *jobs_rankfile(const tern_ckpt_info *info, jobs_placement *p);
/* The hosts that got ranks, comma-separated, in hostfile/job order. */
void jobs_placement_hosts(const jobs_placement *p, char *buf, size_t len);
void jobs_placement_free(jobs_placement *p);

#endif
