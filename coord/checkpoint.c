/* checkpoint.c: one checkpoint that every rank has agreed to take --
 * EXCHANGE, DRAIN (drain.c), DESCRIBE (describe.c), DUMP and COMMIT through
 * the store (docs/protocol.md; coord/README.md has the overview). Separate
 * from snapshot.c, which decides when to call it and tells people the outcome.
 */
#define _GNU_SOURCE
#include "checkpoint.h"
#include "wrap.h"
#include "clock.h"
#include "fs.h"
#include "config.h"
#include "control.h"
#include "describe.h"
#include "drain.h"
#include "exchange.h"
#include "handles.h"
#include "refusal.h"
#include "regions.h"
#include "report.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* last figures (for tests/benchmarks via TERN_STATS) */
double last_quiesce;
static double last_total, phase[4], proto_min, proto_max;
static int last_fast;

/* No application request of this rank is active (so neither the drain nor
 * anything but the application can change what describe_requests() sees). */
static int locally_quiet(void)
{
    for (uint32_t i = 0; i < tr_hiwater; i++) {
        tern_req *q = tr_at(i);
        if (q && q->state == TRS_ACTIVE) return 0;
    }
    return 1;
}

/* ---- DUMP ------------------------------------------------------------------ */
static int fail_fill(void *ctx, uint64_t off, void *dst, size_t n, tern_error *err)
{
    (void)ctx; (void)off; (void)dst; (void)n;
    return tern_error_set(err, EIO, "injected write failure (TERN_TEST_FAIL)");
}

/* The whole checkpoint. Returns 1 committed, negative failed, 0 quiesced
 * without writing (TERN_QUIESCE_ONLY).
 * Coordination (docs/protocol.md, EXCHANGE .. QUIESCENT) is ONE collective:
 * the exchange on ctrl (counters, collective signature, refusal flags, the
 * region hash and, on a rank with no active request, the outcome of
 * DESCRIBE). Every rank reads the same result, so all take the same branch:
 * refuse, or drain what the exchange says is owed to it (nothing, on the
 * FAST PATH) and go on to the store. A rank that has to describe its
 * requests after the drain, and finds it cannot save one, fails the attempt
 * through the store's first collective (opts.refuse): no second round trip. */
