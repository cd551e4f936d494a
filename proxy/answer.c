/* answer.c: the answer's records and the buffers written back
 * (px_dispatch.h, shim/tern_wire.h).
 *
 * Outputs go into the answer while they are small; a buffer too large for it
 * (or for a copy through the channel to pay) is written into the
 * application directly, before the answer releases it. A receive writes
 * back what arrived (the status says how much), and a non-contiguous
 * buffer only its datatype's blocks.
 */
#define _GNU_SOURCE
#include "px_answer.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

/* a copy through the answer pays below this; above, one process_vm_writev */
#define REC_MAX (64u << 10)
#define REC_BLOCKS 256

void *px_rec(px_ctx *x, uint32_t kind, uint64_t addr, size_t len)
{
    size_t need = sizeof(tw_rec) + ((len + 7) & ~(size_t)7);
    if (x->outcur + need > x->outcap) {
        if (kind == TW_R_WRITE) return NULL;
        px_fatal("the answer of one MPI call does not fit the channel (%zu bytes)", x->outcur + need);
    }
    tw_rec *r = (tw_rec *)(x->out + x->outcur);
    r->kind = kind;
    r->len = (uint32_t)len;
    r->addr = addr;
    x->outcur += need;
    return r + 1;
}

static void out_bytes(px_ctx *x, uint64_t a, const void *p, size_t n)
{
    void *d = n <= REC_MAX ? px_rec(x, TW_R_WRITE, a, n) : NULL;
    if (d) {
        memcpy(d, p, n);
        return;
    }
    if (px_write(a, p, n)) px_fatal("cannot write %zu bytes into the application at %#llx", n, (unsigned long long)a);
}

void px_out(px_ctx *x, uint64_t a, const void *p, size_t n)
{
    if (a < 4096 || !n || !p) return;   /* NULL, MPI_UNWEIGHTED, ... */
    out_bytes(x, a, p, n);
}

/* Open MPI writes a status's MPI_ERROR only in the calls that complete
 * several requests: a status the call left it in keeps the application's. */
#define ERROR_UNSET 0x7e5e7e5e

void px_status_prep(MPI_Status *st)
{
    memset(st, 0, sizeof *st);
    st->MPI_ERROR = ERROR_UNSET;
}

void px_out_status(px_ctx *x, uint64_t a, const MPI_Status *st)
{
    if (!a) return;
    if (st->MPI_ERROR != ERROR_UNSET) {
        px_out(x, a, st, sizeof *st);
        return;
    }
    size_t e = offsetof(MPI_Status, MPI_ERROR), after = e + sizeof st->MPI_ERROR;
    px_out(x, a, st, e);
    px_out(x, a + after, (const char *)st + after, sizeof *st - after);
}

void px_out_statuses(px_ctx *x, uint64_t a, const MPI_Status *st, int n)
{
    for (int i = 0; a && i < n; i++) px_out_status(x, a + (uint64_t)i * sizeof *st, &st[i]);
}

void px_out_str(px_ctx *x, uint64_t a, const char *s)
{
    if (a && s) px_out(x, a, s, strlen(s) + 1);
}

void px_out_h(px_ctx *x, uint64_t a, uint64_t id)
{
    if (!a) return;
    uint64_t *d = px_rec(x, TW_R_HANDLE, a, sizeof id);
    *d = id;
}

void px_out_harr(px_ctx *x, uint64_t a, void **hs, int n, int kind)
{
    if (!a || n <= 0 || !hs) return;
    size_t at = x->outcur + sizeof(tw_rec);
    px_rec(x, TW_R_HANDLES, a, (size_t)n * 8);
    /* px_reg may add records (a new datatype's layout) after this one */
    for (int i = 0; i < n; i++) {
        uint64_t id = px_reg(x, hs[i], kind);
        ((uint64_t *)(x->out + at))[i] = id;
    }
}

void px_out_hio(px_ctx *x, uint64_t a, uint64_t old, void *h, int kind)
{
    if (!a) return;
    uint64_t null = px_null_id(kind);
    if (h == px_predef[null]) {
        if (old >= TP_N) px_release(old);
        px_out_h(x, a, null);
        return;
    }
    if (px_h(NULL, old) == h) return;   /* unchanged (MPI_Type_commit) */
    px_out_h(x, a, px_reg(x, h, kind));
}

void px_ret_h(px_ctx *x, uint64_t id)
{
    *(uint64_t *)px_rec(x, TW_R_RETH, 0, sizeof id) = id;
}

