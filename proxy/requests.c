/* requests.c: the application's requests (px_dispatch.h): their buffers
 * until they complete, the Wait/Test families, MPI_Start(all),
 * MPI_Request_free, MPI_Request_get_status.
 *
 * A request's entry holds what its call left to do: the output buffers to
 * write back and the allocations to free when it completes, and for a
 * persistent request the inputs to read again at each MPI_Start. A request
 * the application frees while it is active (MPI_Request_free after an
 * Isend) still owns its buffers: it is kept and tested at every call until
 * it completes, and finished before MPI_Finalize.
 */
#include "px_answer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct px_req {
    px_wb *wb;
    px_alloc *arena;
    px_refetch *refetch;
    int active;    /* posted or started, not completed */
    int written;   /* written back already (MPI_Request_get_status, a checkpoint) */
    int persistent;
    int uop;       /* a collective with a user op: progress may upcall */
    int done;      /* a checkpoint found it complete: st is its status */
    MPI_Status st;
    unsigned char *call;   /* the call that made it (a restart makes it again) */
    size_t call_len;
} px_req;

typedef struct detached {
    struct detached *next;
    MPI_Request r;
    px_req *q;
} detached;
static detached *freed_active;
int px_uop_active;   /* active requests whose progress may need an upcall */

static void uop_done(px_req *q)
{
    if (q && q->uop) {
        q->uop = 0;
        px_uop_active--;
    }
}

static void req_free(px_req *q)
{
    if (!q) return;
    uop_done(q);
    px_wb_free(q->wb);
    px_arena_free(q->arena);
    px_refetch_free(q->refetch);
    free(q->call);
    free(q);
}

void px_out_req(px_ctx *x, uint64_t a, MPI_Request r, int persistent)
{
    if (r == MPI_REQUEST_NULL) {
        px_out_h(x, a, TP_ompi_request_null);
        return;
    }
    px_req *q = calloc(1, sizeof *q);
    if (!q) px_fatal("out of memory for a request");
    q->wb = x->wb;
    q->arena = x->arena;
    q->refetch = x->refetch;
    q->active = !persistent;
    q->persistent = persistent;
    if (x->user_op && q->active) {
        q->uop = 1;
        px_uop_active++;
    }
    size_t n;
    uint32_t call;
    const unsigned char *b = px_call_bytes(&n, &call);
    if (b && n && (q->call = malloc(n))) {
        memcpy(q->call, b, n);
        q->call_len = n;
    }
    x->wb = NULL;
    x->arena = NULL;
    x->refetch = NULL;
    uint64_t id = px_reg(x, r, TK_REQ);
    px_ent_of(id)->ext = q;
    px_out_h(x, a, id);
}

static px_req *req_of(uint64_t id)
{
    px_ent *e = px_ent_of(id);
    return e && e->kind == TK_REQ ? e->ext : NULL;
}

/* Request id completed (r: its handle after MPI's completion, st: its status):
 * write back what it received; the id the application holds now. */
static uint64_t completed(px_ctx *x, uint64_t id, MPI_Request r, const MPI_Status *st)
{
    px_req *q = req_of(id);
    if (!q) return id;   /* MPI_REQUEST_NULL, an unknown handle */
    if (q->active && !q->written && (!st || st->MPI_ERROR != MPI_ERR_PENDING))
        for (px_wb *b = q->wb; b; b = b->next) px_wb_emit(x, b, st);
    if (st && st->MPI_ERROR == MPI_ERR_PENDING) return id;
    q->active = q->written = q->done = 0;
    uop_done(q);
    if (r != MPI_REQUEST_NULL) return id;   /* a persistent request stays, inactive */
    req_free(q);
    px_ent_of(id)->ext = NULL;
    px_release(id);
    return TP_ompi_request_null;
}

/* The ids of an array of requests (inline: the shim translated them) */
static uint64_t *ids_of(px_ctx *x, unsigned k, int n)
{
    size_t len;
    const void *p = px_inl(x, k, &len);
    if (n <= 0) return NULL;
    if (!p || len != (size_t)n * 8) px_fatal("%s: the request array did not reach the proxy", px_names[((tw_call *)x->base)->call]);
    return memcpy(px_alloc_bytes(x, len), p, len);
}

