/* drain.c: DRAIN -- receive every message counted as sent to this rank (into
 * the pending application receive it matches or into tern's queue), complete
 * this rank's sends, matched receives and nonblocking collectives. Separate
 * because it is the only phase that moves application data.
 */
#define _GNU_SOURCE
#include "drain.h"
#include "wrap.h"
#include "clock.h"
#include "config.h"
#include "exchange.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>

/* ---- the drain ------------------------------------------------------------ */
static int app_req_active(tern_req *q)
{
    return q->state == TRS_ACTIVE;
}

/* Test the pending application point-to-point requests once. */
static void progress_app_reqs(void)
{
    for (uint32_t i = 0; i < tr_hiwater; i++) {
        tern_req *q = tr_at(i);
        if (!q || !app_req_active(q) || q->kind == TR_NBC || q->kind == TR_GREQ) continue;
        int flag = 0;
        MPI_Status st;
        PMPI_Test(&q->real, &flag, &st);
        if (flag) {
            tr_complete(q, &st);
            q->st = st;
            q->state = TRS_DONE;
        }
    }
}

/* One drained message of any size. A message over INT_MAX bytes cannot be
 * received as MPI_BYTE with an int count: it is received as whole MiB
 * blocks into a buffer rounded up to one (a receive may be longer than the
 * message; its length comes from MPI_Get_elements_x). */
static MPI_Datatype mib_type = MPI_DATATYPE_NULL;
#define DRAIN_BLOCK ((size_t)1 << 20)

/* Receive the unexpected messages of every communicator that has a member
 * from which messages are still missing (deficit[w] != 0). The size is
 * learnt with MPI_Iprobe, which matches nothing, and the buffer allocated
 * before MPI_Improbe matches the same message (the first from that source
 * with that tag: MPI's non-overtaking rule), so a message tern cannot
 * buffer stays inside MPI for the application and only the checkpoint
 * fails. Returns 0, or -1 with why. */
static int pull_unexpected(const char *deficit, char *why, size_t whylen)
{
    for (uint32_t o = 0; o < tc_count; o++) {
        tern_comm *c = tc_by_ordinal(o);
        if (!c || c->freed || c->npeers == 0) continue;
        int need = 0;
        for (int i = 0; i < c->npeers && !need; i++)
            need = c->world[i] >= 0 && deficit[c->world[i]];
        if (!need) continue;
        for (;;) {
            int flag = 0;
            MPI_Status st;
            PMPI_Iprobe(MPI_ANY_SOURCE, MPI_ANY_TAG, c->real, &flag, &st);
            if (!flag) break;
            MPI_Count nx = 0;
            PMPI_Get_elements_x(&st, MPI_BYTE, &nx);
            size_t n = (size_t)nx, cap = n;
            int big = nx > (MPI_Count)INT_MAX;
            if (big) cap = (n + DRAIN_BLOCK - 1) / DRAIN_BLOCK * DRAIN_BLOCK;
            tern_msg *m = malloc(sizeof *m + cap);
            if (!m) {
                snprintf(why, whylen, "drain: out of memory buffering a message of %zu bytes from rank %d "
                         "(communicator #%u)", n, st.MPI_SOURCE, c->ordinal);
                return -1;
            }
            MPI_Message mh;
            PMPI_Improbe(st.MPI_SOURCE, st.MPI_TAG, c->real, &flag, &mh, &st);
            m->src = st.MPI_SOURCE;
            m->tag = st.MPI_TAG;
            m->len = n;
            if (big) {
                if (mib_type == MPI_DATATYPE_NULL) {
                    PMPI_Type_contiguous((int)DRAIN_BLOCK, MPI_BYTE, &mib_type);
                    PMPI_Type_commit(&mib_type);
                }
                PMPI_Mrecv(m->data, (int)(cap / DRAIN_BLOCK), mib_type, &mh, &st);
            } else {
                PMPI_Mrecv(m->data, (int)n, MPI_BYTE, &mh, &st);
            }
            tq_append(c, m);
            tc_count_recv(c, &st);
        }
    }
    return 0;
}

/* DRAIN, given expect[w] = messages w has posted to this rank. On return
 * every one of them has been received (into the pending application receive
 * it matches or into tern's queue), every send and matched receive
 * (MPI_Imrecv) of this rank has completed and every nonblocking collective
 * has finished: nothing to or from this rank is inside MPI. No collective
 * follows: every rank that returns is quiescent on its own, and a failure
 * here is agreed on by the store's first collective (opts.refuse). */
int drain(const uint64_t *expect, char *why, size_t whylen)
{
    int W = tern_world_size, rc = 0;
    const uint64_t *recvd_from = tern_wrecvd;   /* live: the drain's receives count too */
    double last = tern_now_mono();
    int last_missing = -1;
    char *deficit = xs_deficit;
    for (;;) {
        int missing = 0, from = -1;
        for (int w = 0; w < W; w++) {
            deficit[w] = recvd_from[w] < expect[w];
            if (deficit[w]) {
                missing += (int)(expect[w] - recvd_from[w]);
                from = w;
            }
        }
        if (!missing) break;
        progress_app_reqs();
        if (pull_unexpected(deficit, why, whylen)) {
            rc = -1;
            break;
        }
        if (missing != last_missing) {
            last_missing = missing;
            last = tern_now_mono();
        } else if (tern_now_mono() - last > drain_timeout) {
            snprintf(why, whylen, "drain: %d message(s) counted as sent to this rank (e.g. by rank %d) "
                     "never arrived within %.0f s (a communicator freed with traffic in flight?)",
                     missing, from, drain_timeout);
            rc = -1;
            break;
        }
    }
    /* every message sent to us has arrived; our own sends complete once the
     * receivers have taken them (they are draining too), and a matched
     * receive once its sender, also draining, moves the data */
    last = tern_now_mono();
    for (; rc == 0;) {
        int active = 0;
        for (uint32_t i = 0; i < tr_hiwater; i++) {
            tern_req *q = tr_at(i);
            if (q && q->state == TRS_ACTIVE &&
                (q->kind == TR_SEND || q->kind == TR_PSEND || q->kind == TR_MRECV))
                active = 1;
        }
        if (!active) break;
        progress_app_reqs();
        if (tern_now_mono() - last > drain_timeout) {
            snprintf(why, whylen, "drain: a send or matched receive did not complete within %.0f s", drain_timeout);
            rc = -1;
        }
    }
    /* nonblocking collectives: every member started them (signatures equal) */
    for (uint32_t i = 0; rc == 0 && i < tr_hiwater; i++) {
        tern_req *q = tr_at(i);
        if (q && q->state == TRS_ACTIVE && q->kind == TR_NBC) {
            MPI_Status st;
            PMPI_Wait(&q->real, &st);
            q->st = st;
            q->state = TRS_DONE;
        }
    }
    return rc;
}
