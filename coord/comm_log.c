/* comm_log.c: the communicator log (checkpoint) and the rebuild of the
 * communicators the restarted application does not make again (restart).
 * comm_log.h says what each entry point is for; docs/protocol.md ("Restart")
 * and docs/format.md ("API-mode segments") describe the behaviour and the
 * layout. */
#include "comm_log.h"
#include "buf.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CL_MAGIC 0x314d4354u /* "TCM1" */

enum { CL_TOPO_NONE = 0, CL_TOPO_CART, CL_TOPO_GRAPH, CL_TOPO_DIST };

typedef struct cl_head {
    uint32_t magic, nrecs;
    uint64_t ninter;          /* tc_ninter of the writing rank */
} cl_head;

/* One per live communicator, followed without padding by int32 arrays:
 * local[size], remote[rsize], then per topology
 *   cart:  dims[na], periods[na]
 *   graph: index[na], edges[nb]
 *   dist:  sources[na], (weighted) sourceweights[na], dests[nb], (weighted) destweights[nb] */
typedef struct cl_rec {
    uint32_t ordinal;
    uint8_t inter, low, topo, weighted;
    uint64_t gid, nctor;
    int32_t size, rsize;      /* world ranks listed: local group, remote group */
    int32_t na, nb;
} cl_rec;
_Static_assert(sizeof(cl_rec) == 40, "cl_rec is part of the checkpoint format");

typedef struct cl_ent {
    cl_rec r;
    const int32_t *local, *remote, *ta, *tb, *twa, *twb;
    const comm_rec *cr;
} cl_ent;

/* kept from comm_log_rebuild for comm_log_check */
static unsigned char *kept_log;
static cl_ent *ents;
static uint32_t nents;
static int have_log;

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) {
        fprintf(stderr, "tern: out of memory\n");
        abort();
    }
    return p;
}

static int topo_ints(const cl_rec *r)
{
    switch (r->topo) {
    case CL_TOPO_CART: return 2 * r->na;
    case CL_TOPO_GRAPH: return r->na + r->nb;
    case CL_TOPO_DIST: return (r->na + r->nb) * (r->weighted ? 2 : 1);
    default: return 0;
    }
}

/* ---- DESCRIBE ---------------------------------------------------------------- */
static void describe_topology(MPI_Comm real, cl_rec *r, buf *arr)
{
    int t = MPI_UNDEFINED;
    PMPI_Topo_test(real, &t);
    if (t == MPI_CART) {
        int nd = 0;
        PMPI_Cartdim_get(real, &nd);
        int *v = xmalloc(sizeof(int) * (size_t)(3 * nd));
        PMPI_Cart_get(real, nd, v, v + nd, v + 2 * nd);   /* dims, periods, coords */
        r->topo = CL_TOPO_CART;
        r->na = nd;
        bput(arr, v, sizeof(int) * (size_t)(2 * nd));
        free(v);
    } else if (t == MPI_GRAPH) {
        int nn = 0, ne = 0;
        PMPI_Graphdims_get(real, &nn, &ne);
        int *v = xmalloc(sizeof(int) * (size_t)(nn + ne));
        PMPI_Graph_get(real, nn, ne, v, v + nn);
        r->topo = CL_TOPO_GRAPH;
        r->na = nn;
        r->nb = ne;
        bput(arr, v, sizeof(int) * (size_t)(nn + ne));
        free(v);
    } else if (t == MPI_DIST_GRAPH) {
        int in = 0, out = 0, w = 0;
        PMPI_Dist_graph_neighbors_count(real, &in, &out, &w);
        int *s = xmalloc(sizeof(int) * (size_t)in), *sw = xmalloc(sizeof(int) * (size_t)in);
        int *d = xmalloc(sizeof(int) * (size_t)out), *dw = xmalloc(sizeof(int) * (size_t)out);
        PMPI_Dist_graph_neighbors(real, in, s, w ? sw : MPI_UNWEIGHTED, out, d, w ? dw : MPI_UNWEIGHTED);
        r->topo = CL_TOPO_DIST;
        r->weighted = (uint8_t)(w != 0);
        r->na = in;
        r->nb = out;
        bput(arr, s, sizeof(int) * (size_t)in);
        if (w) bput(arr, sw, sizeof(int) * (size_t)in);
        bput(arr, d, sizeof(int) * (size_t)out);
        if (w) bput(arr, dw, sizeof(int) * (size_t)out);
        free(s); free(sw); free(d); free(dw);
    }
}