int checkpoint(uint64_t *epoch_out, uint64_t snaps, double t0, char *why, size_t whylen, tern_ckpt_stats *stats)
{
    int W = tern_world_size, me = tern_world_rank;
    double t_enter = tern_now_mono();
    char reason[1024];
    int unsafe = tern_unsafe_reason(reason, sizeof reason);
    uint64_t h = regions_hash();

    /* DESCRIBE ahead of the exchange on a rank with no active request: the
     * drain cannot change its requests, so the result stands after it. */
    buf breq = { 0 }, bcomm = { 0 }, bmemb = { 0 };
    msg_cursor mcur;
    buf btypes = { 0 };
    uint64_t nreq = 0, nmsg, ncomm;
    char dwhy[1024];
    dwhy[0] = 0;
    int quiet = locally_quiet(), described = 0, dbad = 0;
    double td0 = tern_now_mono(), tdesc = 0;
    if (quiet && !unsafe) {
        dbad = describe_requests(&breq, &btypes, &nreq, dwhy, sizeof dwhy) != 0;
        described = 1;
        tdesc = tern_now_mono() - td0;
    }

    /* tern_wsent does not change until the checkpoint ends: this rank posts
     * nothing, and the drain only completes receives */
    uint64_t *xv = xs_vec;
    const uint64_t *sent_to = tern_wsent;
    int64_t bal = 0;
    for (int w = 0; w < W; w++) bal += (int64_t)(tern_wsent[w] - tern_wrecvd[w]);
    xv[XS_UNSAFE] = unsafe ? (uint64_t)(W - me) : 0;
    xv[XS_DBAD] = dbad ? (uint64_t)(W - me) : 0;
    xv[XS_HASH] = h;
    xv[XS_NHASH] = ~h;
    xv[XS_EPOCH] = me == 0 ? *epoch_out : 0;   /* rank 0 chose the epoch */
    xv[XS_BAL] = (uint64_t)bal;
    xv[XS_SIG] = tc_signature();
    xv[XS_NONQUIET] = !quiet;
    xv[XS_INFLIGHT] = described && (nreq > 0 || tq_total > 0);
    if (xs_matrix) memcpy(xv + XS_N + (size_t)me * (size_t)W, sent_to, sizeof(uint64_t) * (size_t)W);
    PMPI_Allreduce(xv, xs_res, xs_len, MPI_UINT64_T, xchg_op, ctrl);
    const uint64_t *g = xs_res;
    uint64_t epoch = g[XS_EPOCH];
    int first_unsafe = g[XS_UNSAFE] ? W - (int)g[XS_UNSAFE] : -1;
    int first_dbad = g[XS_DBAD] ? W - (int)g[XS_DBAD] : -1;
    int mismatch = g[XS_SIG] != 0;
    /* FAST PATH: nothing posted that was not completed, no request active
     * anywhere: the drain would do nothing, and DESCRIBE ran on every rank */
    int fast = g[XS_BAL] == 0 && g[XS_NONQUIET] == 0;
    uint64_t g_hmax = g[XS_HASH], g_hmin = ~g[XS_NHASH];
    uint64_t g_inflight = g[XS_INFLIGHT] || g[XS_NONQUIET] || g[XS_BAL];
    double t1 = tern_now_mono();
    *epoch_out = epoch;

    /* refusals every rank knows of from the exchange: nothing is drained */
    if (first_unsafe >= 0 || mismatch || first_dbad >= 0) {
        free(breq.p); free(btypes.p);
        if (first_unsafe >= 0) {
            refusal_report(first_unsafe, unsafe, epoch, reason, sizeof reason, 77, why, whylen);
        } else if (mismatch) {   /* slow path: find and name the communicator */
            char cwhy[1024] = "";
            int cbad = check_collectives(cwhy, sizeof cwhy);
            int src = W - agree_max(cbad ? W - me : 0);
            if (src < W)
                refusal_report(src, cbad, epoch, cwhy, sizeof cwhy, 78, why, whylen);
            else
                snprintf(why, whylen, "refused on rank 0: collective sequence numbers differ between ranks");
        } else {
            refusal_report(first_dbad, dbad, epoch, dwhy, sizeof dwhy, 79, why, whylen);
        }
        return -1;
    }

    char rwhy[1024];
    rwhy[0] = 0;
    int bad = 0;
    double t2 = t1;
    if (!fast) {
        uint64_t *expect = xs_expect;
        if (g[XS_BAL] == 0) {
            memcpy(expect, tern_wrecvd, sizeof(uint64_t) * (size_t)W);   /* nothing owed */
        } else if (xs_matrix) {
            for (int w = 0; w < W; w++) expect[w] = g[XS_N + (size_t)w * (size_t)W + (size_t)me];
        } else {
            /* large jobs, messages in flight: what each rank posted to each */
            PMPI_Alltoall((void *)sent_to, 1, MPI_UINT64_T, expect, 1, MPI_UINT64_T, ctrl);
        }
        bad = drain(expect, rwhy, sizeof rwhy) != 0;
        t2 = tern_now_mono();
        /* descriptors (may refuse: unrestorable pending receives) */
        if (!bad && !described) bad = describe_requests(&breq, &btypes, &nreq, rwhy, sizeof rwhy) != 0;
    }
    double t3 = tern_now_mono();
    last_quiesce = t3 - t0;
    phase[0] = t1 - t0 - tdesc; phase[1] = t2 - t1; phase[2] = t3 - t2 + tdesc; phase[3] = 0;
    last_fast = fast;
    if (stats_on) {
        /* benchmark only, outside the measured window: from the moment the
         * last rank entered to the moment the last one is quiescent (one
         * node: CLOCK_MONOTONIC is common to the ranks) */
        double d[2] = { t_enter, t3 }, r[2];
        PMPI_Allreduce(d, r, 2, MPI_DOUBLE, MPI_MAX, ctrl);
        proto_min = r[1] - r[0];
        proto_max = r[1] - t0;
    }
    if (cfg_quiesce_only) {
        /* coordination only (bench/coord_quiesce.sh): a refusal found after
         * the exchange is the only thing left to report; drained messages
         * stay queued and are delivered as after a checkpoint */
        free(breq.p); free(btypes.p);
        int src = W - agree_max(bad ? W - me : 0);
        if (src < W) {
            refusal_report(src, bad, epoch, rwhy, sizeof rwhy, 80, why, whylen);
            return -1;
        }
        return 0;
    }
    char refusal[TERN_ERROR_MAX];
    refusal[0] = 0;
    if (bad) {
        say("checkpoint epoch %" PRIu64 " refused: %s", epoch, rwhy);
        snprintf(refusal, sizeof refusal, "refused on rank %d: %s", me, rwhy);
    }
    uint64_t msglen = describe_messages(&nmsg, &mcur);
    describe_comms(&bcomm, &ncomm, &bmemb);

    /* global arrays when every rank protects the same names and types */
    uint64_t hmax = g_hmax, hmin = g_hmin, ginflight = g_inflight;
    meta m;
    memset(&m, 0, sizeof m);
    m.magic = META_MAGIC;
    m.version = PROTO_VERSION;
    m.nranks = (uint32_t)tern_world_size;
    m.rank = (uint32_t)tern_world_rank;
    m.arrays = hmin == hmax;
    m.epoch = epoch;
    m.snap_count = snaps;
    m.global_inflight = ginflight;
    m.nmsgs = nmsg;
    m.nreqs = nreq;
    m.ncomms = ncomm;
    m.quiesce_seconds = last_quiesce;

    if (tern_world_rank == 0) tern_mkdir_p(cfg_dir);
    PMPI_Barrier(ctrl);

    tern_store_opts opts;
    tern_store_opts_default(&opts);
    opts.job = cfg_job;
    opts.compress_level = cfg_compress;
    opts.keep = cfg_keep;
    opts.refuse = bad ? refusal : NULL;
    tern_error err;
    tern_error_clear(&err);
    tern_ckpt_writer *w = NULL;
    int rc = 0;
    tern_internal_enter();
    if (tern_ckpt_begin(ctrl, cfg_dir, epoch, &opts, &w, &err)) {
        tern_internal_leave();
        snprintf(why, whylen, "%s", err.msg);
        free(breq.p); free(btypes.p); free(bcomm.p); free(bmemb.p);
        return -1;
    }
    char pv[32];
    snprintf(pv, sizeof pv, "%d", PROTO_VERSION);
    tern_ckpt_set_attr(w, "tern_protocol", pv, NULL);
    tern_ckpt_set_attr(w, "tern_mode", "api", NULL);
    int local_bad = 0;
    uintptr_t phs[NPREHANDLES];
    int nph = prehandles(phs);
    m.nhandles = (uint32_t)nph;
    if (tern_ckpt_put(w, "_tern_meta", &m, sizeof m, &err) ||
        tern_ckpt_put(w, "_tern_reqs", breq.p, breq.n, &err) ||
        tern_ckpt_put_fn(w, "_tern_msgs", msglen, describe_messages_fill, &mcur, &err) ||
        tern_ckpt_put(w, "_tern_comms", bcomm.p, bcomm.n, &err) ||
        tern_ckpt_put(w, COMM_LOG_SEGMENT, bmemb.p, bmemb.n, &err) ||
        tern_ckpt_put(w, "_tern_handles", phs, sizeof(uintptr_t) * (size_t)nph, &err) ||
        tern_ckpt_put(w, "_tern_types", btypes.p, btypes.n, &err))
        local_bad = 1;
    int nreg;
    region **v = regions_sorted(&nreg);
    for (int i = 0; i < nreg; i++) {
        int e;
        if (m.arrays)   /* collective per name: called even after a local error */
            e = tern_ckpt_put_array(w, v[i]->name, v[i]->elem, (uint64_t)v[i]->count, v[i]->ptr,
                                    local_bad ? NULL : &err);
        else
            e = local_bad ? 0 : tern_ckpt_put(w, v[i]->name, v[i]->ptr, v[i]->bytes, &err);
        if (e && !local_bad) local_bad = 1;
    }
    free(v);
    if (fail_rank == tern_world_rank && (uint64_t)fail_epoch == epoch) {
        if (!strcmp(fail_what, "die")) {
            fprintf(stderr, "tern: rank %d: TERN_TEST_FAIL: dying during checkpoint %" PRIu64 "\n",
                    tern_world_rank, epoch);
            _exit(9);
        }
        if (!strcmp(fail_what, "write") && !local_bad)
            tern_ckpt_put_fn(w, "_tern_fail", 4096, fail_fill, NULL, &err);
    }
    if (local_bad) say("checkpoint epoch %" PRIu64 ": %s", epoch, err.msg);
    if (tern_ckpt_commit(w, stats, &err)) {
        snprintf(why, whylen, "%s", err.msg);
        rc = -1;
    } else {
        rc = 1;
    }
    tern_internal_leave();
    free(breq.p); free(btypes.p);
    free(bcomm.p);
    free(bmemb.p);
    last_total = tern_now_mono() - t0;
    return rc;
}

void stats_line(const char *what)
{
    const char *p = getenv("TERN_STATS");
    if (!p || !*p || tern_world_rank != 0) return;
    FILE *f = fopen(p, "a");
    if (!f) return;
    fprintf(f, "%s nranks=%d proto_min=%.9f proto_max=%.9f quiesce=%.9f total=%.9f exchange=%.9f drain=%.9f describe=%.9f allreduce=%.9f fast=%d\n", what,
            tern_world_size, proto_min, proto_max, last_quiesce, last_total, phase[0], phase[1], phase[2], phase[3], last_fast);
    fclose(f);
}
