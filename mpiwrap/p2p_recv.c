/* p2p_recv.c: the hand-written receives and probes (Recv, Irecv, Sendrecv,
 * Probe, Iprobe, the matched probes and receives): they look at the drained
 * messages first. */
#include "wrap.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int MPI_Recv(void *buf, int count, MPI_Datatype dt, int source, int tag, MPI_Comm comm,
             MPI_Status *status)
{
    if (TERN_UNLIKELY(tern_internal)) return PMPI_Recv(buf, count, dt, source, tag, comm, status);
    tern_comm *c = tc_get(comm);
    if (!c) return PMPI_Recv(buf, count, dt, source, tag, comm, status);
    int rc;
    if (TERN_UNLIKELY(c->nq) && tq_take(c, source, tag, buf, count, dt, status, &rc)) return rc;
    MPI_Status tmp;
    MPI_Status *st = status ? status : &tmp;
    rc = PMPI_Recv(buf, count, dt, source, tag, c->real, st);
    tc_count_recv(c, st);
    return rc;
}

int MPI_Irecv(void *buf, int count, MPI_Datatype dt, int source, int tag, MPI_Comm comm,
              MPI_Request *request)
{
    if (TERN_UNLIKELY(tern_internal)) return PMPI_Irecv(buf, count, dt, source, tag, comm, request);
    tern_comm *c = tc_get(comm);
    if (!c) return PMPI_Irecv(buf, count, dt, source, tag, comm, request);
    if (TERN_UNLIKELY(c->nq)) {
        tern_msg *prev = NULL, *m = tq_find(c, source, tag, &prev);
        if (m) {
            tern_req *q = tr_new(MPI_REQUEST_NULL, TR_RECV, c, buf, count, dt, source, tag);
            tq_unlink(c, m, prev);
            tq_deliver(m, buf, count, dt, c, &q->st);
            q->state = TRS_DONE;
            *request = tr_handle(q);
            return MPI_SUCCESS;
        }
    }
    MPI_Request r;
    int rc = PMPI_Irecv(buf, count, dt, source, tag, c->real, &r);
    if (rc != MPI_SUCCESS) {
        *request = r;
        return rc;
    }
    *request = tr_handle(tr_new(r, TR_RECV, c, buf, count, dt, source, tag));
    return rc;
}

int MPI_Sendrecv(const void *sendbuf, int sendcount, MPI_Datatype sendtype, int dest,
                 int sendtag, void *recvbuf, int recvcount, MPI_Datatype recvtype,
                 int source, int recvtag, MPI_Comm comm, MPI_Status *status)
{
    if (TERN_UNLIKELY(tern_internal))
        return PMPI_Sendrecv(sendbuf, sendcount, sendtype, dest, sendtag, recvbuf, recvcount,
                             recvtype, source, recvtag, comm, status);
    tern_comm *c = tc_get(comm);
    if (!c)
        return PMPI_Sendrecv(sendbuf, sendcount, sendtype, dest, sendtag, recvbuf, recvcount,
                             recvtype, source, recvtag, comm, status);
    tc_count_send(c, dest);
    if (TERN_UNLIKELY(c->nq) && tq_find(c, source, recvtag, NULL)) {
        MPI_Request r;
        int rc = PMPI_Isend(sendbuf, sendcount, sendtype, dest, sendtag, c->real, &r);
        int rc2;
        tq_take(c, source, recvtag, recvbuf, recvcount, recvtype, status, &rc2);
        PMPI_Wait(&r, MPI_STATUS_IGNORE);
        return rc != MPI_SUCCESS ? rc : rc2;
    }
    MPI_Status tmp;
    MPI_Status *st = status ? status : &tmp;
    int rc = PMPI_Sendrecv(sendbuf, sendcount, sendtype, dest, sendtag, recvbuf, recvcount,
                           recvtype, source, recvtag, c->real, st);
    tc_count_recv(c, st);
    return rc;
}

int MPI_Sendrecv_replace(void *buf, int count, MPI_Datatype dt, int dest, int sendtag,
                         int source, int recvtag, MPI_Comm comm, MPI_Status *status)
{
    if (TERN_UNLIKELY(tern_internal))
        return PMPI_Sendrecv_replace(buf, count, dt, dest, sendtag, source, recvtag, comm, status);
    tern_comm *c = tc_get(comm);
    if (!c) return PMPI_Sendrecv_replace(buf, count, dt, dest, sendtag, source, recvtag, comm, status);
    tc_count_send(c, dest);
    if (TERN_UNLIKELY(c->nq) && tq_find(c, source, recvtag, NULL)) {
        int psize = 0, pos = 0;
        PMPI_Pack_size(count, dt, c->real, &psize);
        void *tmpb = malloc(psize ? (size_t)psize : 1);
        PMPI_Pack(buf, count, dt, tmpb, psize, &pos, c->real);
        MPI_Request r;
        int rc = PMPI_Isend(tmpb, pos, MPI_PACKED, dest, sendtag, c->real, &r);
        int rc2;
        tq_take(c, source, recvtag, buf, count, dt, status, &rc2);
        PMPI_Wait(&r, MPI_STATUS_IGNORE);
        free(tmpb);
        return rc != MPI_SUCCESS ? rc : rc2;
    }
    MPI_Status tmp;
    MPI_Status *st = status ? status : &tmp;
    int rc = PMPI_Sendrecv_replace(buf, count, dt, dest, sendtag, source, recvtag, c->real, st);
    tc_count_recv(c, st);
    return rc;
}

