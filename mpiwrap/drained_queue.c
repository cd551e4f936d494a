/* drained_queue.c: the drained-message queue of each communicator: messages
 * the protocol received for the application during DRAIN, delivered first. */
#include "wrap.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

tern_msg *tq_find(tern_comm *c, int src, int tag, tern_msg **prev)
{
    tern_msg *p = NULL;
    for (tern_msg *m = c->qhead; m; p = m, m = m->next) {
        if ((src == MPI_ANY_SOURCE || src == m->src) && (tag == MPI_ANY_TAG || tag == m->tag)) {
            if (prev) *prev = p;
            return m;
        }
    }
    return NULL;
}

void tq_unlink(tern_comm *c, tern_msg *m, tern_msg *prev)
{
    if (prev) prev->next = m->next;
    else c->qhead = m->next;
    if (c->qtail == m) c->qtail = prev;
    m->next = NULL;
    c->nq--;
    tq_total--;
}

void tq_append(tern_comm *c, tern_msg *m)
{
    m->next = NULL;
    if (c->qtail) c->qtail->next = m;
    else c->qhead = m;
    c->qtail = m;
    c->nq++;
    tq_total++;
}

void tq_status(const tern_msg *m, MPI_Status *st)
{
    st->MPI_SOURCE = m->src;
    st->MPI_TAG = m->tag;
    st->MPI_ERROR = MPI_SUCCESS;
    PMPI_Status_set_cancelled(st, 0);
    PMPI_Status_set_elements_x(st, MPI_BYTE, (MPI_Count)m->len);
}

int tq_deliver(tern_msg *m, void *buf, int count, MPI_Datatype dt, tern_comm *c,
               MPI_Status *st)
{
    MPI_Status tmp;
    if (!st) st = &tmp;
    tq_status(m, st);
    int tsize = 0;
    PMPI_Type_size(dt, &tsize);
    size_t cap = (size_t)tsize * (size_t)(count > 0 ? count : 0);
    int rc = MPI_SUCCESS;
    size_t n = m->len;
    if (n > cap) {
        n = cap;
        rc = MPI_ERR_TRUNCATE;
        st->MPI_ERROR = rc;
    }
    if (n > 0 && tsize > 0) {
        /* MPI_Unpack takes int sizes: a message over INT_MAX bytes is
         * unpacked a run of whole elements at a time (the drained bytes are
         * the sender's packed representation, element after element) */
        MPI_Aint lb, ext;
        PMPI_Type_get_extent(dt, &lb, &ext);
        size_t elems = n / (size_t)tsize, per = (size_t)INT_MAX / (size_t)tsize, done = 0;
        if (per == 0) per = 1;
        while (done < elems) {
            size_t k = elems - done < per ? elems - done : per;
            int pos = 0;
            PMPI_Unpack(m->data + done * (size_t)tsize, (int)(k * (size_t)tsize), &pos,
                        (char *)buf + (MPI_Aint)done * ext, (int)k, dt, c->real);
            done += k;
        }
    }
    free(m);
    return rc;
}

/* Find, unlink and deliver a drained message matching (src, tag). 1 if one
 * was delivered (rc in *rc). */
int tq_take(tern_comm *c, int src, int tag, void *buf, int count, MPI_Datatype dt,
                   MPI_Status *st, int *rc)
{
    tern_msg *prev = NULL, *m = tq_find(c, src, tag, &prev);
    if (!m) return 0;
    tq_unlink(c, m, prev);
    *rc = tq_deliver(m, buf, count, dt, c, st);
    return 1;
}
