/* buffers.c: a call's arguments, from the words, the inline bytes and the
 * application's memory (px_dispatch.h).
 *
 * An input buffer of a blocking call is used where it is, in the channel,
 * when the shim sent it inline; otherwise it is read into the call's arena.
 * A request's buffers are the request's (they outlive the channel's
 * contents), and so are those of a call with a user op (its upcalls use the
 * channel). Output buffers are the proxy's until px_end() or the request's
 * completion writes them back (answer.c).
 */
#include "px_answer.h"

#include <stdlib.h>
#include <string.h>

#define SPARSE_MIN (64ll << 20)   /* a span larger than this and 16x its data: refused */

void px_ctx_init(px_ctx *x, unsigned char *base, size_t len, unsigned char *out, size_t outcap)
{
    memset(x, 0, sizeof *x);
    const tw_call *h = (const tw_call *)base;
    x->base = base;
    x->inlen = len;
    x->w = (const uint64_t *)(base + sizeof *h);
    x->off = (const uint32_t *)(x->w + h->nwords);
    x->len = x->off + h->nwords;
    x->out = out;
    x->outcap = outcap;
}

/* ---- inline bytes ----------------------------------------------------------------- */
const void *px_inl(const px_ctx *x, unsigned k, size_t *n)
{
    if (!x->off[k]) return NULL;
    *n = x->len[k];
    return x->base + x->off[k];
}

const char *px_str(const px_ctx *x, unsigned k)
{
    size_t n;
    const char *s = px_inl(x, k, &n);
    return s && n && s[n - 1] == 0 ? s : NULL;
}

uint64_t px_inl_id(const px_ctx *x, unsigned k)
{
    size_t n;
    const uint64_t *p = px_inl(x, k, &n);
    return p && n == 8 ? *p : TW_ID_NULLPTR;
}

const void *px_inl_ptr(const px_ctx *x, unsigned k, size_t want)
{
    size_t n;
    const void *p = px_inl(x, k, &n);
    return p && n >= want ? p : NULL;
}

int px_inl_copy(const px_ctx *x, unsigned k, void *dst, size_t want)
{
    const void *p = px_inl_ptr(x, k, want);
    if (p) memcpy(dst, p, want);
    return p != NULL;
}

void *px_alloc_bytes(px_ctx *x, size_t n)
{
    px_alloc *a = px_pool_take(n);
    if (!a) {
        if (!(a = malloc(sizeof *a + (n ? n : 1)))) px_fatal("out of memory (%zu bytes for an MPI buffer)", n);
        a->cap = n ? n : 1;
    }
    a->next = x->arena;
    x->arena = a;
    return a->data;
}

/* ---- arrays and strings --------------------------------------------------------------- */
static void *fetch(px_ctx *x, uint64_t a, size_t n)
{
    void *p = px_alloc_bytes(x, n);
    if (px_read(a, p, n) && !x->fail) x->fail = MPI_ERR_ARG;
    return p;
}

void *px_arr(px_ctx *x, unsigned k, uint64_t a, size_t n)
{
    if (!n || a < 4096) return (void *)(uintptr_t)a;   /* NULL, MPI_UNWEIGHTED, ... */
    size_t len;
    const void *inl = px_inl(x, k, &len);
    if (inl && len == n && !x->nb) return (void *)inl;
    if (inl && len == n) return memcpy(px_alloc_bytes(x, n), inl, n);
    return fetch(x, a, n);
}

void *px_ioarr(px_ctx *x, unsigned k, uint64_t a, size_t n)
{
    if (!n || a < 4096) return (void *)(uintptr_t)a;
    size_t len;
    const void *inl = px_inl(x, k, &len);
    if (inl && len == n) return memcpy(px_alloc_bytes(x, n), inl, n);
    return fetch(x, a, n);
}

void *px_oarr(px_ctx *x, unsigned k, uint64_t a, size_t n)
{
    (void)k;
    if (a < 4096) return (void *)(uintptr_t)a;
    return memset(px_alloc_bytes(x, n), 0, n);
}

/* Handles behind an array of application handles: inline ids, or read from
 * the application -- the array, then each handle's word (tern_wire.h). */
