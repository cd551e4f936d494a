/* layout.c: where a datatype's bytes are (px_dispatch.h).
 *
 * A buffer crosses the boundary as the span from its true lower bound;
 * gaps inside it are never written back, or the application's own data in
 * them (a halo column's neighbours, computed while the receive was pending)
 * would be overwritten. The blocks of a non-contiguous type are found once:
 * an element is unpacked from all-0xFF bytes into a zeroed span, and the
 * runs of 0xFF are its blocks -- Open MPI's own description, whatever the
 * constructor (struct, darray, resized...).
 */
#include "px_dispatch.h"

#include <stdlib.h>
#include <string.h>

#define NCACHE 512u

typedef struct {
    MPI_Datatype dt;
    px_layout l;
    MPI_Aint *off, *len;   /* blocks, when found */
    int nblocks;
} cached;

static cached cache[NCACHE];

static cached *slot(MPI_Datatype dt)
{
    uint64_t v = (uint64_t)(uintptr_t)dt;
    return &cache[((v >> 4) ^ (v >> 13)) % NCACHE];
}

static void drop(cached *c)
{
    free(c->off);
    free(c->len);
    memset(c, 0, sizeof *c);
}

int px_layout_of(MPI_Datatype dt, px_layout *l)
{
    cached *c = slot(dt);
    if (c->dt == dt && dt) {
        *l = c->l;
        return 0;
    }
    int size = 0;
    if (PMPI_Type_get_extent(dt, &l->lb, &l->extent) || PMPI_Type_get_true_extent(dt, &l->true_lb, &l->true_extent) ||
        PMPI_Type_size(dt, &size))
        return -1;
    l->size = size;
    l->contiguous = l->size == l->true_extent && l->extent == l->true_extent;
    drop(c);
    c->dt = dt;
    c->l = *l;
    return 0;
}

void px_layout_forget(MPI_Datatype dt)
{
    cached *c = slot(dt);
    if (c->dt == dt) drop(c);
}

static int find_blocks(cached *c)
{
    size_t span = (size_t)c->l.true_extent, size = (size_t)c->l.size;
    unsigned char *ones = malloc(size ? size : 1), *mask = calloc(span ? span : 1, 1);
    if (!ones || !mask) {
        free(ones);
        free(mask);
        return -1;
    }
    memset(ones, 0xff, size);
    int pos = 0;
    int rc = PMPI_Unpack(ones, (int)size, &pos, mask - c->l.true_lb, 1, c->dt, MPI_COMM_SELF);
    int n = 0, cap = 16;
    c->off = malloc(cap * sizeof *c->off);
    c->len = malloc(cap * sizeof *c->len);
    for (size_t i = 0; rc == MPI_SUCCESS && c->off && c->len && i < span;) {
        if (!mask[i]) {
            i++;
            continue;
        }
        size_t j = i;
        while (j < span && mask[j]) j++;
        if (n == cap) {
            cap *= 2;
            c->off = realloc(c->off, cap * sizeof *c->off);
            c->len = realloc(c->len, cap * sizeof *c->len);
            if (!c->off || !c->len) break;
        }
        c->off[n] = (MPI_Aint)i;
        c->len[n] = (MPI_Aint)(j - i);
        n++;
        i = j;
    }
    free(ones);
    free(mask);
    if (rc != MPI_SUCCESS || !c->off || !c->len) {
        free(c->off), free(c->len);
        c->off = c->len = NULL;
        return -1;
    }
    c->nblocks = n;
    return 0;
}

int px_blocks(MPI_Datatype dt, const MPI_Aint **off, const MPI_Aint **len, int *n)
{
    px_layout l;
    if (px_layout_of(dt, &l)) return -1;
    cached *c = slot(dt);
    if (!c->off && find_blocks(c)) return -1;
    *off = c->off;
    *len = c->len;
    *n = c->nblocks;
    return 0;
}

/* The shim copies small input buffers itself: it learns each datatype's
 * layout with the datatype. */
void px_dtinfo(px_ctx *x, uint64_t id, MPI_Datatype dt)
{
    px_layout l;
    if (px_layout_of(dt, &l)) return;
    tw_dtinfo *d = px_rec(x, TW_R_DTINFO, 0, sizeof *d);
    if (!d) return;
    d->id = id;
    d->lb = l.lb;
    d->extent = l.extent;
    d->true_lb = l.true_lb;
    d->true_extent = l.true_extent;
    d->size = l.size;
    d->contiguous = (uint64_t)l.contiguous;
}
