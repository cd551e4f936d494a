/* checkpoint.c: one checkpoint that every rank has agreed to take --
 * EXCHANGE, DRAIN (drain.c), DESCRIBE (describe.c), DUMP and COMMIT through
 * the store (docs/protocol.md; coord/README.md has the overview). Separate
 * from snapshot.c, which decides when to call it and tells people the outcome.
 */
#define _GNU_SOURCE
#include "checkpoint.h"
#include "wrap.h"
#include "clock.h"
#include "config.h"
#include "control.h"
#include "describe.h"
#include "drain.h"
#include "exchange.h"
#include "handles.h"
#include "hooks.h"
#include "refusal.h"
#include "regions.h"
#include "report.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* the proxy's quiesced hook ran in this attempt: resume must follow */
static int a_proxy_called;
static double t_frozen;   /* when it was called */
double last_frozen;

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

/* What one attempt carries from stage to stage. */
typedef struct attempt {
    double t0, t_enter, t1, tdesc;   /* decision, entry, exchange done, DESCRIBE ahead */
    uint64_t epoch, snaps;
    buf breq, btypes, bcomm, bmemb;  /* DESCRIBE's records */
    uint64_t nreq;
    int described;                   /* the requests were described ahead of the exchange */
    /* from the exchange */
    int fast;
    uint64_t hmax, hmin, inflight;
    /* this run's predefined handles: the store reads them at commit, so
     * they live as long as the attempt, not in the stage that puts them */
    uintptr_t phs[NPREHANDLES];
} attempt;

static void attempt_free(attempt *a)
{
    free(a->breq.p); free(a->btypes.p);
    free(a->bcomm.p); free(a->bmemb.p);
}

/* ---- EXCHANGE ---------------------------------------------------------------- */
/* A refusal's slow path: find and name the communicator whose collective
 * sequence differs between ranks. */
static void refuse_mismatch(uint64_t epoch, char *why, size_t whylen)
{
    int W = tern_world_size, me = tern_world_rank;
    char cwhy[1024] = "";
    int cbad = check_collectives(cwhy, sizeof cwhy);
    int src = W - agree_max(cbad ? W - me : 0);
    if (src < W)
        refusal_report(src, cbad, epoch, cwhy, sizeof cwhy, 78, why, whylen);
    else
        snprintf(why, whylen, "refused on rank 0: collective sequence numbers differ between ranks");
}

/* DESCRIBE ahead of the exchange on a rank with no active request (the
 * drain cannot change its requests, so the result stands after it), then
 * the ONE collective. 0 (its result in xs_res; a->epoch the epoch agreed),
 * or -1 with why: a refusal every rank knows of, nothing drained. */
static int exchange_stage(attempt *a, char *why, size_t whylen)
{
    int W = tern_world_size, me = tern_world_rank;
    char reason[1024], dwhy[1024] = "";
    int unsafe = tern_unsafe_reason(reason, sizeof reason);
    uint64_t h = regions_hash();
    int quiet = locally_quiet(), dbad = 0;
    double td0 = tern_now_mono();
    if (tm_hooks) {
        a->described = 1;   /* transparent mode: the proxy saves its requests itself */
    } else if (quiet && !unsafe) {
        dbad = describe_requests(&a->breq, &a->btypes, &a->nreq, dwhy, sizeof dwhy) != 0;
        a->described = 1;
        a->tdesc = tern_now_mono() - td0;
    }

    /* tern_wsent does not change until the checkpoint ends: this rank posts
     * nothing, and the drain only completes receives */
    uint64_t *xv = xs_vec;
    int64_t bal = 0;
    for (int w = 0; w < W; w++) bal += (int64_t)(tern_wsent[w] - tern_wrecvd[w]);
    xv[XS_UNSAFE] = unsafe ? (uint64_t)(W - me) : 0;
    xv[XS_DBAD] = dbad ? (uint64_t)(W - me) : 0;
    xv[XS_HASH] = h;
    xv[XS_NHASH] = ~h;
    xv[XS_EPOCH] = me == 0 ? a->epoch : 0;   /* rank 0 chose the epoch */
    xv[XS_BAL] = (uint64_t)bal;
    xv[XS_SIG] = tc_signature();
    xv[XS_NONQUIET] = !quiet;
    xv[XS_INFLIGHT] = a->described && (a->nreq > 0 || tq_total > 0);
    if (xs_matrix) memcpy(xv + XS_N + (size_t)me * (size_t)W, tern_wsent, sizeof(uint64_t) * (size_t)W);
    PMPI_Allreduce(xv, xs_res, xs_len, MPI_UINT64_T, xchg_op, ctrl);
    const uint64_t *g = xs_res;
    a->epoch = g[XS_EPOCH];
    /* FAST PATH: nothing posted that was not completed, no request active
     * anywhere: the drain would do nothing, and DESCRIBE ran on every rank */
    a->fast = g[XS_BAL] == 0 && g[XS_NONQUIET] == 0;
    a->hmax = g[XS_HASH];
    a->hmin = ~g[XS_NHASH];
    a->inflight = g[XS_INFLIGHT] || g[XS_NONQUIET] || g[XS_BAL];
    a->t1 = tern_now_mono();

    if (g[XS_UNSAFE])
        refusal_report(W - (int)g[XS_UNSAFE], unsafe, a->epoch, reason, sizeof reason, 77, why, whylen);
    else if (g[XS_SIG])
        refuse_mismatch(a->epoch, why, whylen);
    else if (g[XS_DBAD])
        refusal_report(W - (int)g[XS_DBAD], dbad, a->epoch, dwhy, sizeof dwhy, 79, why, whylen);
    else
        return 0;
    return -1;
}