static MPI_Request *reqs_of(px_ctx *x, const uint64_t *ids, int n)
{
    MPI_Request *r = px_alloc_bytes(x, (size_t)(n > 0 ? n : 1) * sizeof *r);
    for (int i = 0; i < n; i++) r[i] = px_h(x, ids[i]);
    return r;
}

static MPI_Status *statuses(px_ctx *x, int n)
{
    MPI_Status *st = px_alloc_bytes(x, (size_t)(n > 0 ? n : 1) * sizeof *st);
    for (int i = 0; i < (n > 0 ? n : 1); i++) px_status_prep(&st[i]);
    return st;
}

/* ---- Wait, Test --------------------------------------------------------------------------- */
static int one(px_ctx *x, int test)
{
    uint64_t a_req = x->w[0], a_flag = test ? x->w[1] : 0, a_st = x->w[test ? 2 : 1];
    uint64_t id = px_inl_id(x, 0);
    MPI_Request r = px_h(x, id);
    MPI_Status st;
    px_status_prep(&st);
    int flag = 1;
    int rc;
    /* a wait is tests with the protocol served between them (block.c) */
    while ((rc = MPI_Test(&r, &flag, &st)) == MPI_SUCCESS && !flag && !test) px_waiting();
    if (flag) {
        uint64_t nid = completed(x, id, r, &st);
        if (nid != id) px_out_h(x, a_req, nid);
        px_out_status(x, a_st, &st);
    }
    if (test) px_out(x, a_flag, &flag, sizeof flag);
    return px_end(x, rc);
}

int px_MPI_Wait(px_ctx *x) { return one(x, 0); }
int px_MPI_Test(px_ctx *x) { return one(x, 1); }

/* Requests completed: all n of them (idx NULL) or those at idx[0..n), with
 * statuses st[0..n); the application's handles at a_reqs change. */
static void completed_some(px_ctx *x, uint64_t a_reqs, uint64_t *ids, MPI_Request *r, const MPI_Status *st,
                           const int *idx, int n)
{
    int changed = 0;
    for (int j = 0; j < n; j++) {
        int i = idx ? idx[j] : j;
        uint64_t nid = completed(x, ids[i], r[i], &st[j]);
        changed |= nid != ids[i];
        ids[i] = nid;
    }
    if (!changed) return;
    if (!idx) {
        memcpy(px_rec(x, TW_R_HANDLES, a_reqs, (size_t)n * 8), ids, (size_t)n * 8);
        return;
    }
    for (int j = 0; j < n; j++) px_out_h(x, a_reqs + (uint64_t)idx[j] * 8, ids[idx[j]]);
}

static int all(px_ctx *x, int test)
{
    int n = (int)x->w[0];
    uint64_t a_reqs = x->w[1], a_flag = test ? x->w[2] : 0, a_st = x->w[test ? 3 : 2];
    uint64_t *ids = ids_of(x, 1, n);
    MPI_Request *r = reqs_of(x, ids, n);
    MPI_Status *st = statuses(x, n);
    int flag = 1;
    int rc;
    while ((rc = MPI_Testall(n, r, &flag, st)) == MPI_SUCCESS && !flag && !test) px_waiting();
    if (flag && (rc == MPI_SUCCESS || rc == MPI_ERR_IN_STATUS)) {
        completed_some(x, a_reqs, ids, r, st, NULL, n);
        px_out_statuses(x, a_st, st, n);
    }
    if (test) px_out(x, a_flag, &flag, sizeof flag);
    return px_end(x, rc);
}

int px_MPI_Waitall(px_ctx *x) { return all(x, 0); }
int px_MPI_Testall(px_ctx *x) { return all(x, 1); }

static int any(px_ctx *x, int test)
{
    int n = (int)x->w[0];
    uint64_t a_reqs = x->w[1], a_idx = x->w[2], a_flag = test ? x->w[3] : 0, a_st = x->w[test ? 4 : 3];
    uint64_t *ids = ids_of(x, 1, n);
    MPI_Request *r = reqs_of(x, ids, n);
    MPI_Status st;
    px_status_prep(&st);
    int idx = MPI_UNDEFINED, flag = 1;
    int rc;
    while ((rc = MPI_Testany(n, r, &idx, &flag, &st)) == MPI_SUCCESS && !flag && !test) px_waiting();
    if (flag && idx != MPI_UNDEFINED && idx >= 0 && idx < n) {
        uint64_t nid = completed(x, ids[idx], r[idx], &st);
        if (nid != ids[idx]) px_out_h(x, a_reqs + (uint64_t)idx * 8, nid);
    }
    if (flag) px_out_status(x, a_st, &st);
    px_out(x, a_idx, &idx, sizeof idx);
    if (test) px_out(x, a_flag, &flag, sizeof flag);
    return px_end(x, rc);
}

