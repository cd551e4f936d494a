/* handles_comm.c: virtual communicators -- the handle table (chunks indexed
 * by ordinal), the predefined communicators, signatures for the exchange. */
#include "wrap.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

tern_comm **tc_chunks[4096];
tern_comm *tc_world_p, *tc_self_p;
uint32_t tc_count;

void *xcalloc(size_t n, size_t s)
{
    void *p = calloc(n ? n : 1, s ? s : 1);
    if (!p) {
        fprintf(stderr, "tern: out of memory\n");
        abort();
    }
    return p;
}

void tc_bad_handle(uintptr_t v)
{
    fprintf(stderr, "tern: rank %d: communicator handle %#lx names no communicator of this run "
            "(it was not alive at the checkpoint, tern_recover() was not called, or the restart "
            "is on another rank count or from a protocol version 1 checkpoint: create it again "
            "before tern_recover(); see docs/api.md)\n",
            tern_world_rank, (unsigned long)v);
    PMPI_Abort(MPI_COMM_WORLD, 18);
    _exit(18);
}

tern_comm *tc_by_ordinal(uint32_t ord)
{
    if (ord >= tc_count) return NULL;
    /* after a restart, ordinals that were freed before the checkpoint stay
     * holes, possibly whole chunks of them */
    tern_comm **ch = tc_chunks[ord / TC_CHUNK];
    return ch ? ch[ord % TC_CHUNK] : NULL;
}

static uint64_t mix64(uint64_t h, uint64_t v)
{
    h ^= v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
    h *= 0xff51afd7ed558ccdULL;
    return h ^ (h >> 33);
}

static tern_comm *tc_new_at(MPI_Comm real, MPI_Comm virt_or_null, uint32_t ord)
{
    if (ord / TC_CHUNK >= 4096) {
        fprintf(stderr, "tern: more than %d communicators created\n", 4096 * TC_CHUNK);
        abort();
    }
    if (!tc_chunks[ord / TC_CHUNK]) tc_chunks[ord / TC_CHUNK] = xcalloc(TC_CHUNK, sizeof(tern_comm *));
    tern_comm *c = xcalloc(1, sizeof *c);
    c->real = real;
    c->ordinal = ord;
    c->virt = virt_or_null ? virt_or_null : (MPI_Comm)(((uintptr_t)TERN_TAG_COMM << 48) | ord);
    PMPI_Comm_test_inter(real, &c->inter);
    PMPI_Comm_rank(real, &c->rank);
    PMPI_Comm_size(real, &c->size);
    MPI_Group g, wg;
    if (c->inter) {
        PMPI_Comm_remote_size(real, &c->npeers);
        PMPI_Comm_remote_group(real, &g);
    } else {
        c->npeers = c->size;
        PMPI_Comm_group(real, &g);
    }
    c->sent = xcalloc((size_t)c->npeers, sizeof(uint64_t));
    c->recvd = xcalloc((size_t)c->npeers, sizeof(uint64_t));
    c->world = xcalloc((size_t)c->npeers, sizeof(int));
    int *ranks = xcalloc((size_t)c->npeers, sizeof(int));
    for (int i = 0; i < c->npeers; i++) ranks[i] = i;
    PMPI_Comm_group(MPI_COMM_WORLD, &wg);
    PMPI_Group_translate_ranks(g, c->npeers, ranks, wg, c->world);
    PMPI_Group_free(&g);
    PMPI_Group_free(&wg);
    free(ranks);
    uint64_t h = 0x1234;
    int minw = 1 << 30;
    for (int i = 0; i < c->npeers; i++) {
        h = mix64(h, (uint64_t)(int64_t)c->world[i]);
        if (c->world[i] >= 0 && c->world[i] < minw) minw = c->world[i];
    }
    c->world_hash = h;
    /* Antisymmetric pair weights: s(a,b) = -s(b,a), so over the members of
     * an intracommunicator (or both groups of an intercommunicator) the
     * weights cancel and only unequal collective counts survive the sum. */
    int me = tern_world_rank;
    c->sigw = 0;
    for (int i = 0; i < c->npeers; i++) {
        int w = c->world[i];
        if (w < 0 || w == me) continue;
        int lo = me < w ? me : w, hi = me < w ? w : me;
        uint64_t g = mix64(mix64(0x51c0ffee, (uint64_t)lo), (uint64_t)hi) | 1;
        c->sigw += me < w ? g : (uint64_t)0 - g;
    }
    tc_chunks[ord / TC_CHUNK][ord % TC_CHUNK] = c;
    if (ord >= tc_count) tc_count = ord + 1;
    return c;
}

