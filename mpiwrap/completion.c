/* completion.c: the Wait/Test families, Start(all), Cancel, Request_free,
 * Request_get_status and generalized requests over virtual requests. */
#include "wrap.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int MPI_Wait(MPI_Request *request, MPI_Status *status)
{
    tern_req *q = tr_get(*request);
    if (!q) return PMPI_Wait(request, status);
    MPI_Status tmp;
    MPI_Status *st = status ? status : &tmp;
    int rc = MPI_SUCCESS;
    if (q->state == TRS_DONE) {
        *st = q->st;
        rc = st->MPI_ERROR == MPI_ERR_TRUNCATE ? MPI_ERR_TRUNCATE : MPI_SUCCESS;
    } else if (q->state == TRS_ACTIVE) {
        rc = PMPI_Wait(&q->real, st);
        tr_complete(q, st);
    } else {
        /* inactive persistent request: empty status */
        return PMPI_Wait(&q->real, status);
    }
    tr_release(q, request);
    return rc;
}

int MPI_Test(MPI_Request *request, int *flag, MPI_Status *status)
{
    tern_req *q = tr_get(*request);
    if (!q) return PMPI_Test(request, flag, status);
    MPI_Status tmp;
    MPI_Status *st = status ? status : &tmp;
    int rc = MPI_SUCCESS;
    if (q->state == TRS_DONE) {
        *st = q->st;
        *flag = 1;
    } else if (q->state == TRS_ACTIVE) {
        rc = PMPI_Test(&q->real, flag, st);
        if (!*flag) return rc;
        tr_complete(q, st);
    } else {
        return PMPI_Test(&q->real, flag, status);
    }
    tr_release(q, request);
    return rc;
}

#define LOCAL_N 64
/* Translate an array of requests into real[]; returns the number of virtual
 * requests tern already completed (state DONE). */
static int xlate(int n, MPI_Request *reqs, MPI_Request *real)
{
    int ndone = 0;
    for (int i = 0; i < n; i++) {
        tern_req *q = tr_get(reqs[i]);
        if (!q) real[i] = reqs[i];
        else if (q->state == TRS_DONE) {
            real[i] = MPI_REQUEST_NULL;
            ndone++;
        } else real[i] = q->real;
    }
    return ndone;
}

/* After the real call: for index i, complete the application's view. `done`
 * says whether the real request i completed in this call. */
static void finish_one(MPI_Request *reqs, MPI_Request *real, int i, MPI_Status *st, int done)
{
    tern_req *q = tr_get(reqs[i]);
    if (!q) {
        reqs[i] = real[i];
        return;
    }
    if (q->state == TRS_DONE) {
        if (st) *st = q->st;
        tr_release(q, &reqs[i]);
        return;
    }
    q->real = real[i];
    if (done && q->state == TRS_ACTIVE) {
        tr_complete(q, st);
        tr_release(q, &reqs[i]);
    }
}

int MPI_Waitall(int n, MPI_Request reqs[], MPI_Status stats[])
{
    MPI_Request lr[LOCAL_N];
    MPI_Status ls[LOCAL_N];
    MPI_Request *real = n <= LOCAL_N ? lr : malloc(sizeof(MPI_Request) * (size_t)n);
    MPI_Status *st = stats != MPI_STATUSES_IGNORE ? stats
                   : n <= LOCAL_N ? ls : malloc(sizeof(MPI_Status) * (size_t)n);
    xlate(n, reqs, real);
    int rc = PMPI_Waitall(n, real, st);
    for (int i = 0; i < n; i++) finish_one(reqs, real, i, &st[i], 1);
    if (real != lr) free(real);
    if (st != stats && st != ls) free(st);
    return rc;
}