/* ---- DRAIN ------------------------------------------------------------------ */
/* Receive what the exchange says is owed to this rank (nothing on the FAST
 * PATH), then describe its requests if that was not done ahead. 1 when this
 * rank cannot be saved (rwhy), else 0; *t2: when the drain ended. */
static int drain_stage(attempt *a, char *rwhy, size_t len, double *t2)
{
    int W = tern_world_size, me = tern_world_rank;
    const uint64_t *g = xs_res;
    *t2 = a->t1;
    if (a->fast) return 0;
    uint64_t *expect = xs_expect;
    if (g[XS_BAL] == 0) {
        memcpy(expect, tern_wrecvd, sizeof(uint64_t) * (size_t)W);   /* nothing owed */
    } else if (xs_matrix) {
        for (int w = 0; w < W; w++) expect[w] = g[XS_N + (size_t)w * (size_t)W + (size_t)me];
    } else {
        /* large jobs, messages in flight: what each rank posted to each */
        PMPI_Alltoall((void *)tern_wsent, 1, MPI_UINT64_T, expect, 1, MPI_UINT64_T, ctrl);
    }
    int bad = drain(expect, rwhy, len) != 0;
    *t2 = tern_now_mono();
    /* descriptors (may refuse: unrestorable pending receives) */
    if (!bad && !a->described) bad = describe_requests(&a->breq, &a->btypes, &a->nreq, rwhy, len) != 0;
    return bad;
}

/* Transparent mode: the proxy finishes what the drain completed and freezes
 * its application; a refusal fails the attempt like a late one above. */
static int proxy_quiesced(int bad, char *rwhy, size_t len)
{
    if (!tm_hooks) return bad;
    tern_error err;
    tern_error_clear(&err);
    a_proxy_called = 1;
    t_frozen = tern_now_mono();
    if (tm_hooks->quiesced(&err) && !bad) {
        snprintf(rwhy, len, "%s", err.msg);
        return 1;
    }
    return bad;
}

/* This rank is quiescent: the attempt's figures (last_quiesce, phase[], the
 * span TERN_STATS prints). */
static void note_times(const attempt *a, double t2)
{
    double t3 = tern_now_mono();
    last_quiesce = t3 - a->t0;
    phase[0] = a->t1 - a->t0 - a->tdesc; phase[1] = t2 - a->t1; phase[2] = t3 - t2 + a->tdesc; phase[3] = 0;
    last_fast = a->fast;
    if (stats_on) {
        /* benchmark only, outside the measured window: from the moment the
         * last rank entered to the moment the last one is quiescent (one
         * node: CLOCK_MONOTONIC is common to the ranks) */
        double d[2] = { a->t_enter, t3 }, r[2];
        PMPI_Allreduce(d, r, 2, MPI_DOUBLE, MPI_MAX, ctrl);
        proto_min = r[1] - r[0];
        proto_max = r[1] - a->t0;
    }
}

/* TERN_QUIESCE_ONLY: coordination only (bench/coord_quiesce.sh): a refusal
 * found after the exchange is the only thing left to report; drained
 * messages stay queued and are delivered as after a checkpoint. */
static int quiesced(const attempt *a, int bad, char *rwhy, size_t rlen, char *why, size_t whylen)
{
    int W = tern_world_size, me = tern_world_rank;
    int src = W - agree_max(bad ? W - me : 0);
    if (src < W) {
        refusal_report(src, bad, a->epoch, rwhy, rlen, 80, why, whylen);
        return -1;
    }
    return 0;
}

