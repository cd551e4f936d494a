/* block.c: the application's blocking calls, made so that the proxy keeps
 * serving the protocol while they wait (px_dispatch.h; coord/tern_tm.h).
 *
 * A checkpoint may come while the application waits in any of them, and
 * nothing may then be half done:
 *   - a receive waits with its request posted; once a cut is pending and
 *     every communicator aligned (tern_tm_park_receives) it cancels the
 *     request and waits with none (READY: made again after a restart, or
 *     posted again after the cut). A receive that completed meanwhile is
 *     simply done;
 *   - a send is READY all the time: the drain completes it, so after a
 *     restart its call is answered without sending again (PX_SENT);
 *   - a probe holds nothing: READY;
 *   - a collective passes the gate first (READY until it may start), then
 *     is a started nonblocking collective (not READY) until it completes.
 * A waiter yields the core between tests: with 2 ranks on 2 cores the other
 * rank's processes need it.
 */
#define _GNU_SOURCE
#include "px_dispatch.h"

#include <sched.h>
#include <stdlib.h>
#include <string.h>

int px_phase;
int px_skip_send;

/* A poll where the current call can be made again from its bytes. */
static void poll_ready(int phase)
{
    int old = px_phase;
    px_phase = phase;
    tern_tm_poll(px_nested == 0);   /* not inside an upcall's call */
    px_phase = old;
}

int px_block(MPI_Request *r, MPI_Status *st)
{
    for (;;) {
        int done = 0;
        int rc = MPI_Test(r, &done, st);
        if (rc != MPI_SUCCESS || done) return rc;
        tern_tm_poll(0);
        sched_yield();
    }
}

void px_waiting(void)
{
    poll_ready(PX_REDO);
    sched_yield();
}

/* ---- sends ------------------------------------------------------------------------------- */
typedef int (*isend_fn)(const void *, int, MPI_Datatype, int, int, MPI_Comm, MPI_Request *);

static int send_wait(MPI_Request *r)
{
    for (;;) {
        int done = 0;
        int rc = MPI_Test(r, &done, MPI_STATUS_IGNORE);
        if (rc != MPI_SUCCESS || done) return rc;
        poll_ready(PX_SENT);
        sched_yield();
    }
}

static int send_as(isend_fn f, const void *buf, int count, MPI_Datatype dt, int dest, int tag, MPI_Comm comm)
{
    if (px_skip_send) {   /* sent before the checkpoint this run restarted from */
        px_skip_send = 0;
        return MPI_SUCCESS;
    }
    MPI_Request r = MPI_REQUEST_NULL;
    int rc = f(buf, count, dt, dest, tag, comm, &r);
    return rc == MPI_SUCCESS ? send_wait(&r) : rc;
}

int px_b_MPI_Send(const void *buf, int count, MPI_Datatype dt, int dest, int tag, MPI_Comm comm)
{
    return send_as(MPI_Isend, buf, count, dt, dest, tag, comm);
}

int px_b_MPI_Ssend(const void *buf, int count, MPI_Datatype dt, int dest, int tag, MPI_Comm comm)
{
    return send_as(MPI_Issend, buf, count, dt, dest, tag, comm);
}

int px_b_MPI_Rsend(const void *buf, int count, MPI_Datatype dt, int dest, int tag, MPI_Comm comm)
{
    return send_as(MPI_Irsend, buf, count, dt, dest, tag, comm);
}

/* ---- receives ------------------------------------------------------------------------------ */
/* Cancels r; 1 if it was cancelled, 0 if it had completed (st says how). */
static int cancelled(MPI_Request *r, MPI_Status *st)
{
    MPI_Cancel(r);
    MPI_Wait(r, st);
    int c = 0;
    MPI_Test_cancelled(st, &c);
    return c;
}

/* While a cut is pending and the communicators aligned: no request, READY. */
static void parked(int phase)
{
    while (tern_tm_park_receives()) {
        poll_ready(phase);
        sched_yield();
    }
}

/* Waits for receive r (posted by post(ctx, &r)), serving the protocol; the
 * sends of the call (if any) are done when phase is PX_SENT. */
static int recv_wait(int (*post)(void *ctx, MPI_Request *r), void *ctx, MPI_Request *r, MPI_Status *st,
                     int phase)
{
    for (;;) {
        int done = 0;
        int rc = MPI_Test(r, &done, st);
        if (rc != MPI_SUCCESS || done) return rc;
        if (tern_tm_park_receives()) {
            if (!cancelled(r, st)) return st->MPI_ERROR == MPI_ERR_TRUNCATE ? MPI_ERR_TRUNCATE : MPI_SUCCESS;
            parked(phase);
            if ((rc = post(ctx, r)) != MPI_SUCCESS) return rc;
            continue;
        }
        tern_tm_poll(0);
        sched_yield();
    }
}

typedef struct {
    void *buf;
    int count;
    MPI_Datatype dt;
    int source, tag;
    MPI_Comm comm;
} recv_args;