int MPI_Testall(int n, MPI_Request reqs[], int *flag, MPI_Status stats[])
{
    MPI_Request lr[LOCAL_N];
    MPI_Status ls[LOCAL_N];
    MPI_Request *real = n <= LOCAL_N ? lr : malloc(sizeof(MPI_Request) * (size_t)n);
    MPI_Status *st = stats != MPI_STATUSES_IGNORE ? stats
                   : n <= LOCAL_N ? ls : malloc(sizeof(MPI_Status) * (size_t)n);
    xlate(n, reqs, real);
    int rc = PMPI_Testall(n, real, flag, st);
    if (*flag)
        for (int i = 0; i < n; i++) finish_one(reqs, real, i, &st[i], 1);
    else
        for (int i = 0; i < n; i++) {
            tern_req *q = tr_get(reqs[i]);
            if (q && q->state != TRS_DONE) q->real = real[i];
        }
    if (real != lr) free(real);
    if (st != stats && st != ls) free(st);
    return rc;
}

static int anyhelper(int n, MPI_Request reqs[], int *index, int *flag, MPI_Status *status, int blocking)
{
    /* a request tern already completed goes first */
    for (int i = 0; i < n; i++) {
        tern_req *q = tr_get(reqs[i]);
        if (q && q->state == TRS_DONE) {
            if (status) *status = q->st;
            *index = i;
            *flag = 1;
            tr_release(q, &reqs[i]);
            return MPI_SUCCESS;
        }
    }
    MPI_Request lr[LOCAL_N];
    MPI_Request *real = n <= LOCAL_N ? lr : malloc(sizeof(MPI_Request) * (size_t)n);
    xlate(n, reqs, real);
    MPI_Status tmp;
    MPI_Status *st = status ? status : &tmp;
    int rc = blocking ? PMPI_Waitany(n, real, index, st) : PMPI_Testany(n, real, index, flag, st);
    if (blocking) *flag = 1;
    for (int i = 0; i < n; i++) {
        if (i == *index) finish_one(reqs, real, i, st, 1);
        else {
            tern_req *q = tr_get(reqs[i]);
            if (q) q->real = real[i];
        }
    }
    if (real != lr) free(real);
    return rc;
}

int MPI_Waitany(int n, MPI_Request reqs[], int *index, MPI_Status *status)
{
    int flag;
    return anyhelper(n, reqs, index, &flag, status, 1);
}

int MPI_Testany(int n, MPI_Request reqs[], int *index, int *flag, MPI_Status *status)
{
    return anyhelper(n, reqs, index, flag, status, 0);
}

static int somehelper(int n, MPI_Request reqs[], int *outcount, int idx[], MPI_Status stats[], int blocking)
{
    MPI_Request lr[LOCAL_N];
    MPI_Status ls[LOCAL_N];
    int li[LOCAL_N];
    MPI_Request *real = n <= LOCAL_N ? lr : malloc(sizeof(MPI_Request) * (size_t)n);
    MPI_Status *st = n <= LOCAL_N ? ls : malloc(sizeof(MPI_Status) * (size_t)n);
    int *ri = n <= LOCAL_N ? li : malloc(sizeof(int) * (size_t)n);
    int ndone = xlate(n, reqs, real);
    int rc, rn = 0;
    if (ndone) rc = PMPI_Testsome(n, real, &rn, ri, st);
    else rc = blocking ? PMPI_Waitsome(n, real, &rn, ri, st) : PMPI_Testsome(n, real, &rn, ri, st);
    int out = 0, undefined = 0;
    if (rn == MPI_UNDEFINED) {
        undefined = !ndone;
        rn = 0;
    }
    /* map the real completions: pos[i] = index into st[] or -1 */
    int *pos = malloc(sizeof(int) * ((size_t)n + 1));
    for (int i = 0; i < n; i++) pos[i] = -1;
    for (int k = 0; k < rn; k++) pos[ri[k]] = k;
    for (int i = 0; i < n; i++) {
        tern_req *q = tr_get(reqs[i]);
        if (q && q->state == TRS_DONE) {
            if (stats != MPI_STATUSES_IGNORE) stats[out] = q->st;
            idx[out++] = i;
            tr_release(q, &reqs[i]);
        } else if (pos[i] >= 0) {
            MPI_Status *s = &st[pos[i]];
            finish_one(reqs, real, i, s, 1);
            if (stats != MPI_STATUSES_IGNORE) stats[out] = *s;
            idx[out++] = i;
        } else if (q) {
            q->real = real[i];
        }
    }
    free(pos);
    *outcount = undefined ? MPI_UNDEFINED : out;
    if (real != lr) free(real);
    if (st != ls) free(st);
    if (ri != li) free(ri);
    return rc;
}

