/* handles_req.c: virtual requests -- the request table, its slots and the
 * bookkeeping of completion (tr_complete, tr_release). */
#include "wrap.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

tern_req *tr_chunks[16384];
uint32_t tr_hiwater;
static uint32_t tr_free_head = UINT32_MAX;
static unsigned char *tr_reserved;      /* restart: slots kept for saved requests */
static uint32_t tr_nreserved;

static tern_req *tr_slot(uint32_t i)
{
    if (i / TR_CHUNK >= 16384) {
        fprintf(stderr, "tern: too many live requests\n");
        abort();
    }
    if (!tr_chunks[i / TR_CHUNK]) {
        tr_chunks[i / TR_CHUNK] = xcalloc(TR_CHUNK, sizeof(tern_req));
        for (uint32_t k = 0; k < TR_CHUNK; k++) tr_chunks[i / TR_CHUNK][k].idx = (i / TR_CHUNK) * TR_CHUNK + k;
    }
    return &tr_chunks[i / TR_CHUNK][i % TR_CHUNK];
}

/* Only under MPI_THREAD_MULTIPLE (checkpoints are refused then, but the job
 * must run correctly): the pool is shared by the application's threads. */
static volatile int tr_lock_word;
static inline void tr_lock(void)
{
    if (TERN_UNLIKELY(tern_thread_level == MPI_THREAD_MULTIPLE))
        while (__atomic_exchange_n(&tr_lock_word, 1, __ATOMIC_ACQUIRE)) {}
}
static inline void tr_unlock(void)
{
    if (TERN_UNLIKELY(tern_thread_level == MPI_THREAD_MULTIPLE))
        __atomic_store_n(&tr_lock_word, 0, __ATOMIC_RELEASE);
}

tern_req *tr_alloc(void)
{
    tern_req *q;
    tr_lock();
    for (;;) {
        if (tr_free_head != UINT32_MAX) {
            q = tr_slot(tr_free_head);
            tr_free_head = q->next_free;
        } else {
            q = tr_slot(tr_hiwater++);
        }
        if (TERN_UNLIKELY(tr_reserved) && q->idx < tr_nreserved && tr_reserved[q->idx]) continue;
        break;
    }
    tr_unlock();
    q->state = TRS_ACTIVE;
    q->app_freed = 0;
    q->variant = 0;
    return q;
}

void tr_reserve(uint32_t idx)
{
    if (idx >= tr_nreserved) {
        uint32_t n = idx + 64;
        tr_reserved = realloc(tr_reserved, n);
        memset(tr_reserved + tr_nreserved, 0, n - tr_nreserved);
        tr_nreserved = n;
    }
    tr_reserved[idx] = 1;
    tr_slot(idx);
}

tern_req *tr_alloc_at(uint32_t idx)
{
    tern_req *q = tr_slot(idx);
    if (idx < tr_nreserved) tr_reserved[idx] = 0;
    if (idx >= tr_hiwater) {
        /* slots between hiwater and idx go to the free list */
        for (uint32_t k = tr_hiwater; k < idx; k++) {
            tern_req *f = tr_slot(k);
            f->next_free = tr_free_head;
            tr_free_head = k;
        }
        tr_hiwater = idx + 1;
    }
    q->state = TRS_ACTIVE;
    q->app_freed = 0;
    return q;
}

void tr_free(tern_req *q)
{
    tr_lock();
    q->state = TRS_FREE;
    q->real = MPI_REQUEST_NULL;
    q->next_free = tr_free_head;
    tr_free_head = q->idx;
    tr_unlock();
}

tern_req *tr_new(MPI_Request real, int kind, tern_comm *c, const void *buf, int count,
                 MPI_Datatype dt, int peer, int tag)
{
    tern_req *q = tr_alloc();
    q->real = real;
    q->kind = (uint8_t)kind;
    q->state = (kind == TR_PSEND || kind == TR_PRECV) ? TRS_INACTIVE : TRS_ACTIVE;
    q->comm = c;
    q->buf = (void *)buf;
    q->count = count;
    q->dt = dt;
    q->peer = peer;
    q->tag = tag;
    return q;
}

MPI_Request tr_wrap(MPI_Request real, int kind, tern_comm *c, const void *buf,
                    int count, MPI_Datatype dt, int peer, int tag)
{
    if (!c || tern_internal) return real;
    if (real == MPI_REQUEST_NULL && kind != TR_NBC) return real;
    return tr_handle(tr_new(real, kind, c, buf, count, dt, peer, tag));
}

void tr_set_variant(MPI_Request h, const char *ctor)
{
    tern_req *q = tr_get(h);
    if (!q) return;
    q->variant = !strcmp(ctor, "MPI_Bsend_init") ? 1 : !strcmp(ctor, "MPI_Ssend_init") ? 2
               : !strcmp(ctor, "MPI_Rsend_init") ? 3 : 0;
}

/* A real completion of q with status st: count receives. */
void tr_complete(tern_req *q, MPI_Status *st)
{
    if ((q->kind == TR_RECV || q->kind == TR_PRECV || q->kind == TR_MRECV) && q->comm)
        tc_count_recv(q->comm, st);
}

/* After the application has seen q complete: free or deactivate it. */
void tr_release(tern_req *q, MPI_Request *h)
{
    if (q->kind == TR_PSEND || q->kind == TR_PRECV) {
        q->state = TRS_INACTIVE;
    } else {
        tr_free(q);
        *h = MPI_REQUEST_NULL;
    }
}