int px_MPI_Waitany(px_ctx *x) { return any(x, 0); }
int px_MPI_Testany(px_ctx *x) { return any(x, 1); }

static int some(px_ctx *x, int test)
{
    int n = (int)x->w[0];
    uint64_t a_reqs = x->w[1], a_out = x->w[2], a_idx = x->w[3], a_st = x->w[4];
    uint64_t *ids = ids_of(x, 1, n);
    MPI_Request *r = reqs_of(x, ids, n);
    MPI_Status *st = statuses(x, n);
    int *idx = px_alloc_bytes(x, (size_t)(n > 0 ? n : 1) * sizeof *idx), outcount = MPI_UNDEFINED;
    int rc;
    while ((rc = MPI_Testsome(n, r, &outcount, idx, st)) == MPI_SUCCESS && outcount == 0 && !test) px_waiting();
    if (outcount != MPI_UNDEFINED && outcount > 0 && (rc == MPI_SUCCESS || rc == MPI_ERR_IN_STATUS)) {
        completed_some(x, a_reqs, ids, r, st, idx, outcount);
        px_out(x, a_idx, idx, (size_t)outcount * sizeof *idx);
        px_out_statuses(x, a_st, st, outcount);
    }
    px_out(x, a_out, &outcount, sizeof outcount);
    return px_end(x, rc);
}

int px_MPI_Waitsome(px_ctx *x) { return some(x, 0); }
int px_MPI_Testsome(px_ctx *x) { return some(x, 1); }

/* ---- persistent requests ---------------------------------------------------------------- */
static int refetch(px_req *q)
{
    for (px_refetch *f = q ? q->refetch : NULL; f; f = f->next)
        if (px_read(f->app, f->p, f->n)) return MPI_ERR_BUFFER;
    return MPI_SUCCESS;
}

int px_MPI_Start(px_ctx *x)
{
    uint64_t id = px_inl_id(x, 0);
    MPI_Request r = px_h(x, id);
    px_req *q = req_of(id);
    int rc = refetch(q);
    if (rc == MPI_SUCCESS) rc = MPI_Start(&r);
    if (rc == MPI_SUCCESS && q) {
        q->active = 1;
        q->written = q->done = 0;
    }
    return px_end(x, rc);
}

int px_MPI_Startall(px_ctx *x)
{
    int n = (int)x->w[0];
    uint64_t *ids = ids_of(x, 1, n);
    MPI_Request *r = reqs_of(x, ids, n);
    int rc = MPI_SUCCESS;
    for (int i = 0; i < n && rc == MPI_SUCCESS; i++) rc = refetch(req_of(ids[i]));
    if (rc == MPI_SUCCESS) rc = MPI_Startall(n, r);
    for (int i = 0; i < n && rc == MPI_SUCCESS; i++)
        if (req_of(ids[i])) {
            req_of(ids[i])->active = 1;
            req_of(ids[i])->written = req_of(ids[i])->done = 0;
        }
    return px_end(x, rc);
}

/* ---- freeing, status ------------------------------------------------------------------------ */
int px_MPI_Request_free(px_ctx *x)
{
    uint64_t a_req = x->w[0], id = px_inl_id(x, 0);
    MPI_Request r = px_h(x, id);
    px_req *q = req_of(id);
    int rc = MPI_SUCCESS;
    if (q && q->active) {
        /* it goes on: keep it and its buffers until it completes */
        detached *d = malloc(sizeof *d);
        if (!d) px_fatal("out of memory");
        *d = (detached){freed_active, r, q};
        freed_active = d;
    } else {
        rc = MPI_Request_free(&r);
        req_free(q);
    }
    if (q) {
        px_ent_of(id)->ext = NULL;
        px_release(id);
    }
    if (rc == MPI_SUCCESS) px_out_h(x, a_req, TP_ompi_request_null);
    return px_end(x, rc);
}