/* ---- DUMP ------------------------------------------------------------------ */
static int fail_fill(void *ctx, uint64_t off, void *dst, size_t n, tern_error *err)
{
    (void)ctx; (void)off; (void)dst; (void)n;
    return tern_error_set(err, EIO, "injected write failure (TERN_TEST_FAIL)");
}

/* TERN_TEST_FAIL=rank:epoch:die|write (docs/protocol.md, "fault injection") */
static void inject_failure(tern_ckpt_writer *w, uint64_t epoch, int local_bad, tern_error *err)
{
    if (fail_rank != tern_world_rank || (uint64_t)fail_epoch != epoch) return;
    if (!strcmp(fail_what, "die")) {
        fprintf(stderr, "tern: rank %d: TERN_TEST_FAIL: dying during checkpoint %" PRIu64 "\n",
                tern_world_rank, epoch);
        _exit(9);
    }
    if (!strcmp(fail_what, "write") && !local_bad)
        tern_ckpt_put_fn(w, "_tern_fail", 4096, fail_fill, NULL, err);
}

static void fill_meta(meta *m, const attempt *a, uint64_t nmsg, uint64_t ncomm)
{
    memset(m, 0, sizeof *m);
    m->magic = META_MAGIC;
    m->version = PROTO_VERSION;
    m->nranks = (uint32_t)tern_world_size;
    m->rank = (uint32_t)tern_world_rank;
    m->arrays = a->hmin == a->hmax;   /* global arrays: every rank protects the same names and types */
    m->epoch = a->epoch;
    m->snap_count = a->snaps;
    m->global_inflight = a->inflight;
    m->nmsgs = nmsg;
    m->nreqs = a->nreq;
    m->ncomms = ncomm;
    m->quiesce_seconds = last_quiesce;
}

/* The proxy's segments go through the store of this library. */
static int sink_put(void *w, const char *name, const void *p, size_t n, tern_error *err)
{
    return tern_ckpt_put(w, name, p, n, err);
}

static int sink_put_fn(void *w, const char *name, uint64_t len, tern_tm_fill_fn fill, void *ctx, tern_error *err)
{
    return tern_ckpt_put_fn(w, name, len, fill, ctx, err);
}

static int proxy_put(tern_ckpt_writer *w, tern_error *err)
{
    tern_tm_sink s = {w, sink_put, sink_put_fn};
    return tm_hooks->put(&s, err);
}

/* The segments and the registered regions into w. 1 when one of this rank's
 * failed (err), else 0; the arrays are collective per name, so they are put
 * even after an error. */
static int put_all(tern_ckpt_writer *w, attempt *a, meta *m, uint64_t msglen, msg_cursor *mcur,
                   tern_error *err)
{
    char pv[32];
    snprintf(pv, sizeof pv, "%d", PROTO_VERSION);
    tern_ckpt_set_attr(w, "tern_protocol", pv, NULL);
    tern_ckpt_set_attr(w, "tern_mode", tm_hooks ? "transparent" : "api", NULL);
    int local_bad = 0;
    int nph = prehandles(a->phs);
    m->nhandles = (uint32_t)nph;
    if (tern_ckpt_put(w, "_tern_meta", m, sizeof *m, err) ||
        tern_ckpt_put(w, "_tern_reqs", a->breq.p, a->breq.n, err) ||
        tern_ckpt_put_fn(w, "_tern_msgs", msglen, describe_messages_fill, mcur, err) ||
        tern_ckpt_put(w, "_tern_comms", a->bcomm.p, a->bcomm.n, err) ||
        tern_ckpt_put(w, COMM_LOG_SEGMENT, a->bmemb.p, a->bmemb.n, err) ||
        tern_ckpt_put(w, "_tern_handles", a->phs, sizeof(uintptr_t) * (size_t)nph, err) ||
        tern_ckpt_put(w, "_tern_types", a->btypes.p, a->btypes.n, err))
        local_bad = 1;
    int nreg;
    region **v = regions_sorted(&nreg);
    for (int i = 0; i < nreg; i++) {
        int e;
        if (m->arrays) { /* collective per name: called even after a local error */
            /* typed and shaped as protected, so HDF5 tools read it (regions.h) */
            tern_array_desc d = {v[i]->kind, v[i]->ndims, {0}};
            for (int k = 1; k < v[i]->ndims; k++) d.dims[k] = (uint64_t)v[i]->dims[k];
            e = tern_ckpt_put_array_desc(w, v[i]->name, v[i]->elem, (uint64_t)v[i]->count,
                                         v[i]->ptr, &d, local_bad ? NULL : err);
        }
        else
            e = local_bad ? 0 : tern_ckpt_put(w, v[i]->name, v[i]->ptr, v[i]->bytes, err);
        if (e && !local_bad) local_bad = 1;
    }
    free(v);
    if (tm_hooks && !local_bad && proxy_put(w, err)) local_bad = 1;
    return local_bad;
}