void comm_log_describe(comm_rec **recs, uint64_t *nrecs, void **log, size_t *loglen)
{
    uint32_t n = 0;
    for (uint32_t o = 0; o < tc_count; o++) {
        tern_comm *c = tc_by_ordinal(o);
        if (c && !c->freed) n++;
    }
    comm_rec *cr = calloc((size_t)n + 1, sizeof *cr);
    if (!cr) {
        fprintf(stderr, "tern: out of memory\n");
        abort();
    }
    buf lb = { 0 }, arr = { 0 };
    cl_head h = { CL_MAGIC, n, tc_ninter };
    bput(&lb, &h, sizeof h);
    uint32_t k = 0;
    for (uint32_t o = 0; o < tc_count; o++) {
        tern_comm *c = tc_by_ordinal(o);
        if (!c || c->freed) continue;
        comm_rec *s = &cr[k++];
        s->ordinal = c->ordinal;
        s->npeers = (uint32_t)c->npeers;
        s->gid = c->gid;
        s->world_hash = c->world_hash;
        snprintf(s->ctor, sizeof s->ctor, "%s", c->ctor ? c->ctor : "?");

        cl_rec r;
        memset(&r, 0, sizeof r);
        r.ordinal = c->ordinal;
        r.inter = (uint8_t)(c->inter != 0);
        r.gid = c->gid;
        r.nctor = c->nctor;
        arr.n = 0;
        if (c->ordinal >= 2) {   /* world and self are never rebuilt */
            if (!c->inter) {
                r.size = c->size;
                bput(&arr, c->world, sizeof(int) * (size_t)c->size);
                describe_topology(c->real, &r, &arr);
            } else {
                /* c->world is the remote group; the local one is asked for */
                MPI_Group lg, wg;
                PMPI_Comm_group(c->real, &lg);
                PMPI_Comm_group(MPI_COMM_WORLD, &wg);
                int *rk = xmalloc(sizeof(int) * (size_t)c->size), *w = xmalloc(sizeof(int) * (size_t)c->size);
                for (int i = 0; i < c->size; i++) rk[i] = i;
                PMPI_Group_translate_ranks(lg, c->size, rk, wg, w);
                PMPI_Group_free(&lg);
                PMPI_Group_free(&wg);
                int lmin = 1 << 30, rmin = 1 << 30;
                for (int i = 0; i < c->size; i++) lmin = w[i] < lmin ? w[i] : lmin;
                for (int i = 0; i < c->npeers; i++) rmin = c->world[i] < rmin ? c->world[i] : rmin;
                r.size = c->size;
                r.rsize = c->npeers;
                r.low = (uint8_t)(lmin < rmin);
                bput(&arr, w, sizeof(int) * (size_t)c->size);
                bput(&arr, c->world, sizeof(int) * (size_t)c->npeers);
                free(rk);
                free(w);
            }
        }
        bput(&lb, &r, sizeof r);
        bput(&lb, arr.p, arr.n);
    }
    free(arr.p);
    *recs = cr;
    *nrecs = k;
    *log = lb.p;
    *loglen = lb.n;
}

/* ---- RESTART ----------------------------------------------------------------- */
void comm_log_release(void)
{
    free(kept_log);
    free(ents);
    kept_log = NULL;
    ents = NULL;
    nents = 0;
    have_log = 0;
}

