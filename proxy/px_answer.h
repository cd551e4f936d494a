/* px_answer.h: what a call leaves to do after MPI returns -- the buffers to
 * write back, its allocations, a persistent request's inputs -- shared by
 * buffers.c (which makes them), answer.c (which writes them back) and
 * requests.c (which keeps them until a request completes).
 */
#ifndef TERN_PROXY_PX_ANSWER_H
#define TERN_PROXY_PX_ANSWER_H

#include "px_dispatch.h"

#pragma GCC visibility push(hidden)

/* A buffer to write back: the application's address of element 0 and the
 * proxy's address that stands for it (the same offsets apply to both). */
struct px_wb {
    px_wb *next;
    uint64_t app;
    uintptr_t p;
    int64_t count;
    MPI_Datatype dt;
    int limit;        /* a receive: only the bytes the status counts */
};

struct px_alloc {
    px_alloc *next;
    size_t cap;       /* bytes of data */
    _Alignas(16) unsigned char data[];
};

/* An input of a persistent request, read again at every MPI_Start. */
struct px_refetch {
    px_refetch *next;
    uint64_t app;
    void *p;
    size_t n;
};

void px_wb_emit(px_ctx *x, const px_wb *b, const MPI_Status *st);
void px_wb_free(px_wb *b);
void px_arena_free(px_alloc *a);
/* A kept large allocation of at least n bytes (answer.c), or NULL. */
px_alloc *px_pool_take(size_t n);
void px_refetch_free(px_refetch *r);

#pragma GCC visibility pop
#endif