uint64_t *tern_wsent, *tern_wrecvd;

uint64_t tc_signature(void)
{
    uint64_t sig = 0;
    for (uint32_t o = 0; o < tc_count; o++) {
        tern_comm *c = tc_by_ordinal(o);
        if (!c || c->freed || !c->sigw) continue;
        uint64_t h = (c->gid ^ 0x9e3779b97f4a7c15ULL) * 0xbf58476d1ce4e5b9ULL;
        h ^= (c->coll_seq + 0x632be59bd9b4e019ULL) * 0x94d049bb133111ebULL;
        h ^= h >> 29;
        sig += c->sigw * h;
    }
    return sig;
}

static tern_comm *tc_new(MPI_Comm real, MPI_Comm virt_or_null)
{
    return tc_new_at(real, virt_or_null, tc_count);
}

void tc_init_predefined(void)
{
    tern_wsent = xcalloc((size_t)tern_world_size, sizeof(uint64_t));
    tern_wrecvd = xcalloc((size_t)tern_world_size, sizeof(uint64_t));
    tc_world_p = tc_new(MPI_COMM_WORLD, MPI_COMM_WORLD);
    tc_world_p->ctor = "MPI_COMM_WORLD";
    tc_world_p->gid = 1;
    tc_self_p = tc_new(MPI_COMM_SELF, MPI_COMM_SELF);
    tc_self_p->ctor = "MPI_COMM_SELF";
    tc_self_p->gid = mix64(2, (uint64_t)tern_world_rank);
}

uint64_t tc_ninter;

tern_comm *tc_register_at(MPI_Comm real, uint32_t ord, uint64_t gid, uint64_t nctor, const char *ctor)
{
    if (ord < 2 || tc_by_ordinal(ord)) return NULL;
    tern_comm *c = tc_new_at(real, NULL, ord);
    c->ctor = ctor;
    c->gid = gid;
    c->nctor = nctor;
    return c;
}

void tc_skip_to(uint32_t n)
{
    if (n > tc_count) tc_count = n;
}

MPI_Comm tc_register(MPI_Comm real, tern_comm *parent, const char *ctor)
{
    if (real == MPI_COMM_NULL) {
        if (parent) parent->nctor++;
        return MPI_COMM_NULL;
    }
    if (!parent || tern_internal) return real;   /* foreign parent: stays foreign */
    tern_comm *c = tc_new(real, NULL);
    c->ctor = ctor;
    c->parent = parent->ordinal;
    /* Same on every member: parent's gid, the parent's constructor count (all
     * members of the parent call constructors in the same order) and the
     * member set (tells apart the siblings of one MPI_Comm_split). */
    c->gid = mix64(mix64(parent->gid, ++parent->nctor), c->world_hash);
    if (c->inter) {
        /* the two groups have different parents: name it by both member sets
         * (the same on both sides) and a count of intercommunicators made */
        MPI_Group lg, wg;
        PMPI_Comm_group(real, &lg);
        PMPI_Comm_group(MPI_COMM_WORLD, &wg);
        int *r = xcalloc((size_t)c->size, sizeof(int)), *w = xcalloc((size_t)c->size, sizeof(int));
        for (int i = 0; i < c->size; i++) r[i] = i;
        PMPI_Group_translate_ranks(lg, c->size, r, wg, w);
        uint64_t lh = 0x1234;
        for (int i = 0; i < c->size; i++) lh = mix64(lh, (uint64_t)(int64_t)w[i]);
        PMPI_Group_free(&lg);
        PMPI_Group_free(&wg);
        free(r);
        free(w);
        uint64_t a = lh < c->world_hash ? lh : c->world_hash, b = lh < c->world_hash ? c->world_hash : lh;
        c->gid = mix64(mix64(mix64(a, b), ++tc_ninter), 0x1e7e4);
    }
    return c->virt;
}