static int parse(const void *log, size_t len, const comm_rec *recs, uint64_t nrecs, char *why, size_t whylen)
{
    kept_log = xmalloc(len);
    memcpy(kept_log, log, len);
    cl_head h;
    if (len < sizeof h) goto damaged;
    memcpy(&h, kept_log, sizeof h);
    if (h.magic != CL_MAGIC || h.nrecs != nrecs) goto damaged;
    ents = calloc((size_t)h.nrecs + 1, sizeof *ents);
    if (!ents) goto damaged;
    size_t pos = sizeof h;
    for (uint32_t i = 0; i < h.nrecs; i++) {
        cl_ent *e = &ents[i];
        if (len - pos < sizeof e->r) goto damaged;
        memcpy(&e->r, kept_log + pos, sizeof e->r);
        pos += sizeof e->r;
        const cl_rec *r = &e->r;
        if (r->size < 0 || r->rsize < 0 || r->na < 0 || r->nb < 0) goto damaged;
        uint64_t ni = (uint64_t)r->size + (uint64_t)r->rsize + (uint64_t)topo_ints(r);
        if ((len - pos) / sizeof(int32_t) < ni) goto damaged;
        /* every field before is a multiple of 4 bytes: the arrays are aligned */
        const int32_t *a = (const int32_t *)(const void *)(kept_log + pos);
        pos += ni * sizeof(int32_t);
        e->local = a;
        a += r->size;
        e->remote = a;
        a += r->rsize;
        e->ta = a;
        a += r->na;
        e->twa = r->weighted ? a : NULL;
        if (r->weighted) a += r->na;
        e->tb = a;
        a += r->topo == CL_TOPO_CART ? 0 : r->nb;
        e->twb = r->weighted ? a : NULL;
        for (int j = 0; j < r->size + r->rsize; j++)
            if (e->local[j] < 0) goto damaged;
        for (uint64_t j = 0; j < nrecs; j++)
            if (recs[j].ordinal == r->ordinal) e->cr = &recs[j];
        if (!e->cr) goto damaged;
        nents++;
    }
    have_log = 1;
    return 0;
damaged:
    snprintf(why, whylen, "segment %s is damaged (it does not match _tern_comms)", COMM_LOG_SEGMENT);
    return -1;
}

static int by_gid(const void *a, const void *b)
{
    uint64_t x = (*(cl_ent *const *)a)->r.gid, y = (*(cl_ent *const *)b)->r.gid;
    return x < y ? -1 : x > y;
}

static int has_gid(const uint64_t *v, int n, uint64_t g)
{
    int lo = 0, hi = n;
    while (lo < hi) {
        int m = lo + (hi - lo) / 2;
        if (v[m] < g) lo = m + 1;
        else hi = m;
    }
    return lo < n && v[lo] == g;
}

/* Make the real communicator of e. Only its members call this, in increasing
 * gid order on every rank: gid is the same on every member, so the
 * constructors of overlapping groups happen in one global order and none
 * waits for a member busy with a later one. The tag (from the gid) keeps
 * concurrent constructors of disjoint groups on ctl apart. */
static MPI_Comm make_comm(MPI_Comm ctl, const cl_ent *e, int tag_ub)
{
    const cl_rec *r = &e->r;
    int tag = (int)(r->gid % (uint64_t)(tag_ub / 2)) * 2;
    MPI_Group wg, lg;
    MPI_Comm base = MPI_COMM_NULL, real = MPI_COMM_NULL;
    PMPI_Comm_group(ctl, &wg);   /* ctl's ranks are the world ranks */
    PMPI_Group_incl(wg, r->size, e->local, &lg);
    PMPI_Comm_create_group(ctl, lg, tag, &base);
    PMPI_Group_free(&lg);
    PMPI_Group_free(&wg);
    if (r->inter) {
        /* each side made its own group above; the leaders (local rank 0)
         * meet over ctl */
        PMPI_Intercomm_create(base, 0, ctl, e->remote[0], tag + 1, &real);
        PMPI_Comm_free(&base);
        return real;
    }
    switch (r->topo) {
    case CL_TOPO_CART: {
        int *per = xmalloc(sizeof(int) * (size_t)r->na);
        for (int i = 0; i < r->na; i++) per[i] = e->ta[r->na + i];
        /* no reorder: the saved rank order is the one to keep */
        PMPI_Cart_create(base, r->na, e->ta, per, 0, &real);
        free(per);
        break;
    }
    case CL_TOPO_GRAPH:
        PMPI_Graph_create(base, r->na, e->ta, e->tb, 0, &real);
        break;
    case CL_TOPO_DIST: {
        const int *sw = r->weighted ? (r->na ? e->twa : MPI_WEIGHTS_EMPTY) : MPI_UNWEIGHTED;
        const int *dw = r->weighted ? (r->nb ? e->twb : MPI_WEIGHTS_EMPTY) : MPI_UNWEIGHTED;
        PMPI_Dist_graph_create_adjacent(base, r->na, e->ta, sw, r->nb, e->tb, dw, MPI_INFO_NULL, 0, &real);
        break;
    }
    default:
        return base;
    }
    PMPI_Comm_free(&base);
    return real;
}

