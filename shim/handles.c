/* handles.c: the application's handles and the wire ids behind them
 * (tern_wire.h), and the datatype layouts the proxy sent (shim.h).
 *
 * A created handle is the address of a word in a slab, at the index of its
 * id: the proxy chooses ids (and reuses them after a free), the shim only
 * gives each one its address. The slab lives as long as the process, so a
 * handle's address never changes -- the application may keep it anywhere.
 * Predefined handles are Open MPI's objects (shim_objects.c), whose words
 * hold their ids from the start: an executable built against the real
 * library may have copied them before any code of ours ran.
 */
#include "shim.h"

#include <stdlib.h>
#include <string.h>

#define CHUNK 4096u
#define NCHUNKS 4096u   /* 16M ids */

extern void *const sh_predef[TP_N];   /* shim_objects.c */

static uint64_t *slab[NCHUNKS];
static tw_dtinfo *dtinfo[NCHUNKS];

static void *xcalloc(size_t n, size_t s)
{
    void *p = calloc(n, s);
    if (!p) {
        sh_say("out of memory for MPI handles");
        abort();
    }
    return p;
}

void *sh_handle(uint64_t id)
{
    if (id < TP_N) return sh_predef[id];
    uint64_t i = id - TP_N;
    if (i >= (uint64_t)CHUNK * NCHUNKS) return NULL;   /* TW_ID_NULLPTR, TW_ID_BAD */
    uint64_t **c = &slab[i / CHUNK];
    if (!*c) *c = xcalloc(CHUNK, sizeof **c);
    uint64_t *word = &(*c)[i % CHUNK];
    *word = TW_TAG(id);
    return word;
}

const tw_dtinfo *sh_dtinfo(uint64_t id)
{
    if (id >= (uint64_t)CHUNK * NCHUNKS) return NULL;
    tw_dtinfo *c = dtinfo[id / CHUNK];
    if (!c || c[id % CHUNK].size < 0 || c[id % CHUNK].id != id) return NULL;
    return &c[id % CHUNK];
}

void sh_set_dtinfo(const tw_dtinfo *d)
{
    if (d->id >= (uint64_t)CHUNK * NCHUNKS) return;
    tw_dtinfo **c = &dtinfo[d->id / CHUNK];
    if (!*c) {
        *c = xcalloc(CHUNK, sizeof **c);
        for (unsigned i = 0; i < CHUNK; i++) (*c)[i].size = -1;
    }
    (*c)[d->id % CHUNK] = *d;
}
