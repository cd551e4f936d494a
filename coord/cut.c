/* cut.c: the protocol of transparent mode, served by the proxy
 * (tern_tm.h; docs/protocol.md, "Transparent mode").
 *
 *   INTENT   rank 0 turns a trigger into a broadcast on ctrl that every
 *            other rank keeps posted (MPI_Ibcast, root 0): a rank learns of
 *            it at its next poll, whatever its application is doing;
 *   ROUNDS   each rank gives (ready, and for each live communicator its
 *            gid and collective count) to an allgather on ctrl, posted and
 *            tested from polls, so a rank inside a blocking call of its
 *            application takes part too. Every rank reads the same result:
 *              - the target of a communicator is the largest count among
 *                its members; a rank below it on some communicator is
 *                BEHIND there and may enter collectives on it up to the
 *                target; no rank enters a collective beyond a target;
 *              - ALIGNED: no rank is behind anywhere; then blocking
 *                receives cancel their internal request (READY);
 *              - CUT: aligned and every rank READY;
 *   CUT      checkpoint() of API mode, with the proxy's hooks; then the
 *            intent is posted again.
 * Targets never grow while a cut is pending (the ranks at a target wait at
 * their next collective), so the ranks behind reach them and the rounds end,
 * for any program that would not deadlock natively (docs/protocol.md says
 * what it assumes).
 *
 * Owner: this file writes every variable below (hooks.c the hooks).
 */
#define _GNU_SOURCE
#include "cut.h"
#include "hooks.h"
#include "tern_tm.h"
#include "wrap.h"
#include "clock.h"
#include "config.h"
#include "control.h"
#include "report.h"
#include "requests.h"
#include "snapshot.h"
#include "triggers.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <time.h>

/* A rank that waits for the others at MPI_Finalize sleeps between looks. */
static void nap(void)
{
    struct timespec ts = {0, 200000};
    nanosleep(&ts, NULL);
}

/* A rank that waits for others to catch up gives them the core. */
static void nap_short(void)
{
    struct timespec ts = {0, 50000};
    nanosleep(&ts, NULL);
}

/* ---- the intent --------------------------------------------------------------------- */
static MPI_Request intent_req = MPI_REQUEST_NULL;
static unsigned intent_bits;   /* what the broadcast carries (TRIG_* | TM_FINAL) */
static int intent_posted;
#define TM_FINAL 0x100u        /* rank 0 finishes: no more cuts */

static int cutting;            /* the intent arrived: rounds until the cut */
static unsigned cut_bits;
static double cut_t0;
static int retired;            /* TM_FINAL seen */

static void intent_post(void)
{
    tern_internal_enter();
    PMPI_Ibcast(&intent_bits, 1, MPI_UNSIGNED, 0, ctrl, &intent_req);
    tern_internal_leave();
    intent_posted = 1;
}

/* Non-root ranks keep the broadcast posted; rank 0 posts it when it has
 * something to say. */
static void intent_rearm(void)
{
    intent_bits = 0;
    if (tern_world_rank != 0 && !retired) intent_post();
}

/* Rank 0: a trigger (signal, interval, request file) becomes the intent. */
static void root_triggers(void)
{
    if (tern_world_rank != 0 || intent_posted || retired) return;
    unsigned f = local_triggers();
    if (!(f & TRIG_CKPT)) return;
    if (file_flags) requests_board();
    intent_bits = f;
    intent_post();
}

/* ---- rounds -------------------------------------------------------------------------- */
typedef struct { uint64_t gid, seq; } comm_pos;

static enum { R_IDLE, R_COUNTS, R_DATA } rstage;
static MPI_Request round_req = MPI_REQUEST_NULL;
static int my_count, *counts, *displs;
static uint64_t *mine, *all;          /* [ready, n, (gid, seq)...] as words */
static comm_pos *targets;             /* gid -> target, sorted by gid */
static int ntargets;
static int aligned, behind;           /* of the last round */
static tern_comm *entering;           /* in the barrier before a constructor on it */

static void round_buffers(void)
{
    int W = tern_world_size;
    if (!counts) {
        counts = calloc((size_t)W, sizeof *counts);
        displs = calloc((size_t)W, sizeof *displs);
        if (!counts || !displs) {
            say("out of memory for the protocol's rounds");
            PMPI_Abort(MPI_COMM_WORLD, 70);
        }
    }
}