/* The store writes into cfg_dir by path: rank 0 checks that it is the job
 * directory it opened (report.h: made now if missing, refused if another
 * user could steer it) and tells every rank, so that all of them go on to
 * the store or none does. 0, or -1 with why. */
static int job_dir_agreed(char *why, size_t whylen)
{
    int unusable = tern_world_rank == 0 ? job_dir_usable(why, whylen) != 0 : 0;
    PMPI_Bcast(&unusable, 1, MPI_INT, 0, ctrl);
    if (unusable && tern_world_rank != 0)
        snprintf(why, whylen, "the job directory cannot be used (rank 0 says why)");
    return unusable ? -1 : 0;
}

/* DESCRIBE the messages and communicators, DUMP, COMMIT. A rank that found
 * after the drain that it cannot be saved (bad, rwhy) fails the attempt
 * through the store's first collective (opts.refuse). 1 committed, -1
 * failed (why). */
static int dump_stage(attempt *a, int bad, const char *rwhy, char *why, size_t whylen,
                      tern_ckpt_stats *stats)
{
    char refusal[TERN_ERROR_MAX] = "";
    if (bad) {
        say("checkpoint epoch %" PRIu64 " refused: %s", a->epoch, rwhy);
        snprintf(refusal, sizeof refusal, "refused on rank %d: %s", tern_world_rank, rwhy);
    }
    msg_cursor mcur;
    uint64_t nmsg, ncomm;
    uint64_t msglen = describe_messages(&nmsg, &mcur);
    describe_comms(&a->bcomm, &ncomm, &a->bmemb);
    meta m;
    fill_meta(&m, a, nmsg, ncomm);
    if (job_dir_agreed(why, whylen)) return -1;

    tern_store_opts opts;
    tern_store_opts_default(&opts);
    opts.job = cfg_job;
    opts.compress_level = cfg_compress;
    opts.keep = cfg_keep;
    opts.refuse = bad ? refusal : NULL;
    tern_error err;
    tern_error_clear(&err);
    tern_ckpt_writer *w = NULL;
    tern_internal_enter();
    if (tern_ckpt_begin(ctrl, cfg_dir, a->epoch, &opts, &w, &err)) {
        tern_internal_leave();
        snprintf(why, whylen, "%s", err.msg);
        return -1;
    }
    int local_bad = put_all(w, a, &m, msglen, &mcur, &err);
    inject_failure(w, a->epoch, local_bad, &err);
    if (local_bad) say("checkpoint epoch %" PRIu64 ": %s", a->epoch, err.msg);
    int rc = 1;
    if (tern_ckpt_commit(w, stats, &err)) {
        snprintf(why, whylen, "%s", err.msg);
        rc = -1;
    }
    tern_internal_leave();
    last_total = tern_now_mono() - a->t0;
    return rc;
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
    attempt a;
    memset(&a, 0, sizeof a);
    a.t_enter = tern_now_mono();
    a.t0 = t0;
    a.snaps = snaps;
    a.epoch = *epoch_out;   /* rank 0's proposal */
    int rc = exchange_stage(&a, why, whylen);
    *epoch_out = a.epoch;
    if (rc == 0) {
        char rwhy[1024] = "";
        double t2;
        int bad = drain_stage(&a, rwhy, sizeof rwhy, &t2);
        bad = proxy_quiesced(bad, rwhy, sizeof rwhy);
        note_times(&a, t2);
        rc = cfg_quiesce_only ? quiesced(&a, bad, rwhy, sizeof rwhy, why, whylen)
                              : dump_stage(&a, bad, rwhy, why, whylen, stats);
    }
    if (a_proxy_called) {
        a_proxy_called = 0;
        tm_hooks->resume(rc == 1);
        /* how long the applications were stopped: the longest of any rank
         * (every rank called the hook: all of them drained) */
        double mine = tern_now_mono() - t_frozen;
        PMPI_Allreduce(&mine, &last_frozen, 1, MPI_DOUBLE, MPI_MAX, ctrl);
    }
    attempt_free(&a);
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
