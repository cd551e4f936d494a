/* refusal.c: naming a refused checkpoint -- the lowest rank that refuses,
 * the communicator whose collectives differ, and the text moved to rank 0,
 * which reports it. Separate because none of it runs unless a checkpoint is
 * refused, and it is the only part that walks other ranks' state.
 */
#define _GNU_SOURCE
#include "refusal.h"
#include "wrap.h"
#include "control.h"
#include "report.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

/* Agree on a yes/no among all ranks; returns the max of `code`. */
int agree_max(int code)
{
    int out = code;
    PMPI_Allreduce(&code, &out, 1, MPI_INT, MPI_MAX, ctrl);
    return out;
}

/* CHECK: collective sequence numbers of every live communicator must be equal
 * on all members. Fills why on mismatch. */
int check_collectives(char *why, size_t len)
{
    int n = 0;
    for (uint32_t o = 0; o < tc_count; o++) {
        tern_comm *c = tc_by_ordinal(o);
        if (c && !c->freed && c->npeers > 1) n++;
    }
    uint64_t *mine = malloc(sizeof(uint64_t) * 2 * (size_t)(n + 1));
    int k = 0;
    for (uint32_t o = 0; o < tc_count; o++) {
        tern_comm *c = tc_by_ordinal(o);
        if (!c || c->freed || c->npeers <= 1) continue;
        mine[2 * k] = c->gid;
        mine[2 * k + 1] = c->coll_seq;
        k++;
    }
    int W = tern_world_size, cnt = 2 * n;
    int *cnts = malloc(sizeof(int) * (size_t)W), *displs = malloc(sizeof(int) * (size_t)W);
    PMPI_Allgather(&cnt, 1, MPI_INT, cnts, 1, MPI_INT, ctrl);
    int tot = 0;
    for (int i = 0; i < W; i++) {
        displs[i] = tot;
        tot += cnts[i];
    }
    uint64_t *all = malloc(sizeof(uint64_t) * (size_t)(tot + 1));
    PMPI_Allgatherv(mine, cnt, MPI_UINT64_T, all, cnts, displs, MPI_UINT64_T, ctrl);
    int bad = 0;
    for (int j = 0; j < n && !bad; j++) {
        for (int r = 0; r < W && !bad; r++) {
            for (int i = displs[r]; i < displs[r] + cnts[r]; i += 2) {
                if (all[i] == mine[2 * j] && all[i + 1] != mine[2 * j + 1]) {
                    tern_comm *c = NULL;
                    for (uint32_t o = 0; o < tc_count; o++) {
                        tern_comm *x = tc_by_ordinal(o);
                        if (x && !x->freed && x->gid == mine[2 * j]) c = x;
                    }
                    snprintf(why, len,
                             "collective sequence mismatch on communicator #%u (%s): rank %d has "
                             "entered %" PRIu64 " collectives, rank %d %" PRIu64
                             " -- a collective was started on one side of tern_snapshot() only",
                             c ? c->ordinal : 0, c ? c->ctor : "?", tern_world_rank,
                             mine[2 * j + 1], r, all[i + 1]);
                    bad = 1;
                    break;
                }
            }
        }
    }
    free(mine);
    free(cnts);
    free(displs);
    free(all);
    return bad;
}

/* Move the failure text of rank src to rank 0 (ctrl, tag). */
void reason_to_root(int src, char *text, size_t len, int tag)
{
    if (src == 0) return;
    if (tern_world_rank == src) PMPI_Send(text, (int)len, MPI_CHAR, 0, tag, ctrl);
    if (tern_world_rank == 0) PMPI_Recv(text, (int)len, MPI_CHAR, src, tag, ctrl, MPI_STATUS_IGNORE);
}

void refusal_report(int src, int mine, uint64_t epoch, char *text, size_t len, int tag, char *why,
                    size_t whylen)
{
    if (mine) say("checkpoint epoch %" PRIu64 " refused: %s", epoch, text);
    reason_to_root(src, text, len, tag);
    snprintf(why, whylen, "refused on rank %d: %s", src, text);
}