static int cmp_pos(const void *a, const void *b)
{
    const comm_pos *x = a, *y = b;
    if (x->gid != y->gid) return x->gid < y->gid ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* This rank's part: READY, then its live communicators. */
static void round_post_counts(int ready)
{
    round_buffers();
    free(mine);
    size_t n = 0;
    for (uint32_t i = 0; i < tc_count; i++) {
        tern_comm *c = tc_by_ordinal(i);
        if (c && !c->freed) n++;
    }
    mine = malloc(sizeof(uint64_t) * (2 + 2 * n));
    if (!mine) {
        say("out of memory for the protocol's rounds");
        PMPI_Abort(MPI_COMM_WORLD, 70);
    }
    mine[0] = (uint64_t)ready;
    size_t k = 0;
    for (uint32_t i = 0; i < tc_count && k < n; i++) {
        tern_comm *c = tc_by_ordinal(i);
        if (!c || c->freed) continue;
        mine[2 + 2 * k] = c->gid;
        mine[3 + 2 * k] = c->coll_seq + (c == entering);   /* entered, for the others */
        k++;
    }
    mine[1] = k;
    my_count = (int)(2 + 2 * k);
    tern_internal_enter();
    PMPI_Iallgather(&my_count, 1, MPI_INT, counts, 1, MPI_INT, ctrl, &round_req);
    tern_internal_leave();
    rstage = R_COUNTS;
}

static void round_post_data(void)
{
    int W = tern_world_size;
    size_t total = 0;
    for (int r = 0; r < W; r++) {
        displs[r] = (int)total;
        total += (size_t)counts[r];
    }
    free(all);
    all = malloc(sizeof(uint64_t) * (total ? total : 1));
    if (!all) {
        say("out of memory for the protocol's rounds");
        PMPI_Abort(MPI_COMM_WORLD, 70);
    }
    tern_internal_enter();
    PMPI_Iallgatherv(mine, my_count, MPI_UINT64_T, all, counts, displs, MPI_UINT64_T, ctrl, &round_req);
    tern_internal_leave();
    rstage = R_DATA;
}

/* Every rank computes the same from the same data. 1: CUT. */
static int round_decide(void)
{
    int W = tern_world_size, all_ready = 1;
    size_t npos = 0;
    for (int r = 0; r < W; r++) npos += all[displs[r] + 1];
    comm_pos *p = malloc(sizeof *p * (npos ? npos : 1));
    if (!p) {
        say("out of memory for the protocol's rounds");
        PMPI_Abort(MPI_COMM_WORLD, 70);
    }
    size_t k = 0;
    for (int r = 0; r < W; r++) {
        const uint64_t *v = all + displs[r];
        all_ready &= v[0] != 0;
        for (uint64_t j = 0; j < v[1]; j++) p[k++] = (comm_pos){v[2 + 2 * j], v[3 + 2 * j]};
    }
    qsort(p, npos, sizeof *p, cmp_pos);
    /* per gid: the largest count; aligned when the smallest equals it */
    free(targets);
    targets = malloc(sizeof *targets * (npos ? npos : 1));
    ntargets = 0;
    aligned = 1;
    for (size_t i = 0; i < npos;) {
        size_t j = i;
        while (j < npos && p[j].gid == p[i].gid) j++;
        if (p[i].seq != p[j - 1].seq) aligned = 0;
        targets[ntargets++] = p[j - 1];
        i = j;
    }
    free(p);
    if (getenv("TERN_TM_DEBUG") && tern_world_rank == 0)
        fprintf(stderr, "tern: cut: round: ready %d aligned %d (%zu positions, %d communicators)\n", all_ready,
                aligned, npos, ntargets);
    behind = 0;
    for (uint32_t i = 0; i < tc_count; i++) {
        tern_comm *c = tc_by_ordinal(i);
        if (c && !c->freed && c->coll_seq < tm_target(c->gid)) behind = 1;
    }
    return aligned && all_ready;
}

uint64_t tm_target(uint64_t gid)
{
    int lo = 0, hi = ntargets - 1;
    while (lo <= hi) {
        int m = (lo + hi) / 2;
        if (targets[m].gid == gid) return targets[m].seq;
        if (targets[m].gid < gid) lo = m + 1;
        else hi = m - 1;
    }
    return 0;   /* unknown until a round has seen it: hold back */
}

/* Advance the rounds; 1 when this round decided the cut. */
static int rounds(int ready)
{
    int done = 0;
    for (;;) {
        if (rstage == R_IDLE) round_post_counts(ready);
        tern_internal_enter();
        PMPI_Test(&round_req, &done, MPI_STATUS_IGNORE);
        tern_internal_leave();
        if (!done) return 0;
        if (rstage == R_COUNTS) {
            round_post_data();
            continue;
        }
        rstage = R_IDLE;
        return round_decide();
    }
}

/* ---- the cut -------------------------------------------------------------------------------- */
static int in_cut;   /* a checkpoint-and-stop ends the job from inside it */

static void cut_run(void)
{
    cutting = 0;
    aligned = behind = 0;
    ntargets = 0;
    if (tern_world_rank == 0) requests_decided();
    in_cut = 1;
    snapshot_serve(cut_bits, cut_t0);
    in_cut = 0;
    intent_rearm();
}

/* ---- the entry points --------------------------------------------------------------------- */
void tm_start(void)
{
    if (!tm_hooks || spawned) return;
    intent_rearm();
}

int tern_tm_poll(int ready)
{
    if (!tm_hooks || !tern_initialized || tern_finalized || spawned) return 0;
    if (!cutting) {
        /* at most once a millisecond: a test of the intent is a pass of
         * Open MPI's progress engine, dear at every call */
        static double last;
        double now = tern_now_mono();
        if (now - last < 1e-3) return 0;
        last = now;
        root_triggers();
        if (!intent_posted) return 0;
        int done = 0;
        tern_internal_enter();
        PMPI_Test(&intent_req, &done, MPI_STATUS_IGNORE);
        tern_internal_leave();
        if (!done) return 0;
        intent_posted = 0;
        if (intent_bits & TM_FINAL) {
            retired = 1;
            return 0;
        }
        cutting = 1;
        cut_bits = intent_bits;
        cut_t0 = tern_now_mono();
        rstage = R_IDLE;
        ntargets = 0;
        aligned = behind = 0;
    }
    if (!rounds(ready)) return 0;
    cut_run();
    return 1;
}

int tern_tm_may_enter(MPI_Comm comm)
{
    if (!cutting) return 1;
    tern_comm *c = tc_get(comm);
    if (!c) return 1;   /* not the application's */
    return c->coll_seq < tm_target(c->gid);
}

/* Constructors have no nonblocking form: a rank blocked in one could not
 * take part in the rounds while another member is held back. So every
 * member first meets the others in a barrier of tern's own (uncounted, on
 * the real communicator; tested from here, the rank counting as having
 * entered), and only enters the constructor when all are there. */
static int ctor_barrier(MPI_Comm comm)
{
    tern_comm *c = tc_get(comm);
    if (!c) return MPI_SUCCESS;
    MPI_Request r;
    tern_internal_enter();
    int rc = PMPI_Ibarrier(c->real, &r);
    tern_internal_leave();
    if (rc != MPI_SUCCESS) return rc;
    entering = c;
    for (;;) {
        int done = 0;
        tern_internal_enter();
        PMPI_Test(&r, &done, MPI_STATUS_IGNORE);
        tern_internal_leave();
        if (done) break;
        tern_tm_poll(0);
        sched_yield();
    }
    entering = NULL;
    return MPI_SUCCESS;
}

int tern_tm_gate(MPI_Comm comm, int ctor)
{
    if (!tm_hooks || !tern_initialized || tern_finalized || spawned) return MPI_SUCCESS;
    tern_tm_poll(1);
    while (!tern_tm_may_enter(comm)) {
        tern_tm_poll(1);
        nap_short();
    }
    return ctor ? ctor_barrier(comm) : MPI_SUCCESS;
}

int tern_tm_park_receives(void)
{
    return cutting && aligned && !behind;
}

int tern_tm_cutting(void)
{
    return cutting;
}

/* A rank at MPI_Finalize serves the cut in progress (its own call is the
 * last collective: it waits as READY), then rank 0 retires the intent and
 * every rank completes its broadcast, so nothing is left posted. */
void tern_tm_finalize(void)
{
    if (!tm_hooks || spawned || !tern_initialized || retired) return;
    if (in_cut) {   /* every rank stops here: no broadcast is posted anywhere */
        retired = 1;
        return;
    }
    for (;;) {
        if (cutting) {
            tern_tm_poll(1);
            continue;
        }
        if (tern_world_rank == 0) {
            if (!intent_posted) {
                intent_bits = TM_FINAL;
                intent_post();
            }
            tern_internal_enter();
            PMPI_Wait(&intent_req, MPI_STATUS_IGNORE);
            tern_internal_leave();
            intent_posted = 0;
            if (intent_bits & TM_FINAL) break;
            /* it carried an intent: serve that cut first */
            cutting = 1;
            cut_bits = intent_bits;
            cut_t0 = tern_now_mono();
            rstage = R_IDLE;
            continue;
        }
        if (!intent_posted) break;
        int done = 0;
        tern_internal_enter();
        PMPI_Test(&intent_req, &done, MPI_STATUS_IGNORE);
        tern_internal_leave();
        if (!done) {
            nap();
            continue;
        }
        intent_posted = 0;
        if (intent_bits & TM_FINAL) break;
        cutting = 1;
        cut_bits = intent_bits;
        cut_t0 = tern_now_mono();
        rstage = R_IDLE;
    }
    retired = 1;
}