int MPI_Waitsome(int n, MPI_Request reqs[], int *outcount, int idx[], MPI_Status stats[])
{
    return somehelper(n, reqs, outcount, idx, stats, 1);
}

int MPI_Testsome(int n, MPI_Request reqs[], int *outcount, int idx[], MPI_Status stats[])
{
    return somehelper(n, reqs, outcount, idx, stats, 0);
}

int MPI_Start(MPI_Request *request)
{
    tern_req *q = tr_get(*request);
    if (!q) return PMPI_Start(request);
    if (q->kind == TR_PSEND) {
        tc_count_send(q->comm, q->peer);
    } else if (q->kind == TR_PRECV && TERN_UNLIKELY(q->comm->nq)) {
        int rc;
        if (tq_take(q->comm, q->peer, q->tag, q->buf, q->count, q->dt, &q->st, &rc)) {
            q->state = TRS_DONE;
            return MPI_SUCCESS;
        }
    }
    q->state = TRS_ACTIVE;
    return PMPI_Start(&q->real);
}

int MPI_Startall(int n, MPI_Request reqs[])
{
    int rc = MPI_SUCCESS;
    for (int i = 0; i < n; i++) {
        int r = MPI_Start(&reqs[i]);
        if (r != MPI_SUCCESS) rc = r;
    }
    return rc;
}

int MPI_Cancel(MPI_Request *request)
{
    tern_req *q = tr_get(*request);
    if (!q) return PMPI_Cancel(request);
    if (q->state != TRS_ACTIVE) return MPI_SUCCESS;   /* completed by tern: too late */
    return PMPI_Cancel(&q->real);
}

int MPI_Request_free(MPI_Request *request)
{
    tern_req *q = tr_get(*request);
    if (!q) return PMPI_Request_free(request);
    int rc = MPI_SUCCESS;
    if (q->state == TRS_ACTIVE && (q->kind == TR_RECV || q->kind == TR_PRECV || q->kind == TR_MRECV))
        tern_unsafe_mark("MPI_Request_free (of an active receive)", TERN_UNSAFE_MISC, 0);
    if (q->real != MPI_REQUEST_NULL) rc = PMPI_Request_free(&q->real);
    tr_free(q);
    *request = MPI_REQUEST_NULL;
    return rc;
}

int MPI_Request_get_status(MPI_Request request, int *flag, MPI_Status *status)
{
    tern_req *q = tr_get(request);
    if (!q) return PMPI_Request_get_status(request, flag, status);
    if (q->state == TRS_DONE) {
        *flag = 1;
        if (status) *status = q->st;
        return MPI_SUCCESS;
    }
    return PMPI_Request_get_status(q->real, flag, status);
}

int MPI_Grequest_start(MPI_Grequest_query_function *query_fn, MPI_Grequest_free_function *free_fn,
                       MPI_Grequest_cancel_function *cancel_fn, void *extra_state,
                       MPI_Request *request)
{
    MPI_Request r;
    int rc = PMPI_Grequest_start(query_fn, free_fn, cancel_fn, extra_state, &r);
    if (rc != MPI_SUCCESS || tern_internal) {
        *request = r;
        return rc;
    }
    *request = tr_wrap(r, TR_GREQ, tc_world_p, NULL, 0, MPI_DATATYPE_NULL, -1, -1);
    return rc;
}

int MPI_Grequest_complete(MPI_Request request)
{
    tern_req *q = tr_get(request);
    return PMPI_Grequest_complete(q ? q->real : request);
}