static int post_recv(void *ctx, MPI_Request *r)
{
    recv_args *a = ctx;
    return MPI_Irecv(a->buf, a->count, a->dt, a->source, a->tag, a->comm, r);
}

int px_b_MPI_Recv(void *buf, int count, MPI_Datatype dt, int source, int tag, MPI_Comm comm, MPI_Status *st)
{
    recv_args a = {buf, count, dt, source, tag, comm};
    MPI_Request r = MPI_REQUEST_NULL;
    MPI_Status tmp;
    if (st == MPI_STATUS_IGNORE) st = &tmp;
    int rc = post_recv(&a, &r);
    return rc == MPI_SUCCESS ? recv_wait(post_recv, &a, &r, st, PX_REDO) : rc;
}

/* The send is posted after the receive (no deadlock between two ranks that
 * both call Sendrecv) and waited for first: a cut then finds it complete or
 * completes it in the drain (PX_SENT). */
static int sendrecv(const void *sbuf, int scount, MPI_Datatype stype, int dest, int stag, recv_args *a,
                    MPI_Status *st)
{
    MPI_Request rr = MPI_REQUEST_NULL, sr = MPI_REQUEST_NULL;
    MPI_Status tmp;
    if (st == MPI_STATUS_IGNORE) st = &tmp;
    int rc = post_recv(a, &rr);
    if (rc != MPI_SUCCESS) return rc;
    if (px_skip_send) {
        px_skip_send = 0;
    } else {
        rc = MPI_Isend(sbuf, scount, stype, dest, stag, a->comm, &sr);
        if (rc != MPI_SUCCESS) {
            cancelled(&rr, st);
            return rc;
        }
        for (;;) {
            int done = 0;
            rc = MPI_Test(&sr, &done, MPI_STATUS_IGNORE);
            if (rc != MPI_SUCCESS) return rc;
            if (done) break;
            /* the receive may have to wait for the peer's next call: not READY
             * until it is cancelled */
            if (tern_tm_park_receives() && rr != MPI_REQUEST_NULL) {
                if (!cancelled(&rr, st)) {
                    rc = send_wait(&sr);
                    return rc != MPI_SUCCESS ? rc
                                             : st->MPI_ERROR == MPI_ERR_TRUNCATE ? MPI_ERR_TRUNCATE : MPI_SUCCESS;
                }
                rr = MPI_REQUEST_NULL;
            }
            if (rr == MPI_REQUEST_NULL) poll_ready(PX_SENT);
            else tern_tm_poll(0);
            sched_yield();
        }
        if (rr == MPI_REQUEST_NULL) {
            parked(PX_SENT);
            if ((rc = post_recv(a, &rr)) != MPI_SUCCESS) return rc;
        }
    }
    return recv_wait(post_recv, a, &rr, st, PX_SENT);
}

int px_b_MPI_Sendrecv(const void *sendbuf, int sendcount, MPI_Datatype sendtype, int dest, int sendtag,
                      void *recvbuf, int recvcount, MPI_Datatype recvtype, int source, int recvtag,
                      MPI_Comm comm, MPI_Status *st)
{
    recv_args a = {recvbuf, recvcount, recvtype, source, recvtag, comm};
    return sendrecv(sendbuf, sendcount, sendtype, dest, sendtag, &a, st);
}

int px_b_MPI_Sendrecv_replace(void *buf, int count, MPI_Datatype dt, int dest, int sendtag, int source,
                              int recvtag, MPI_Comm comm, MPI_Status *st)
{
    int size = 0, pos = 0;
    int rc = MPI_Pack_size(count, dt, comm, &size);
    if (rc != MPI_SUCCESS) return rc;
    void *tmp = malloc(size > 0 ? (size_t)size : 1);
    if (!tmp) return MPI_ERR_NO_MEM;
    rc = MPI_Pack(buf, count, dt, tmp, size, &pos, comm);
    recv_args a = {buf, count, dt, source, recvtag, comm};
    if (rc == MPI_SUCCESS) rc = sendrecv(tmp, pos, MPI_PACKED, dest, sendtag, &a, st);
    free(tmp);
    return rc;
}

/* ---- probes ---------------------------------------------------------------------------------- */
int px_b_MPI_Probe(int source, int tag, MPI_Comm comm, MPI_Status *st)
{
    for (;;) {
        int flag = 0;
        int rc = MPI_Iprobe(source, tag, comm, &flag, st);
        if (rc != MPI_SUCCESS || flag) return rc;
        poll_ready(PX_REDO);
        sched_yield();
    }
}

int px_b_MPI_Mprobe(int source, int tag, MPI_Comm comm, MPI_Message *msg, MPI_Status *st)
{
    for (;;) {
        int flag = 0;
        int rc = MPI_Improbe(source, tag, comm, &flag, msg, st);
        if (rc != MPI_SUCCESS || flag) return rc;
        poll_ready(PX_REDO);
        sched_yield();
    }
}