int MPI_Probe(int source, int tag, MPI_Comm comm, MPI_Status *status)
{
    if (TERN_UNLIKELY(tern_internal)) return PMPI_Probe(source, tag, comm, status);
    tern_comm *c = tc_get(comm);
    if (!c) return PMPI_Probe(source, tag, comm, status);
    if (TERN_UNLIKELY(c->nq)) {
        tern_msg *m = tq_find(c, source, tag, NULL);
        if (m) {
            if (status) tq_status(m, status);
            return MPI_SUCCESS;
        }
    }
    return PMPI_Probe(source, tag, c->real, status);
}

int MPI_Iprobe(int source, int tag, MPI_Comm comm, int *flag, MPI_Status *status)
{
    if (TERN_UNLIKELY(tern_internal)) return PMPI_Iprobe(source, tag, comm, flag, status);
    tern_comm *c = tc_get(comm);
    if (!c) return PMPI_Iprobe(source, tag, comm, flag, status);
    if (TERN_UNLIKELY(c->nq)) {
        tern_msg *m = tq_find(c, source, tag, NULL);
        if (m) {
            *flag = 1;
            if (status) tq_status(m, status);
            return MPI_SUCCESS;
        }
    }
    return PMPI_Iprobe(source, tag, c->real, flag, status);
}

/* Matched probes: every message handle given to the application is virtual,
 * so that MPI_Mrecv knows the communicator (for counting) or the drained
 * message it stands for. */
static tern_mmsg *mm_tab;
static uint32_t mm_n, mm_cap;

static MPI_Message mm_new(MPI_Message real, tern_msg *drained, tern_comm *c)
{
    uint32_t i;
    for (i = 0; i < mm_n; i++)
        if (!mm_tab[i].used) break;
    if (i == mm_n) {
        if (mm_n == mm_cap) {
            mm_cap = mm_cap ? 2 * mm_cap : 16;
            mm_tab = realloc(mm_tab, mm_cap * sizeof *mm_tab);
        }
        mm_n++;
    }
    mm_tab[i] = (tern_mmsg){ real, drained, c, 1 };
    return (MPI_Message)(((uintptr_t)TERN_TAG_MSG << 48) | i);
}

static tern_mmsg *mm_get(MPI_Message h)
{
    uintptr_t v = (uintptr_t)h;
    if ((v >> 48) != TERN_TAG_MSG) return NULL;
    uint32_t i = (uint32_t)v;
    return i < mm_n && mm_tab[i].used ? &mm_tab[i] : NULL;
}

static int improbe_common(int source, int tag, tern_comm *c, int *flag, MPI_Message *message,
                          MPI_Status *status, int blocking)
{
    if (TERN_UNLIKELY(c->nq)) {
        tern_msg *prev = NULL, *m = tq_find(c, source, tag, &prev);
        if (m) {
            tq_unlink(c, m, prev);
            if (status) tq_status(m, status);
            *flag = 1;
            *message = mm_new(MPI_MESSAGE_NULL, m, c);
            return MPI_SUCCESS;
        }
    }
    MPI_Message r = MPI_MESSAGE_NULL;
    int rc = blocking ? PMPI_Mprobe(source, tag, c->real, &r, status)
                      : PMPI_Improbe(source, tag, c->real, flag, &r, status);
    if (blocking) *flag = 1;
    if (rc == MPI_SUCCESS && *flag && r != MPI_MESSAGE_NULL && r != MPI_MESSAGE_NO_PROC)
        *message = mm_new(r, NULL, c);
    else
        *message = r;
    return rc;
}

int MPI_Mprobe(int source, int tag, MPI_Comm comm, MPI_Message *message, MPI_Status *status)
{
    tern_comm *c = tern_internal ? NULL : tc_get(comm);
    if (!c) return PMPI_Mprobe(source, tag, comm, message, status);
    int flag;
    return improbe_common(source, tag, c, &flag, message, status, 1);
}

int MPI_Improbe(int source, int tag, MPI_Comm comm, int *flag, MPI_Message *message,
                MPI_Status *status)
{
    tern_comm *c = tern_internal ? NULL : tc_get(comm);
    if (!c) return PMPI_Improbe(source, tag, comm, flag, message, status);
    return improbe_common(source, tag, c, flag, message, status, 0);
}

int MPI_Mrecv(void *buf, int count, MPI_Datatype dt, MPI_Message *message, MPI_Status *status)
{
    tern_mmsg *mm = mm_get(*message);
    if (!mm) return PMPI_Mrecv(buf, count, dt, message, status);
    tern_mmsg m = *mm;
    mm->used = 0;
    *message = MPI_MESSAGE_NULL;
    if (m.drained) return tq_deliver(m.drained, buf, count, dt, m.comm, status);
    MPI_Status tmp;
    MPI_Status *st = status ? status : &tmp;
    int rc = PMPI_Mrecv(buf, count, dt, &m.real, st);
    tc_count_recv(m.comm, st);
    return rc;
}

int MPI_Imrecv(void *buf, int count, MPI_Datatype dt, MPI_Message *message, MPI_Request *request)
{
    tern_mmsg *mm = mm_get(*message);
    if (!mm) return PMPI_Imrecv(buf, count, dt, message, request);
    tern_mmsg m = *mm;
    mm->used = 0;
    *message = MPI_MESSAGE_NULL;
    tern_req *q = tr_new(MPI_REQUEST_NULL, TR_MRECV, m.comm, buf, count, dt, MPI_ANY_SOURCE, MPI_ANY_TAG);
    if (m.drained) {
        tq_deliver(m.drained, buf, count, dt, m.comm, &q->st);
        q->state = TRS_DONE;
        *request = tr_handle(q);
        return MPI_SUCCESS;
    }
    int rc = PMPI_Imrecv(buf, count, dt, &m.real, &q->real);
    *request = tr_handle(q);
    return rc;
}