int px_MPI_Request_get_status(px_ctx *x)
{
    uint64_t id = x->w[0], a_flag = x->w[1], a_st = x->w[2];
    MPI_Request r = px_h(x, id);
    px_req *q = req_of(id);
    MPI_Status st;
    px_status_prep(&st);
    int flag = 0;
    int rc = MPI_Request_get_status(r, &flag, &st);
    if (rc == MPI_SUCCESS && flag && q && q->active && !q->written) {
        for (px_wb *b = q->wb; b; b = b->next) px_wb_emit(x, b, &st);
        q->written = 1;
    }
    px_out(x, a_flag, &flag, sizeof flag);
    if (flag) px_out_status(x, a_st, &st);
    return px_end(x, rc);
}

/* ---- requests freed while active ----------------------------------------------------------- */
int px_requests_pending(void)
{
    return freed_active != NULL;
}

/* writes back without an answer (no call is being answered) */
static void finish(detached *d, const MPI_Status *st)
{
    px_ctx none;
    memset(&none, 0, sizeof none);
    for (px_wb *b = d->q->wb; b; b = b->next) px_wb_emit(&none, b, st);
    req_free(d->q);
    free(d);
}

void px_requests_poll(void)
{
    for (detached **p = &freed_active; *p;) {
        int flag = 0;
        MPI_Status st;
        MPI_Test(&(*p)->r, &flag, &st);
        if (!flag) {
            p = &(*p)->next;
            continue;
        }
        detached *d = *p;
        *p = d->next;
        finish(d, &st);
    }
}

void px_requests_finish(void)
{
    while (freed_active) {
        detached *d = freed_active;
        freed_active = d->next;
        MPI_Status st;
        MPI_Wait(&d->r, &st);
        finish(d, &st);
    }
}

/* ---- checkpoints ------------------------------------------------------------------------- */
/* At the cut (after the drain): what has completed is written back into the
 * application now (it may be, any time before its completion call), so that
 * its image holds it and a restart needs only the status. What is still
 * active must be a receive, made again after a restart. */
int px_requests_quiesce(char *why, size_t len)
{
    if (freed_active) px_requests_poll();
    if (freed_active) {
        snprintf(why, len, "a request the application freed while active (MPI_Request_free) is still pending");
        return -1;
    }
    for (uint64_t id = px_ent_next(0); id != TW_ID_BAD; id = px_ent_next(id)) {
        px_ent *e = px_ent_of(id);
        if (e->kind != TK_REQ || !e->ext) continue;
        px_req *q = e->ext;
        if (!q->active) {
            q->done = 0;
            continue;
        }
        int flag = 0;
        MPI_Status st;
        px_status_prep(&st);
        if (MPI_Request_get_status(e->h, &flag, &st) != MPI_SUCCESS) {
            snprintf(why, len, "MPI_Request_get_status failed on a pending request");
            return -1;
        }
        if (!flag) {
            if (!q->call) {
                snprintf(why, len, "a pending request whose call was not kept");
                return -1;
            }
            q->done = 0;
            continue;
        }
        if (!q->written) {
            px_ctx none;
            memset(&none, 0, sizeof none);
            for (px_wb *b = q->wb; b; b = b->next) px_wb_emit(&none, b, &st);
        }
        q->written = 1;
        q->done = 1;
        q->st = st;
    }
    return 0;
}

typedef struct {
    uint64_t id;
    uint32_t persistent, active, done, call_len;
    MPI_Status st;
} req_rec;

int px_requests_save(unsigned char **buf, size_t *len)
{
    size_t cap = 4096, n = 0;
    unsigned char *b = malloc(cap);
    if (!b) return -1;
    for (uint64_t id = px_ent_next(0); id != TW_ID_BAD; id = px_ent_next(id)) {
        px_ent *e = px_ent_of(id);
        if (e->kind != TK_REQ || !e->ext) continue;
        px_req *q = e->ext;
        req_rec r = {id, (uint32_t)q->persistent, (uint32_t)q->active, (uint32_t)(q->active && q->done),
                     (uint32_t)q->call_len, q->st};
        size_t need = n + sizeof r + q->call_len;
        if (need > cap) {
            while (cap < need) cap *= 2;
            unsigned char *nb = realloc(b, cap);
            if (!nb) {
                free(b);
                return -1;
            }
            b = nb;
        }
        memcpy(b + n, &r, sizeof r);
        if (q->call_len) memcpy(b + n + sizeof r, q->call, q->call_len);
        n = need;
    }
    *buf = b;
    *len = n;
    return 0;
}

