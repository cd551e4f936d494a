/* handles.c: the registry of wire ids (px_dispatch.h).
 *
 * Ids below TP_N are Open MPI's predefined objects, the same on both sides.
 * Above, each id is a slot that holds an MPI handle of this process: what
 * tern's wrappers returned (virtual communicators and requests) or Open
 * MPI's own (datatypes, groups, ...). A reverse map finds the id of a handle
 * MPI returns again (MPI_Comm_group twice, a datatype from
 * MPI_Type_get_contents), so that the application sees one handle for one
 * object; each such return is a reference, dropped by the matching free.
 * Freed slots are reused, last freed first.
 */
#include "px_dispatch.h"

#include <stdlib.h>
#include <string.h>

#define CHUNK 4096u
#define NCHUNKS 4096u

static px_ent *chunks[NCHUNKS];
static uint64_t hiwater = TP_N;   /* next never-used id */
static uint64_t *freelist;
static size_t nfree, freecap;

/* ---- the reverse map: handle -> id (open addressing) ------------------------------ */
typedef struct {
    const void *h;
    uint64_t id;
} rev_ent;
static rev_ent *rev;
static size_t revcap, revn;

static size_t hash_ptr(const void *h)
{
    uint64_t v = (uint64_t)(uintptr_t)h;
    v ^= v >> 33;
    v *= 0xff51afd7ed558ccdull;
    v ^= v >> 33;
    return (size_t)v;
}

static void rev_put(const void *h, uint64_t id);

static void rev_grow(void)
{
    rev_ent *old = rev;
    size_t oldcap = revcap;
    revcap = revcap ? revcap * 2 : 1024;
    rev = calloc(revcap, sizeof *rev);
    if (!rev) px_fatal("out of memory for the handle registry");
    revn = 0;
    for (size_t i = 0; i < oldcap; i++)
        if (old[i].h) rev_put(old[i].h, old[i].id);
    free(old);
}

static void rev_put(const void *h, uint64_t id)
{
    if ((revn + 1) * 2 > revcap) rev_grow();
    size_t i = hash_ptr(h) & (revcap - 1);
    while (rev[i].h && rev[i].h != h) i = (i + 1) & (revcap - 1);
    if (!rev[i].h) revn++;
    rev[i].h = h;
    rev[i].id = id;
}

static void rev_del(const void *h)
{
    if (!revcap) return;
    size_t i = hash_ptr(h) & (revcap - 1);
    while (rev[i].h && rev[i].h != h) i = (i + 1) & (revcap - 1);
    if (!rev[i].h) return;
    rev[i].h = NULL;
    revn--;
    /* re-insert the run after it, so that no lookup stops at the hole */
    for (size_t j = (i + 1) & (revcap - 1); rev[j].h; j = (j + 1) & (revcap - 1)) {
        rev_ent e = rev[j];
        rev[j].h = NULL;
        revn--;
        rev_put(e.h, e.id);
    }
}

uint64_t px_lookup(const void *h)
{
    if (!revcap || !h) return TW_ID_BAD;
    size_t i = hash_ptr(h) & (revcap - 1);
    while (rev[i].h && rev[i].h != h) i = (i + 1) & (revcap - 1);
    return rev[i].h ? rev[i].id : TW_ID_BAD;
}

/* ---- slots -------------------------------------------------------------------------------- */
px_ent *px_ent_of(uint64_t id)
{
    if (id < TP_N || id - TP_N >= (uint64_t)CHUNK * NCHUNKS) return NULL;
    uint64_t i = id - TP_N;
    px_ent *c = chunks[i / CHUNK];
    return c && c[i % CHUNK].kind != TK_NONE ? &c[i % CHUNK] : NULL;
}

void *px_h(px_ctx *x, uint64_t id)
{
    if (id < TP_N) return px_predef[id];
    px_ent *e = px_ent_of(id);
    if (!e) return NULL;   /* Open MPI answers MPI_ERR_<kind> for a NULL handle */
    if (e->kind == TK_OP && e->ext && x) x->user_op = 1;
    return e->h;
}

/* A restart makes requests again at the ids the application holds. */
static uint64_t forced = TW_ID_BAD;

static void slot_chunk(uint64_t id)
{
    uint64_t i = id - TP_N;
    if (i >= (uint64_t)CHUNK * NCHUNKS) px_fatal("more than %u MPI handles at once", CHUNK * NCHUNKS);
    if (!chunks[i / CHUNK] && !(chunks[i / CHUNK] = calloc(CHUNK, sizeof(px_ent))))
        px_fatal("out of memory for the handle registry");
}