/* ---- writing buffers back ------------------------------------------------------------- */
static int64_t arrived(const MPI_Status *st)
{
    MPI_Count n = 0;
    if (!st || PMPI_Get_elements_x(st, MPI_BYTE, &n) != MPI_SUCCESS || n < 0) return 0;
    return (int64_t)n;
}

static void emit_blocks(px_ctx *x, const px_wb *b, const px_layout *l)
{
    const MPI_Aint *off, *len;
    int nb;
    if (px_blocks(b->dt, &off, &len, &nb)) px_fatal("cannot find the blocks of a datatype");
    int64_t n = b->count * nb;
    size_t total = (size_t)(b->count * l->size);
    if (n <= REC_BLOCKS && total <= REC_MAX && x->outcur + total + (size_t)n * 24 <= x->outcap) {
        for (int64_t k = 0; k < b->count; k++)
            for (int j = 0; j < nb; j++) {
                MPI_Aint o = l->true_lb + k * l->extent + off[j];
                out_bytes(x, b->app + (uint64_t)o, (const void *)(b->p + (uintptr_t)o), (size_t)len[j]);
            }
        return;
    }
    struct iovec *lo = malloc((size_t)n * sizeof *lo), *re = malloc((size_t)n * sizeof *re);
    if (!lo || !re) px_fatal("out of memory writing a buffer back");
    int64_t i = 0;
    for (int64_t k = 0; k < b->count; k++)
        for (int j = 0; j < nb; j++, i++) {
            MPI_Aint o = l->true_lb + k * l->extent + off[j];
            lo[i].iov_base = (void *)(b->p + (uintptr_t)o);
            re[i].iov_base = (void *)(uintptr_t)(b->app + (uint64_t)o);
            lo[i].iov_len = re[i].iov_len = (size_t)len[j];
        }
    if (px_writev(lo, (int)n, re, (int)n)) px_fatal("cannot write a buffer back into the application");
    free(lo);
    free(re);
}

void px_wb_emit(px_ctx *x, const px_wb *b, const MPI_Status *st)
{
    px_layout l;
    if (b->count <= 0 || px_layout_of(b->dt, &l)) return;
    if (!l.contiguous) {
        /* a receive into a non-contiguous buffer was prefilled with the
         * application's bytes: writing every block back is exact */
        emit_blocks(x, b, &l);
        return;
    }
    int64_t n = b->count * l.size;
    if (b->limit) {
        int64_t got = arrived(st);
        if (got < n) n = got;
    }
    if (n > 0) out_bytes(x, b->app + (uint64_t)l.true_lb, (const void *)(b->p + (uintptr_t)l.true_lb), (size_t)n);
}

void px_wb_free(px_wb *b)
{
    while (b) {
        px_wb *n = b->next;
        free(b);
        b = n;
    }
}

/* Large buffers are kept for the next call: a fresh 16 MiB allocation is
 * 4096 page faults (and the kernel zeroing them) each time. */
#define POOL_MIN (256u << 10)
#define POOL_N 4
static px_alloc *pool[POOL_N];

px_alloc *px_pool_take(size_t n)
{
    if (n < POOL_MIN) return NULL;
    for (int i = 0; i < POOL_N; i++)
        if (pool[i] && pool[i]->cap >= n && pool[i]->cap / 2 <= n) {
            px_alloc *a = pool[i];
            pool[i] = NULL;
            return a;
        }
    return NULL;
}

void px_arena_free(px_alloc *a)
{
    while (a) {
        px_alloc *n = a->next;
        int kept = 0;
        for (int i = 0; a->cap >= POOL_MIN && i < POOL_N && !kept; i++)
            if (!pool[i]) pool[i] = a, kept = 1;
        if (!kept) free(a);
        a = n;
    }
}

void px_refetch_free(px_refetch *r)
{
    while (r) {
        px_refetch *n = r->next;
        free(r);
        r = n;
    }
}

int px_end(px_ctx *x, int rc)
{
    if (rc == MPI_SUCCESS || rc == MPI_ERR_TRUNCATE)
        for (px_wb *b = x->wb; b; b = b->next) px_wb_emit(x, b, x->status);
    px_wb_free(x->wb);
    px_refetch_free(x->refetch);
    px_arena_free(x->arena);
    x->wb = NULL;
    x->refetch = NULL;
    x->arena = NULL;
    return rc;
}