/* ---- a restart: the requests made again ---------------------------------------------------- */
static int done_query(void *extra, MPI_Status *st)
{
    *st = *(const MPI_Status *)extra;
    return MPI_SUCCESS;
}

static int done_free(void *extra)
{
    free(extra);
    return MPI_SUCCESS;
}

static int done_cancel(void *extra, int complete)
{
    (void)extra;
    (void)complete;
    return MPI_SUCCESS;
}

/* A request that had completed: a generalized request, complete, whose
 * status is the saved one (Open MPI's own: tern's counters saw it already). */
static int make_done(uint64_t id, const req_rec *r, char *why, size_t len)
{
    MPI_Status *st = malloc(sizeof *st);
    MPI_Request g = MPI_REQUEST_NULL;
    if (!st) return snprintf(why, len, "out of memory"), -1;
    *st = r->st;
    /* the error field is Open MPI's request error for a generalized one */
    if (st->MPI_ERROR != MPI_ERR_TRUNCATE) st->MPI_ERROR = MPI_SUCCESS;
    if (PMPI_Grequest_start(done_query, done_free, done_cancel, st, &g) != MPI_SUCCESS ||
        PMPI_Grequest_complete(g) != MPI_SUCCESS) {
        free(st);
        return snprintf(why, len, "cannot make the completed request %llu again", (unsigned long long)id), -1;
    }
    px_req *q = calloc(1, sizeof *q);
    if (!q) return snprintf(why, len, "out of memory"), -1;
    q->active = 1;
    q->written = 1;
    px_reg_at(id, g, TK_REQ, 1);
    px_ent_of(id)->ext = q;
    return 0;
}

/* A request still active (a receive) or persistent: its call made again,
 * at its id, its answer to the application dropped (the application holds
 * the id already). */
static int make_again(uint64_t id, const req_rec *r, const unsigned char *call, char *why, size_t len)
{
    const tw_call *h = (const tw_call *)call;
    if (r->call_len < sizeof *h || h->call >= TC_N || !px_dispatch[h->call])
        return snprintf(why, len, "request %llu: its saved call is not one this proxy knows", (unsigned long long)id), -1;
    unsigned char *in = malloc(r->call_len), *out = malloc(65536);
    if (!in || !out) {
        free(in);
        free(out);
        return snprintf(why, len, "out of memory"), -1;
    }
    memcpy(in, call, r->call_len);
    px_ctx x;
    px_ctx_init(&x, in, r->call_len, out, 65536);
    px_force_id(id);
    px_call_set(in, r->call_len);
    int rc = px_dispatch[h->call](&x);
    px_call_set(NULL, 0);
    px_force_id(TW_ID_BAD);
    free(in);
    free(out);
    px_req *q = req_of(id);
    if (rc != MPI_SUCCESS || !q)
        return snprintf(why, len, "request %llu: %s failed when made again", (unsigned long long)id,
                        px_names[h->call]), -1;
    if (r->persistent && r->active && !r->done) {
        MPI_Request rq = px_h(NULL, id);
        if (MPI_Start(&rq) != MPI_SUCCESS)
            return snprintf(why, len, "request %llu: MPI_Start failed when made again", (unsigned long long)id), -1;
        q->active = 1;
    }
    return 0;
}

int px_requests_restore(const unsigned char *p, size_t n, char *why, size_t len)
{
    size_t at = 0;
    while (at < n) {
        req_rec r;
        if (n - at < sizeof r) return snprintf(why, len, "the saved requests are truncated"), -1;
        memcpy(&r, p + at, sizeof r);
        at += sizeof r;
        if (r.call_len > n - at) return snprintf(why, len, "the saved requests are truncated"), -1;
        int rc = r.done && !r.persistent ? make_done(r.id, &r, why, len) : make_again(r.id, &r, p + at, why, len);
        if (rc) return -1;
        at += r.call_len;
    }
    return 0;
}