static uint64_t new_id(void)
{
    if (forced != TW_ID_BAD) {
        uint64_t id = forced;
        forced = TW_ID_BAD;
        slot_chunk(id);
        return id;
    }
    if (nfree) {
        uint64_t id = freelist[--nfree];
        slot_chunk(id);   /* a restart's holes may lie in chunks never used */
        return id;
    }
    uint64_t id = hiwater++;
    uint64_t i = id - TP_N;
    if (i >= (uint64_t)CHUNK * NCHUNKS) px_fatal("more than %u MPI handles at once", CHUNK * NCHUNKS);
    if (!chunks[i / CHUNK] && !(chunks[i / CHUNK] = calloc(CHUNK, sizeof(px_ent))))
        px_fatal("out of memory for the handle registry");
    return id;
}

uint64_t px_reg(px_ctx *x, void *h, int kind)
{
    uint64_t id = px_lookup(h);
    if (id != TW_ID_BAD) {
        px_ent *e = px_ent_of(id);
        if (e) e->refs++;
        return id;
    }
    id = new_id();
    px_ent *e = &chunks[(id - TP_N) / CHUNK][(id - TP_N) % CHUNK];
    memset(e, 0, sizeof *e);
    e->h = h;
    e->kind = (uint32_t)kind;
    e->refs = 1;
    rev_put(h, id);
    if (kind == TK_DTYPE && x) px_dtinfo(x, id, h);
    if (kind == TK_COMM) px_comm_tag(h, id);
    return id;
}

void px_release(uint64_t id)
{
    px_ent *e = px_ent_of(id);
    if (!e || --e->refs > 0) return;
    rev_del(e->h);
    if (e->kind == TK_DTYPE) px_layout_forget(e->h);
    if (e->kind == TK_OP) px_op_forget(e->ext);
    memset(e, 0, sizeof *e);
    if (nfree == freecap) {
        freecap = freecap ? freecap * 2 : 1024;
        freelist = realloc(freelist, freecap * sizeof *freelist);
        if (!freelist) px_fatal("out of memory for the handle registry");
    }
    freelist[nfree++] = id;
}

uint64_t px_null_id(int kind)
{
    switch (kind) {
    case TK_COMM: return TP_ompi_mpi_comm_null;
    case TK_GROUP: return TP_ompi_mpi_group_null;
    case TK_REQ: return TP_ompi_request_null;
    case TK_MSG: return TP_ompi_message_null;
    case TK_OP: return TP_ompi_mpi_op_null;
    case TK_DTYPE: return TP_ompi_mpi_datatype_null;
    case TK_ERRH: return TP_ompi_mpi_errhandler_null;
    case TK_WIN: return TP_ompi_mpi_win_null;
    case TK_FILE: return TP_ompi_mpi_file_null;
    case TK_INFO: return TP_ompi_mpi_info_null;
    }
    return TW_ID_BAD;
}

void px_handles_init(void)
{
    for (uint64_t id = 0; id < TP_N; id++) rev_put(px_predef[id], id);
}

/* ---- checkpoints (ckpt.c, restore.c) ------------------------------------------------ */
uint64_t px_ent_next(uint64_t id)
{
    for (id = id < TP_N ? TP_N : id + 1; id < hiwater; id++)
        if (px_ent_of(id)) return id;
    return TW_ID_BAD;
}

uint64_t px_ids_hiwater(void)
{
    return hiwater;
}

void px_force_id(uint64_t id)
{
    forced = id;
}

void px_reg_at(uint64_t id, void *h, int kind, uint32_t refs)
{
    slot_chunk(id);
    px_ent *e = &chunks[(id - TP_N) / CHUNK][(id - TP_N) % CHUNK];
    memset(e, 0, sizeof *e);
    e->h = h;
    e->kind = (uint32_t)kind;
    e->refs = refs;
    rev_put(h, id);
    if (kind == TK_COMM) px_comm_tag(h, id);
    if (id >= hiwater) hiwater = id + 1;
}

void px_ids_restored(uint64_t hw)
{
    if (hw > hiwater) hiwater = hw;
    nfree = 0;
    for (uint64_t id = hiwater; id-- > TP_N;) {
        if (px_ent_of(id)) continue;
        if (nfree == freecap) {
            freecap = freecap ? freecap * 2 : 1024;
            freelist = realloc(freelist, freecap * sizeof *freelist);
            if (!freelist) px_fatal("out of memory for the handle registry");
        }
        freelist[nfree++] = id;
    }
}