void *px_harr(px_ctx *x, unsigned k, uint64_t a, int n)
{
    if (n <= 0 || a < 4096) return (void *)(uintptr_t)a;
    void **out = px_alloc_bytes(x, (size_t)n * sizeof *out);
    size_t len;
    const uint64_t *ids = px_inl(x, k, &len);
    if (!ids || len != (size_t)n * 8) {
        uint64_t *ptrs = fetch(x, a, (size_t)n * 8), *words = px_alloc_bytes(x, (size_t)n * 8);
        for (int i = 0; i < n && !x->fail; i++) {
            if (!ptrs[i] || px_read(ptrs[i], &words[i], 8)) words[i] = TW_TAG(TW_ID_NULLPTR);
            words[i] = (words[i] >> 48) == TW_MAGIC ? words[i] & UINT64_C(0xffffffffffff) : TW_ID_BAD;
        }
        ids = words;
    }
    for (int i = 0; i < n; i++) out[i] = px_h(x, ids[i]);
    return out;
}

char *px_ostr(px_ctx *x, uint64_t a, size_t n)
{
    if (!a) return NULL;
    return memset(px_alloc_bytes(x, n + 1), 0, n + 1);
}

/* ---- buffers ---------------------------------------------------------------------------- */
static void add_wb(px_ctx *x, uint64_t app, uintptr_t p, int64_t count, MPI_Datatype dt, int limit)
{
    px_wb *b = malloc(sizeof *b);
    if (!b) px_fatal("out of memory");
    *b = (px_wb){x->wb, app, p, count, dt, limit};
    x->wb = b;
}

static void add_refetch(px_ctx *x, uint64_t app, void *p, size_t n)
{
    px_refetch *r = malloc(sizeof *r);
    if (!r) px_fatal("out of memory");
    *r = (px_refetch){x->refetch, app, p, n};
    x->refetch = r;
}

static void refuse_sparse(int64_t span, int64_t data)
{
    px_fatal("a buffer whose datatype spans %lld bytes for %lld bytes of data (MPI_BOTTOM with "
             "absolute addresses far apart?) is not supported in transparent mode",
             (long long)span, (long long)data);
}

/* The bytes [app+lo, app+hi) of the application, for direction dir; the
 * proxy's address standing for app. */
static uintptr_t span_of(px_ctx *x, unsigned k, int dir, uint64_t app, int64_t lo, int64_t hi, int64_t data)
{
    int64_t span = hi - lo;
    if (span > SPARSE_MIN && span > 16 * data) refuse_sparse(span, data);
    size_t len;
    const unsigned char *inl = px_inl(x, k, &len);
    if (inl && len != (size_t)span) inl = NULL;
    if (dir == PB_IN && inl && !x->nb && !x->user_op) return (uintptr_t)inl - (uintptr_t)lo;
    unsigned char *tmp = px_alloc_bytes(x, (size_t)span);
    if (dir == PB_IN && x->nb == 2) {
        add_refetch(x, app + (uint64_t)lo, tmp, (size_t)span);   /* read at each MPI_Start */
    } else if (dir != PB_OUT) {
        if (inl) memcpy(tmp, inl, (size_t)span);
        else if (px_read(app + (uint64_t)lo, tmp, (size_t)span) && !x->fail) x->fail = MPI_ERR_BUFFER;
    }
    return (uintptr_t)tmp - (uintptr_t)lo;
}

static int direction(px_ctx *x, int flags)
{
    int dir = flags & PB_IO;
    return dir == PB_OUT && x->inplace ? PB_IO : dir;
}

void *px_buf(px_ctx *x, unsigned k, int flags, uint64_t a, int64_t count, MPI_Datatype dt)
{
    if (px_inplace(a)) {
        x->inplace = 1;
        return MPI_IN_PLACE;
    }
    px_layout l;
    if (count <= 0 || x->fail) return (void *)(uintptr_t)a;
    if (px_layout_of(dt, &l)) {
        x->fail = MPI_ERR_TYPE;
        return NULL;
    }
    int64_t lo = l.true_lb, hi = l.true_lb + (count - 1) * l.extent + l.true_extent;
    if (hi <= lo) return (void *)(uintptr_t)a;
    int dir = direction(x, flags);
    /* a receive into gaps is prefilled, so that writing every block back is exact */
    if (dir == PB_OUT && (flags & PB_ST) && !l.contiguous) dir = PB_IO;
    uintptr_t p = span_of(x, k, dir, a, lo, hi, count * l.size);
    if (dir != PB_IN) add_wb(x, a, p, count, dt, (flags & PB_ST) != 0);
    if (dir == PB_IO && x->nb == 2) add_refetch(x, a + (uint64_t)lo, (void *)(p + (uintptr_t)lo), (size_t)(hi - lo));
    return (void *)p;
}