int comm_log_rebuild(MPI_Comm ctl, const comm_rec *recs, uint64_t nrecs, const void *log,
                     size_t loglen, int ok, char *why, size_t whylen)
{
    why[0] = 0;
    comm_log_release();
    int W = 0;
    PMPI_Comm_size(ctl, &W);
    if (ok && log && parse(log, loglen, recs, nrecs, why, whylen)) ok = 0;

    /* the saved communicators this run has not made again */
    cl_ent **miss = xmalloc(sizeof *miss * (size_t)(nents + 1));
    int nmiss = 0;
    for (uint32_t i = 0; ok && i < nents; i++)
        if (ents[i].r.ordinal >= 2 && !tc_by_ordinal(ents[i].r.ordinal)) miss[nmiss++] = &ents[i];
    qsort(miss, (size_t)nmiss, sizeof *miss, by_gid);
    for (int i = 1; ok && i < nmiss; i++)
        if (miss[i]->r.gid == miss[i - 1]->r.gid) {
            snprintf(why, whylen, "communicators #%u (%s) and #%u (%s) of the checkpoint have the same "
                     "identity (gid %#" PRIx64 "); tern cannot rebuild them",
                     miss[i - 1]->r.ordinal, miss[i - 1]->cr->ctor, miss[i]->r.ordinal, miss[i]->cr->ctor,
                     miss[i]->r.gid);
            ok = 0;
        }

    /* Every member must rebuild the same ones, or the constructors below
     * would wait for ever: each rank's list (sorted gids) to every rank. A
     * count of -1 says that rank has failed already. */
    int cnt = ok ? nmiss : -1;
    int *cnts = xmalloc(sizeof(int) * (size_t)W), *displs = xmalloc(sizeof(int) * (size_t)W);
    PMPI_Allgather(&cnt, 1, MPI_INT, cnts, 1, MPI_INT, ctl);
    int total = 0, anyfail = 0;
    for (int i = 0; i < W; i++) {
        if (cnts[i] < 0) {
            anyfail = 1;
            cnts[i] = 0;
        }
        displs[i] = total;
        total += cnts[i];
    }
    int rc = -1;
    uint64_t *mine = xmalloc(sizeof(uint64_t) * (size_t)(nmiss + 1)), *all = NULL;
    if (anyfail) goto out;
    for (int i = 0; i < nmiss; i++) mine[i] = miss[i]->r.gid;
    all = xmalloc(sizeof(uint64_t) * (size_t)(total + 1));
    PMPI_Allgatherv(mine, nmiss, MPI_UINT64_T, all, cnts, displs, MPI_UINT64_T, ctl);
    int good = 1;
    for (int i = 0; good && i < nmiss; i++) {
        const cl_ent *e = miss[i];
        for (int j = 0; good && j < e->r.size + e->r.rsize; j++) {
            int m = e->local[j];   /* local and remote are consecutive */
            if (m >= W || !has_gid(all + displs[m], cnts[m], e->r.gid)) {
                snprintf(why, whylen, "communicator #%u (%s) must be rebuilt here, but world rank %d, "
                         "one of its members, does not rebuild it (it made it again before "
                         "tern_recover(), or the communicator's identity differs there): make it again "
                         "on all of its members or on none",
                         e->r.ordinal, e->cr->ctor, m);
                good = 0;
            }
        }
    }
    int allgood = 0;
    PMPI_Allreduce(&good, &allgood, 1, MPI_INT, MPI_MIN, ctl);
    if (!allgood) goto out;

    tern_internal_enter();
    int *ubp = NULL, flag = 0, ub = 32767;
    PMPI_Comm_get_attr(ctl, MPI_TAG_UB, &ubp, &flag);
    if (flag && ubp && *ubp > ub) ub = *ubp;
    rc = 0;
    for (int i = 0; i < nmiss; i++) {
        const cl_ent *e = miss[i];
        MPI_Comm real = make_comm(ctl, e, ub);
        size_t cl = strlen(e->cr->ctor) + 1;
        char *name = xmalloc(cl);   /* lives as long as the communicator entry */
        memcpy(name, e->cr->ctor, cl);
        tern_comm *c = tc_register_at(real, e->r.ordinal, e->r.gid, e->r.nctor, name);
        if (!c || (uint32_t)c->npeers != e->cr->npeers || c->world_hash != e->cr->world_hash) {
            if (!rc)
                snprintf(why, whylen, "communicator #%u (%s) was rebuilt with other members than "
                         "the checkpoint lists", e->r.ordinal, e->cr->ctor);
            rc = -1;   /* go on: the other members are making theirs */
        }
    }
    tern_internal_leave();

    /* Children made from now on must not repeat a saved gid: constructor
     * counts go on from the saved ones (the same on every member, as the
     * counts of what was made again are), and new ordinals start above
     * every saved one. */
    uint32_t top = 0;
    for (uint32_t i = 0; i < nents; i++) {
        tern_comm *c = tc_by_ordinal(ents[i].r.ordinal);
        if (c && c->nctor < ents[i].r.nctor) c->nctor = ents[i].r.nctor;
        if (ents[i].r.ordinal + 1 > top) top = ents[i].r.ordinal + 1;
    }
    if (have_log) {
        cl_head h;
        memcpy(&h, kept_log, sizeof h);
        if (tc_ninter < h.ninter) tc_ninter = h.ninter;
    }
    tc_skip_to(top);
out:
    free(miss);
    free(cnts);
    free(displs);
    free(mine);
    free(all);
    return rc;
}