/* blocks i of counts[i] elements of types[i] at a + displacement(i) bytes */
typedef struct {
    const int *counts;
    const MPI_Aint *bdispls;   /* w: bytes (MPI_Neighbor_alltoallw) */
    const int *ibdispls;       /* w: bytes (MPI_Alltoallw) */
    const int *displs;         /* v: extents of dt */
    const MPI_Datatype *types;
    MPI_Datatype dt;
} blocks;

static MPI_Datatype type_i(const blocks *b, int i)
{
    return b->types ? b->types[i] : b->dt;
}

static int64_t disp_i(const blocks *b, int i, const px_layout *l)
{
    if (b->bdispls) return (int64_t)b->bdispls[i];
    if (b->ibdispls) return (int64_t)b->ibdispls[i];
    return (int64_t)b->displs[i] * l->extent;
}

static void *blocked(px_ctx *x, unsigned k, int flags, uint64_t a, const blocks *b, int n)
{
    if (px_inplace(a)) {
        x->inplace = 1;
        return MPI_IN_PLACE;
    }
    if (n <= 0 || !b->counts || x->fail) return (void *)(uintptr_t)a;
    int64_t lo = INT64_MAX, hi = INT64_MIN, data = 0;
    for (int i = 0; i < n; i++) {
        px_layout l;
        if (b->counts[i] <= 0) continue;
        if (px_layout_of(type_i(b, i), &l)) {
            x->fail = MPI_ERR_TYPE;
            return NULL;
        }
        int64_t s = disp_i(b, i, &l) + l.true_lb, e = s + (b->counts[i] - 1) * l.extent + l.true_extent;
        lo = s < lo ? s : lo;
        hi = e > hi ? e : hi;
        data += b->counts[i] * l.size;
    }
    if (hi <= lo) return (void *)(uintptr_t)a;
    int dir = direction(x, flags);
    uintptr_t p = span_of(x, k, dir, a, lo, hi, data);
    if (dir != PB_IN)
        for (int i = 0; i < n; i++) {
            px_layout l;
            if (b->counts[i] <= 0 || px_layout_of(type_i(b, i), &l)) continue;
            int64_t d = disp_i(b, i, &l);
            add_wb(x, a + (uint64_t)d, p + (uintptr_t)d, b->counts[i], type_i(b, i), 0);
        }
    return (void *)p;
}

void *px_vbuf(px_ctx *x, unsigned k, int flags, uint64_t a, const int *counts, const int *displs,
              MPI_Datatype dt, int n)
{
    blocks b = {.counts = counts, .displs = displs, .dt = dt};
    if (n > 0 && !displs) return (void *)(uintptr_t)a;
    return blocked(x, k, flags, a, &b, n);
}

void *px_wbuf(px_ctx *x, unsigned k, int flags, uint64_t a, const int *counts, const MPI_Aint *displs,
              const MPI_Datatype *types, int n)
{
    blocks b = {.counts = counts, .bdispls = displs, .types = types};
    if (n > 0 && (!displs || !types)) return (void *)(uintptr_t)a;
    return blocked(x, k, flags, a, &b, n);
}

void *px_wbuf_i(px_ctx *x, unsigned k, int flags, uint64_t a, const int *counts, const int *displs,
                const MPI_Datatype *types, int n)
{
    blocks b = {.counts = counts, .ibdispls = displs, .types = types};
    if (n > 0 && (!displs || !types)) return (void *)(uintptr_t)a;
    return blocked(x, k, flags, a, &b, n);
}

void px_set_status(px_ctx *x, MPI_Status *st)
{
    x->status = st;
}