static void rank_list(char *out, size_t len, const int32_t *v, int n)
{
    size_t p = 0;
    out[0] = 0;
    for (int i = 0; i < n && i < 8 && p < len; i++)
        p += (size_t)snprintf(out + p, len - p, "%s%d", i ? "," : "", v[i]);
    if (n > 8 && p < len) snprintf(out + p, len - p, ",...");
}

int comm_log_check(const comm_rec *s, const tern_comm *c, char *why, size_t whylen)
{
    static const char fix[] = "create communicators in the same order as the checkpointed run "
                              "(tern rebuilds those it does not make again)";
    if (!s) {
        snprintf(why, whylen, "the checkpoint does not describe (damaged checkpoint)");
        return -1;
    }
    if (!c) {
        if (!have_log)
            snprintf(why, whylen, "this run has not made again before tern_recover(), and a checkpoint "
                     "of protocol version 1 holds no membership to rebuild it from: create "
                     "communicators in the same order before recovering");
        else
            snprintf(why, whylen, "this run has neither made again nor rebuilt");
        return -1;
    }
    if (c->freed) {
        snprintf(why, whylen, "this run made again and freed before tern_recover(): %s", fix);
        return -1;
    }
    if ((uint32_t)c->npeers != s->npeers) {
        snprintf(why, whylen, "this run made again before tern_recover() with %d peers where the "
                 "checkpoint has %u: %s", c->npeers, s->npeers, fix);
        return -1;
    }
    if (c->world_hash != s->world_hash) {
        const cl_ent *e = NULL;
        for (uint32_t i = 0; i < nents; i++)
            if (ents[i].r.ordinal == s->ordinal) e = &ents[i];
        char now[128], then[128] = "";
        int32_t *w = xmalloc(sizeof(int32_t) * (size_t)(c->npeers + 1));
        for (int i = 0; i < c->npeers; i++) w[i] = c->world[i];
        rank_list(now, sizeof now, w, c->npeers);
        free(w);
        if (e) rank_list(then, sizeof then, e->r.inter ? e->remote : e->local, e->r.inter ? e->r.rsize : e->r.size);
        snprintf(why, whylen, "this run made again before tern_recover() with other peers "
                 "(world ranks %s now, %s in the checkpoint): %s", now, e ? then : "others", fix);
        return -1;
    }
    return 0;
}
