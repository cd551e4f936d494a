/* types.c: proxy/px_types.c saves datatypes and groups as bytes and rebuilds
 * equivalent handles (2 ranks).
 *
 * Every combiner px_type_save rebuilds, alone and nested: the rebuilt type
 * has the original's size, extent, lb and true extent, packs a patterned
 * buffer to the same bytes, saves again to the same description, and
 * messages sent with one and received with the other land where they would
 * with the original on both sides -- both with the description loaded where
 * it was saved and with rank 0's loaded on rank 1. Groups come back
 * MPI_IDENT. Every strict prefix of every description, and a set of
 * corruptions, is refused with a reason. One line per check; the exit
 * status is non-zero if any failed.
 */
#include "px_types.h"

#include <mpi.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define COUNT 2        /* elements per buffer: extents matter */
#define MARGIN 64      /* bytes around every span */
#define MAXT 40

static int rank, failures, checks;

static void check(int ok, const char *what, const char *fmt_detail)
{
    checks++;
    if (!ok) failures++;
    printf("%s rank %d: %s%s%s\n", ok ? "ok  " : "FAIL:", rank, what, fmt_detail && *fmt_detail ? ": " : "",
           fmt_detail ? fmt_detail : "");
}

typedef struct {
    const char *name;
    MPI_Datatype dt;
    int committed;
} tcase;

static tcase cases[MAXT];
static int ncases;

static void add(const char *name, MPI_Datatype dt, int commit)
{
    if (commit) MPI_Type_commit(&dt);
    cases[ncases++] = (tcase){ name, dt, commit };
}

/* ---- the datatypes: every combiner, and nestings ----------------------------------------- */
static void make_types(void)
{
    MPI_Datatype t, u, v, w;
    add("predefined MPI_DOUBLE", MPI_DOUBLE, 0);
    add("predefined MPI_LONG_DOUBLE_INT", MPI_LONG_DOUBLE_INT, 0);

    MPI_Type_dup(MPI_INT, &t);
    add("dup(int)", t, 1);

    MPI_Type_contiguous(5, MPI_FLOAT, &t);
    add("contiguous(5 float)", t, 1);

    MPI_Type_vector(3, 2, 4, MPI_DOUBLE, &t);
    add("vector(3,2,4 double)", t, 1);

    MPI_Type_create_hvector(4, 1, 24, MPI_INT, &t);
    add("hvector(4,1,24B int)", t, 1);

    int bl[4] = { 2, 1, 3, 1 }, di[4] = { 0, 5, 9, 14 };
    MPI_Type_indexed(3, bl, di, MPI_SHORT, &t);
    add("indexed(short)", t, 1);

    int hbl[3] = { 1, 2, 1 };
    MPI_Aint hd[3] = { -16, 8, 40 };   /* a negative displacement: lb < 0 */
    MPI_Type_create_hindexed(3, hbl, hd, MPI_DOUBLE, &t);
    add("hindexed(double, lb<0)", t, 1);

    int ib[4] = { 1, 5, 8, 12 };
    MPI_Type_create_indexed_block(4, 2, ib, MPI_INT, &t);
    add("indexed_block(2 int)", t, 1);

    MPI_Aint hb[3] = { 0, 20, 50 };
    MPI_Type_create_hindexed_block(3, 2, hb, MPI_SHORT, &t);
    add("hindexed_block(2 short)", t, 1);

    int sbl[3] = { 1, 2, 3 };
    MPI_Aint sd[3] = { 0, 8, 24 };
    MPI_Datatype st[3] = { MPI_INT, MPI_DOUBLE, MPI_CHAR };
    MPI_Type_create_struct(3, sbl, sd, st, &t);
    add("struct(int, 2 double, 3 char)", t, 1);

    int sz[3] = { 6, 5, 4 }, sub[3] = { 2, 3, 2 }, start[3] = { 1, 2, 1 };
    MPI_Type_create_subarray(3, sz, sub, start, MPI_ORDER_C, MPI_DOUBLE, &t);
    add("subarray(3-d C double)", t, 1);

    int sz2[2] = { 7, 5 }, sub2[2] = { 3, 2 }, start2[2] = { 4, 0 };
    MPI_Type_create_subarray(2, sz2, sub2, start2, MPI_ORDER_FORTRAN, MPI_INT, &t);
    add("subarray(2-d Fortran int)", t, 1);

    int gs[2] = { 8, 6 }, dist[2] = { MPI_DISTRIBUTE_BLOCK, MPI_DISTRIBUTE_CYCLIC },
        darg[2] = { MPI_DISTRIBUTE_DFLT_DARG, 2 }, ps[2] = { 2, 2 };
    MPI_Type_create_darray(4, 1, 2, gs, dist, darg, ps, MPI_ORDER_C, MPI_INT, &t);
    add("darray(rank 1 of 2x2, block/cyclic(2) int)", t, 1);

    int gs3[3] = { 5, 4, 3 }, dist3[3] = { MPI_DISTRIBUTE_CYCLIC, MPI_DISTRIBUTE_NONE, MPI_DISTRIBUTE_BLOCK },
        darg3[3] = { MPI_DISTRIBUTE_DFLT_DARG, MPI_DISTRIBUTE_DFLT_DARG, 2 }, ps3[3] = { 3, 1, 2 };
    MPI_Type_create_darray(6, 4, 3, gs3, dist3, darg3, ps3, MPI_ORDER_FORTRAN, MPI_DOUBLE, &t);
    add("darray(rank 4 of 3x1x2, Fortran, cyclic/none/block(2) double)", t, 1);

    MPI_Type_vector(2, 1, 3, MPI_INT, &u);
    MPI_Type_create_resized(u, -8, 40, &t);
    MPI_Type_free(&u);
    add("resized(vector, lb -8, extent 40)", t, 1);

    /* a struct of a vector of a resized subarray, a dup of a hindexed block, and an int */
    int nsz[2] = { 4, 4 }, nsub[2] = { 2, 2 }, nst[2] = { 1, 1 };
    MPI_Type_create_subarray(2, nsz, nsub, nst, MPI_ORDER_C, MPI_FLOAT, &u);
    MPI_Type_create_resized(u, 0, 20, &v);
    MPI_Type_free(&u);
    MPI_Type_vector(2, 1, 2, v, &u);
    MPI_Type_free(&v);
    MPI_Type_create_hindexed_block(3, 2, hb, MPI_SHORT, &v);
    MPI_Type_dup(v, &w);
    MPI_Type_free(&v);
    int nbl[3] = { 1, 2, 1 };
    MPI_Aint nd[3] = { 0, 160, 300 };
    MPI_Datatype nt[3] = { u, w, MPI_INT };
    MPI_Type_create_struct(3, nbl, nd, nt, &t);
    MPI_Type_free(&u);
    MPI_Type_free(&w);
    add("struct(vector(resized(subarray)), dup(hindexed_block), int)", t, 1);

    /* three levels of contiguous/indexed over a darray */
    MPI_Type_create_darray(4, 2, 2, gs, dist, darg, ps, MPI_ORDER_C, MPI_SHORT, &u);
    MPI_Type_indexed(2, bl, di, u, &v);
    MPI_Type_free(&u);
    MPI_Type_contiguous(2, v, &t);
    MPI_Type_free(&v);
    add("contiguous(indexed(darray))", t, 1);

    /* F90 types: MPI's own handles, not freed */
    MPI_Datatype f;
    MPI_Type_create_f90_real(6, MPI_UNDEFINED, &f);
    add("f90_real(6)", f, 0);
    MPI_Type_contiguous(3, f, &t);
    add("contiguous(f90_real(6))", t, 1);
    MPI_Type_create_f90_integer(4, &f);
    MPI_Type_create_f90_complex(MPI_UNDEFINED, 30, &u);
    MPI_Datatype ft[2] = { f, u };
    int fbl[2] = { 2, 1 };
    MPI_Aint fd[2] = { 0, 16 };
    MPI_Type_create_struct(2, fbl, fd, ft, &t);
    add("struct(f90_integer(4), f90_complex(r 30))", t, 1);

    /* saved uncommitted: loaded uncommitted (only its layout is checked) */
    MPI_Type_vector(4, 1, 3, MPI_LONG, &t);
    add("vector(long), not committed", t, 0);
}

/* ---- comparing two datatypes ------------------------------------------------------------- */
typedef struct {
    MPI_Aint lb, extent, tlb, textent;
    int size;
} shape;

static shape shape_of(MPI_Datatype t)
{
    shape s;
    MPI_Type_get_extent(t, &s.lb, &s.extent);
    MPI_Type_get_true_extent(t, &s.tlb, &s.textent);
    MPI_Type_size(t, &s.size);
    return s;
}

/* a buffer for COUNT elements of t: base is where MPI's buf argument points */
typedef struct {
    unsigned char *mem, *base;
    size_t len;
} span;

static span span_of(MPI_Datatype t, int pattern)
{
    shape s = shape_of(t);
    MPI_Aint ext = s.extent > 0 ? s.extent : 0;
    span b;
    b.len = (size_t)(s.textent + ext * (COUNT - 1)) + 2 * MARGIN;
    b.mem = malloc(b.len);
    for (size_t i = 0; i < b.len; i++) b.mem[i] = pattern ? (unsigned char)(i * 31 + 7) : 0;
    b.base = b.mem + MARGIN - s.tlb;
    return b;
}

static unsigned char *pack(MPI_Datatype t, const span *b, int *n)
{
    int sz = 0;
    MPI_Pack_size(COUNT, t, MPI_COMM_SELF, &sz);
    unsigned char *out = malloc((size_t)sz + 1);
    *n = 0;
    MPI_Pack(b->base, COUNT, t, out, sz, n, MPI_COMM_SELF);
    return out;
}

/* what a receive of COUNT t into a zeroed span leaves there */
static span expected_recv(MPI_Datatype t)
{
    span pat = span_of(t, 1), out = span_of(t, 0);
    int n, pos = 0;
    unsigned char *pk = pack(t, &pat, &n);
    MPI_Unpack(pk, n, &pos, out.base, COUNT, t, MPI_COMM_SELF);
    free(pk);
    free(pat.mem);
    return out;
}

static void compare(const char *name, const char *how, MPI_Datatype orig, MPI_Datatype got, int committed)
{
    char what[256], det[256];
    shape a = shape_of(orig), b = shape_of(got);
    snprintf(what, sizeof what, "%s (%s): size, extent, lb, true extent", name, how);
    snprintf(det, sizeof det, "%d/%d, %ld/%ld, %ld/%ld, %ld/%ld", a.size, b.size, (long)a.extent, (long)b.extent,
             (long)a.lb, (long)b.lb, (long)a.textent, (long)b.textent);
    check(a.size == b.size && a.extent == b.extent && a.lb == b.lb && a.tlb == b.tlb && a.textent == b.textent, what,
          det);
    if (!committed) return;
    span pat = span_of(orig, 1);
    int na, nb;
    unsigned char *pa = pack(orig, &pat, &na), *pb = pack(got, &pat, &nb);
    snprintf(what, sizeof what, "%s (%s): MPI_Pack of a patterned buffer", name, how);
    snprintf(det, sizeof det, "%d and %d bytes", na, nb);
    check(na == nb && memcmp(pa, pb, (size_t)na) == 0, what, det);
    free(pa);
    free(pb);
    free(pat.mem);
}

/* ---- datatypes ----------------------------------------------------------------------------- */
static unsigned char *desc[MAXT];
static size_t desclen[MAXT];
static MPI_Datatype loaded[MAXT];

static void save_load_all(void)
{
    char err[256], what[256];
    for (int i = 0; i < ncases; i++) {
        tcase *c = &cases[i];
        size_t len = 0, cap = 0;
        unsigned char *buf = NULL;
        err[0] = 0;
        int rc = px_type_save(c->dt, c->committed, &buf, &len, &cap, err, sizeof err);
        snprintf(what, sizeof what, "%s: saved (%zu bytes)", c->name, len);
        check(rc == 0 && len > 0 && len <= cap, what, err);
        desc[i] = buf;
        desclen[i] = len;
        size_t used = 0;
        MPI_Datatype t = MPI_DATATYPE_NULL;
        /* an exact-size copy: reading past the description would be past the allocation */
        unsigned char *exact = malloc(len);
        memcpy(exact, buf, len);
        err[0] = 0;
        rc = px_type_load(exact, len, &t, &used, err, sizeof err);
        snprintf(what, sizeof what, "%s: loaded, %zu of %zu bytes used", c->name, used, len);
        check(rc == 0 && used == len && t != MPI_DATATYPE_NULL, what, err);
        free(exact);
        loaded[i] = t;
        if (rc) continue;
        int ni, na, nd, comb, oni, ona, ond, ocomb;
        MPI_Type_get_envelope(t, &ni, &na, &nd, &comb);
        MPI_Type_get_envelope(c->dt, &oni, &ona, &ond, &ocomb);
        snprintf(what, sizeof what, "%s: same combiner (%d) and envelope", c->name, comb);
        check(comb == ocomb && ni == oni && na == ona && nd == ond, what, NULL);
        if (ocomb == MPI_COMBINER_NAMED || ocomb == MPI_COMBINER_F90_REAL || ocomb == MPI_COMBINER_F90_INTEGER ||
            ocomb == MPI_COMBINER_F90_COMPLEX) {
            snprintf(what, sizeof what, "%s: MPI's own handle back", c->name);
            check(t == c->dt, what, NULL);
        }
        compare(c->name, "loaded here", c->dt, t, c->committed);
        /* the rebuilt type describes itself the same way */
        size_t l2 = 0, cap2 = 0;
        unsigned char *b2 = NULL;
        rc = px_type_save(t, c->committed, &b2, &l2, &cap2, err, sizeof err);
        snprintf(what, sizeof what, "%s: saved again, the same %zu bytes", c->name, l2);
        check(rc == 0 && l2 == len && memcmp(b2, buf, len) == 0, what, rc ? err : NULL);
        free(b2);
    }
}

/* every strict prefix is refused, reads nothing past itself (exact-size copies) */
static void prefixes(const char *name, const unsigned char *d, size_t len, int group)
{
    char err[256], what[256], first[320] = "";
    size_t accepted = 0;
    for (size_t k = 0; k < len; k++) {
        unsigned char *p = malloc(k ? k : 1);
        memcpy(p, d, k);
        size_t used = 12345;
        err[0] = 0;
        int rc;
        if (group) {
            MPI_Group g = MPI_GROUP_EMPTY;
            rc = px_group_load(p, k, &g, &used, err, sizeof err);
            if (rc == 0 || g != MPI_GROUP_NULL || !err[0]) accepted++;
            if (rc == 0 && g != MPI_GROUP_EMPTY && g != MPI_GROUP_NULL) MPI_Group_free(&g);
        } else {
            MPI_Datatype t = MPI_INT;
            rc = px_type_load(p, k, &t, &used, err, sizeof err);
            if (rc == 0 || t != MPI_DATATYPE_NULL || !err[0]) accepted++;
        }
        if (k == len / 2) snprintf(first, sizeof first, "e.g. %zu bytes: %s", k, err);
        free(p);
    }
    snprintf(what, sizeof what, "%s: all %zu strict prefixes refused with a reason (%zu not)", name, len, accepted);
    check(accepted == 0, what, first);
}

/* one byte of a valid description replaced (or a hand-made one) must be refused */
static void refused(const char *what, const unsigned char *d, size_t len, int group)
{
    char err[256] = "", w[300];
    unsigned char *p = malloc(len ? len : 1);
    memcpy(p, d, len);
    size_t used;
    int rc;
    if (group) {
        MPI_Group g;
        rc = px_group_load(p, len, &g, &used, err, sizeof err);
        if (rc == 0 && g != MPI_GROUP_EMPTY) MPI_Group_free(&g);
    } else {
        MPI_Datatype t;
        rc = px_type_load(p, len, &t, &used, err, sizeof err);
        if (rc == 0) {
            int ni, na, nd, comb;
            MPI_Type_get_envelope(t, &ni, &na, &nd, &comb);
            if (comb != MPI_COMBINER_NAMED) MPI_Type_free(&t);
        }
    }
    free(p);
    snprintf(w, sizeof w, "refused: %s", what);
    check(rc == -1 && err[0], w, err);
}

/* little-endian writers for hand-made descriptions */
static size_t le(unsigned char *p, uint64_t v, int n)
{
    for (int i = 0; i < n; i++) p[i] = (unsigned char)(v >> (8 * i));
    return (size_t)n;
}

/* find a case by name prefix */
static int case_of(const char *prefix)
{
    for (int i = 0; i < ncases; i++)
        if (strncmp(cases[i].name, prefix, strlen(prefix)) == 0) return i;
    return -1;
}

static void corruptions(void)
{
    unsigned char b[4096];
    int v = case_of("vector(3"), s = case_of("subarray(3-d"), d = case_of("darray(rank 1"),
        ix = case_of("indexed(short)");
    if (v < 0 || s < 0 || d < 0 || ix < 0 || !desc[v] || !desc[s] || !desc[d] || !desc[ix]) {
        check(0, "corruptions: the cases they start from", "missing");
        return;
    }
    /* the layout: "PXT" ver flags | 'D' comb ni(4) na(4) nd(4) ints... */
    memcpy(b, desc[v], desclen[v]);
    b[0] = 'Q';
    refused("bad magic", b, desclen[v], 0);
    memcpy(b, desc[v], desclen[v]);
    b[3] = 9;
    refused("version 9", b, desclen[v], 0);
    memcpy(b, desc[v], desclen[v]);
    b[4] = 0x82;
    refused("unknown flags", b, desclen[v], 0);
    memcpy(b, desc[v], desclen[v]);
    b[5] = 'X';
    refused("node kind 'X'", b, desclen[v], 0);
    memcpy(b, desc[v], desclen[v]);
    b[6] = 0;
    refused("combiner code 0", b, desclen[v], 0);
    memcpy(b, desc[v], desclen[v]);
    b[6] = 200;
    refused("combiner code 200", b, desclen[v], 0);
    memcpy(b, desc[v], desclen[v]);
    le(b + 7, 0xFFFFFFFFu, 4);
    refused("integer count 2^32-1", b, desclen[v], 0);
    memcpy(b, desc[v], desclen[v]);
    le(b + 7, 1000000, 4);
    refused("integer count beyond the bytes", b, desclen[v], 0);
    memcpy(b, desc[v], desclen[v]);
    le(b + 15, 0x00FFFFFFu, 4);
    refused("type count beyond the bytes", b, desclen[v], 0);
    memcpy(b, desc[v], desclen[v]);
    le(b + 19, (uint32_t)-3, 4);
    refused("vector count -3", b, desclen[v], 0);
    memcpy(b, desc[v], desclen[v]);
    le(b + 23, (uint32_t)-1, 4);
    refused("vector block length -1", b, desclen[v], 0);
    /* the vector's component: 'P' code16 at the end */
    memcpy(b, desc[v], desclen[v]);
    le(b + desclen[v] - 2, 999, 2);
    refused("predefined code 999", b, desclen[v], 0);
    /* indexed(short): ints = 3, bl[3], di[3] */
    memcpy(b, desc[ix], desclen[ix]);
    le(b + 19, 4, 4);
    refused("indexed count disagreeing with its integers", b, desclen[ix], 0);
    memcpy(b, desc[ix], desclen[ix]);
    le(b + 23 + 4, (uint32_t)-2, 4);
    refused("indexed negative block length", b, desclen[ix], 0);
    /* subarray(3-d): ints = 3, sizes[3], subsizes[3], starts[3], order */
    memcpy(b, desc[s], desclen[s]);
    le(b + 19 + 4 * 4, 7, 4);   /* subsizes[0] = 7 > sizes[0] = 6 */
    refused("subarray subsize over its size", b, desclen[s], 0);
    memcpy(b, desc[s], desclen[s]);
    le(b + 19 + 4 * 9, 5, 4);   /* starts[2] = 5: 5 + 2 > 4 */
    refused("subarray start past its end", b, desclen[s], 0);
    memcpy(b, desc[s], desclen[s]);
    le(b + 19 + 4 * 10, 7, 4);
    refused("subarray order 7", b, desclen[s], 0);
    /* darray: ints = size, rank, ndims, gsizes[2], distribs[2], dargs[2], psizes[2], order */
    memcpy(b, desc[d], desclen[d]);
    le(b + 19 + 4 * 1, 4, 4);
    refused("darray rank 4 of 4", b, desclen[d], 0);
    memcpy(b, desc[d], desclen[d]);
    le(b + 19 + 4 * 9, 3, 4);
    refused("darray process grid 3x2 for 4", b, desclen[d], 0);
    memcpy(b, desc[d], desclen[d]);
    le(b + 19 + 4 * 5, 5, 4);
    refused("darray distribution 5", b, desclen[d], 0);
    memcpy(b, desc[d], desclen[d]);
    le(b + 19 + 4 * 7, 0, 4);
    refused("darray block distribution argument 0", b, desclen[d], 0);
    memcpy(b, desc[d], desclen[d]);
    le(b + 19 + 4 * 7, 1, 4);   /* block of 1 on 2 processes cannot cover 8 */
    refused("darray blocks not covering the array", b, desclen[d], 0);
    /* a trailing byte is not read: used says where the description ends */
    {
        char err[256] = "", what[128];
        memcpy(b, desc[v], desclen[v]);
        memcpy(b + desclen[v], desc[s], desclen[s]);
        size_t used = 0, used2 = 0;
        MPI_Datatype t1 = MPI_DATATYPE_NULL, t2 = MPI_DATATYPE_NULL;
        int rc1 = px_type_load(b, desclen[v] + desclen[s], &t1, &used, err, sizeof err);
        int rc2 = rc1 ? -1 : px_type_load(b + used, desclen[v] + desclen[s] - used, &t2, &used2, err, sizeof err);
        snprintf(what, sizeof what, "two descriptions back to back: %zu + %zu bytes used", used, used2);
        check(rc1 == 0 && rc2 == 0 && used == desclen[v] && used2 == desclen[s], what, err);
        if (!rc1) MPI_Type_free(&t1);
        if (!rc2) MPI_Type_free(&t2);
    }
    /* a DUP nested 100 deep: over the depth limit, refused before MPI sees it */
    size_t n = 0;
    n += le(b + n, 'P', 1), n += le(b + n, 'X', 1), n += le(b + n, 'T', 1), n += le(b + n, 1, 1),
        n += le(b + n, 1, 1);
    for (int i = 0; i < 100; i++) {
        n += le(b + n, 'D', 1), n += le(b + n, 1, 1);
        n += le(b + n, 0, 4), n += le(b + n, 0, 4), n += le(b + n, 1, 4);
    }
    n += le(b + n, 'P', 1), n += le(b + n, 8, 2);
    refused("a DUP nested 100 deep", b, n, 0);
    /* 10 deep is fine */
    {
        char err[256] = "";
        size_t m = 5, used = 0;
        for (int i = 0; i < 10; i++) {
            m += le(b + m, 'D', 1), m += le(b + m, 1, 1);
            m += le(b + m, 0, 4), m += le(b + m, 0, 4), m += le(b + m, 1, 4);
        }
        m += le(b + m, 'P', 1), m += le(b + m, 8, 2);
        MPI_Datatype t = MPI_DATATYPE_NULL;
        int rc = px_type_load(b, m, &t, &used, err, sizeof err);
        int sz = 0;
        if (!rc) MPI_Type_size(t, &sz);
        check(rc == 0 && used == m && sz == (int)sizeof(int), "a DUP nested 10 deep of MPI_INT loads", err);
        if (!rc) MPI_Type_free(&t);
    }
    /* well formed, but MPI has no such type: MPI's error comes back (not an abort) */
    n = 0;
    n += le(b + n, 'P', 1), n += le(b + n, 'X', 1), n += le(b + n, 'T', 1), n += le(b + n, 1, 1),
        n += le(b + n, 0, 1);
    n += le(b + n, 'D', 1), n += le(b + n, 13, 1);   /* F90_REAL */
    n += le(b + n, 2, 4), n += le(b + n, 0, 4), n += le(b + n, 0, 4);
    n += le(b + n, 1000, 4), n += le(b + n, (uint32_t)-1, 4);   /* 1000 digits, any range */
    refused("MPI_Type_create_f90_real(1000 digits): MPI's error", b, n, 0);
    /* saving what cannot be described */
    {
        char err[256] = "";
        unsigned char *buf = NULL;
        size_t len = 0, cap = 0;
        int rc = px_type_save(MPI_DATATYPE_NULL, 0, &buf, &len, &cap, err, sizeof err);
        check(rc == -1 && len == 0 && err[0], "save of MPI_DATATYPE_NULL refused", err);
        err[0] = 0;
        rc = px_group_save(MPI_GROUP_NULL, &buf, &len, &cap, err, sizeof err);
        check(rc == -1 && len == 0 && err[0], "save of MPI_GROUP_NULL refused", err);
        free(buf);
    }
}

/* every predefined datatype the module knows comes back as itself */
static void predefined(void)
{
    MPI_Datatype all[] = {
        MPI_CHAR, MPI_SIGNED_CHAR, MPI_UNSIGNED_CHAR, MPI_BYTE, MPI_WCHAR, MPI_SHORT, MPI_UNSIGNED_SHORT, MPI_INT,
        MPI_UNSIGNED, MPI_LONG, MPI_UNSIGNED_LONG, MPI_LONG_LONG_INT, MPI_LONG_LONG, MPI_UNSIGNED_LONG_LONG,
        MPI_FLOAT, MPI_DOUBLE, MPI_LONG_DOUBLE, MPI_FLOAT_INT, MPI_DOUBLE_INT, MPI_LONG_INT, MPI_SHORT_INT,
        MPI_2INT, MPI_LONG_DOUBLE_INT, MPI_PACKED, MPI_INT8_T, MPI_UINT8_T, MPI_INT16_T, MPI_UINT16_T,
        MPI_INT32_T, MPI_UINT32_T, MPI_INT64_T, MPI_UINT64_T, MPI_AINT, MPI_OFFSET, MPI_COUNT, MPI_C_BOOL,
        MPI_C_COMPLEX, MPI_C_FLOAT_COMPLEX, MPI_C_DOUBLE_COMPLEX, MPI_C_LONG_DOUBLE_COMPLEX, MPI_CXX_BOOL,
        MPI_CXX_FLOAT_COMPLEX, MPI_CXX_DOUBLE_COMPLEX, MPI_CXX_LONG_DOUBLE_COMPLEX, MPI_CHARACTER, MPI_LOGICAL,
        MPI_INTEGER, MPI_REAL, MPI_DOUBLE_PRECISION, MPI_COMPLEX, MPI_DOUBLE_COMPLEX, MPI_2REAL,
        MPI_2DOUBLE_PRECISION, MPI_2INTEGER, MPI_2COMPLEX, MPI_2DOUBLE_COMPLEX,
#ifdef MPI_INTEGER4
        MPI_INTEGER1, MPI_INTEGER2, MPI_INTEGER4, MPI_INTEGER8, MPI_REAL4, MPI_REAL8, MPI_LOGICAL1,
        MPI_LOGICAL2, MPI_LOGICAL4, MPI_LOGICAL8, MPI_COMPLEX8, MPI_COMPLEX16,
#endif
    };
    int n = (int)(sizeof all / sizeof all[0]), good = 0;
    char err[256] = "", first[400] = "";
    for (int i = 0; i < n; i++) {
        unsigned char *buf = NULL;
        size_t len = 0, cap = 0, used = 0;
        MPI_Datatype t = MPI_DATATYPE_NULL;
        err[0] = 0;
        if (px_type_save(all[i], 1, &buf, &len, &cap, err, sizeof err) == 0 &&
            px_type_load(buf, len, &t, &used, err, sizeof err) == 0 && t == all[i] && used == len)
            good++;
        else if (!first[0]) {
            char nm[MPI_MAX_OBJECT_NAME] = "";
            int nl;
            MPI_Type_get_name(all[i], nm, &nl);
            snprintf(first, sizeof first, "%s: %s", nm, err);
        }
        free(buf);
    }
    char what[128];
    snprintf(what, sizeof what, "%d of %d predefined datatypes round-trip to the same handle", good, n);
    check(good == n, what, first);
}

/* rank 0 sends with the original, rank 1 receives with what it loaded from
 * rank 0's description, and back the other way */
static void exchange(void)
{
    char what[256], err[256];
    for (int i = 0; i < ncases; i++) {
        tcase *c = &cases[i];
        if (!c->committed || !desc[i]) continue;
        if (rank == 0) {
            unsigned long long l = desclen[i];
            MPI_Send(&l, 1, MPI_UNSIGNED_LONG_LONG, 1, 100 + i, MPI_COMM_WORLD);
            MPI_Send(desc[i], (int)desclen[i], MPI_BYTE, 1, 200 + i, MPI_COMM_WORLD);
            span pat = span_of(c->dt, 1), got = span_of(c->dt, 0), want = expected_recv(c->dt);
            MPI_Send(pat.base, COUNT, c->dt, 1, 300 + i, MPI_COMM_WORLD);
            MPI_Recv(got.base, COUNT, c->dt, 1, 400 + i, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
            snprintf(what, sizeof what, "%s: received with the original what rank 1 sent with the rebuilt", c->name);
            check(got.len == want.len && memcmp(got.mem, want.mem, got.len) == 0, what, NULL);
            free(pat.mem), free(got.mem), free(want.mem);
        } else if (rank == 1) {
            unsigned long long l = 0;
            MPI_Recv(&l, 1, MPI_UNSIGNED_LONG_LONG, 0, 100 + i, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
            unsigned char *d = malloc(l ? l : 1);
            MPI_Recv(d, (int)l, MPI_BYTE, 0, 200 + i, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
            MPI_Datatype t = MPI_DATATYPE_NULL;
            size_t used = 0;
            err[0] = 0;
            int rc = px_type_load(d, l, &t, &used, err, sizeof err);
            snprintf(what, sizeof what, "%s: rank 0's description loaded", c->name);
            check(rc == 0 && used == l, what, err);
            free(d);
            MPI_Datatype r = rc ? c->dt : t;   /* keep the exchange matched */
            if (!rc) compare(c->name, "loaded from rank 0", c->dt, t, 1);
            span pat = span_of(c->dt, 1), got = span_of(c->dt, 0), want = expected_recv(c->dt);
            MPI_Recv(got.base, COUNT, r, 0, 300 + i, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
            snprintf(what, sizeof what, "%s: received with the rebuilt what rank 0 sent with the original", c->name);
            check(got.len == want.len && memcmp(got.mem, want.mem, got.len) == 0, what, NULL);
            MPI_Send(pat.base, COUNT, r, 0, 400 + i, MPI_COMM_WORLD);
            free(pat.mem), free(got.mem), free(want.mem);
            int ni, na, nd, comb;
            MPI_Type_get_envelope(r, &ni, &na, &nd, &comb);
            if (!rc && comb != MPI_COMBINER_NAMED && t != c->dt) MPI_Type_free(&t);
        }
    }
}

/* ---- groups --------------------------------------------------------------------------------- */
static void groups(void)
{
    MPI_Group world, g[7];
    const char *names[7] = { "world", "incl {1,0}", "excl {0}", "range_incl {1..0 step -1}", "union",
                             "MPI_GROUP_EMPTY", "group of MPI_COMM_SELF" };
    MPI_Comm_group(MPI_COMM_WORLD, &world);
    int r10[2] = { 1, 0 }, r0[1] = { 0 }, r1[1] = { 1 };
    int range[1][3] = { { 1, 0, -1 } };
    MPI_Group a, b;
    g[0] = world;
    MPI_Group_incl(world, 2, r10, &g[1]);
    MPI_Group_excl(world, 1, r0, &g[2]);
    MPI_Group_range_incl(world, 1, range, &g[3]);
    MPI_Group_incl(world, 1, r1, &a);
    MPI_Group_incl(world, 1, r0, &b);
    MPI_Group_union(a, b, &g[4]);   /* {1, 0} */
    MPI_Group_free(&a);
    MPI_Group_free(&b);
    g[5] = MPI_GROUP_EMPTY;
    MPI_Comm_group(MPI_COMM_SELF, &g[6]);
    for (int i = 0; i < 7; i++) {
        char err[256] = "", what[256];
        unsigned char *buf = NULL;
        size_t len = 0, cap = 0, used = 0;
        int rc = px_group_save(g[i], &buf, &len, &cap, err, sizeof err);
        snprintf(what, sizeof what, "group %s: saved (%zu bytes)", names[i], len);
        check(rc == 0, what, err);
        if (rc) continue;
        MPI_Group h = MPI_GROUP_NULL;
        rc = px_group_load(buf, len, &h, &used, err, sizeof err);
        int sa = -1, sb = -2, cmp = MPI_UNEQUAL;
        if (!rc) {
            MPI_Group_size(g[i], &sa);
            MPI_Group_size(h, &sb);
            MPI_Group_compare(g[i], h, &cmp);
        }
        snprintf(what, sizeof what, "group %s: loaded, size %d/%d, MPI_Group_compare %s", names[i], sa, sb,
                 cmp == MPI_IDENT ? "MPI_IDENT" : "not MPI_IDENT");
        check(rc == 0 && used == len && sa == sb && cmp == MPI_IDENT, what, err);
        if (i == 5) check(h == MPI_GROUP_EMPTY, "group MPI_GROUP_EMPTY: comes back as MPI_GROUP_EMPTY", NULL);
        if (!rc && h != MPI_GROUP_EMPTY) MPI_Group_free(&h);
        char pn[128];
        snprintf(pn, sizeof pn, "group %s", names[i]);
        prefixes(pn, buf, len, 1);
        if (i == 1) {
            unsigned char c[64];
            memcpy(c, buf, len);
            c[0] = 'Z';
            refused("group bad magic", c, len, 1);
            memcpy(c, buf, len);
            le(c + 8, 2, 4);   /* world rank 2 of 2 */
            refused("group member world rank 2 of 2", c, len, 1);
            memcpy(c, buf, len);
            le(c + 8, 0, 4);   /* {0, 0} */
            refused("group member twice", c, len, 1);
            memcpy(c, buf, len);
            le(c + 4, 3, 4);   /* 3 members in the bytes of 2 */
            refused("group of 3 in the bytes of 2", c, len, 1);
            memcpy(c, buf, len);
            le(c + 4, 0xFFFFFFFFu, 4);
            refused("group of 2^32-1", c, len, 1);
        }
        free(buf);
    }
    for (int i = 1; i < 7; i++)
        if (i != 5) MPI_Group_free(&g[i]);
    MPI_Group_free(&world);
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    int size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    if (size != 2) {
        if (rank == 0) printf("FAIL: run on 2 ranks, not %d\n", size);
        MPI_Abort(MPI_COMM_WORLD, 2);
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    make_types();
    predefined();
    save_load_all();
    for (int i = 0; i < ncases; i++)
        if (desc[i]) prefixes(cases[i].name, desc[i], desclen[i], 0);
    corruptions();
    exchange();
    groups();
    /* the errors handler on MPI_COMM_WORLD is the application's again */
    MPI_Errhandler eh;
    MPI_Comm_get_errhandler(MPI_COMM_WORLD, &eh);
    check(eh == MPI_ERRORS_ARE_FATAL, "MPI_COMM_WORLD's error handler is MPI_ERRORS_ARE_FATAL again", NULL);
    MPI_Errhandler_free(&eh);
    for (int i = 0; i < ncases; i++) {
        int ni, na, nd, comb;
        if (loaded[i] != MPI_DATATYPE_NULL) {
            MPI_Type_get_envelope(loaded[i], &ni, &na, &nd, &comb);
            if (comb != MPI_COMBINER_NAMED && comb != MPI_COMBINER_F90_REAL && comb != MPI_COMBINER_F90_INTEGER &&
                comb != MPI_COMBINER_F90_COMPLEX)
                MPI_Type_free(&loaded[i]);
        }
        MPI_Type_get_envelope(cases[i].dt, &ni, &na, &nd, &comb);
        if (comb != MPI_COMBINER_NAMED && comb != MPI_COMBINER_F90_REAL && comb != MPI_COMBINER_F90_INTEGER &&
            comb != MPI_COMBINER_F90_COMPLEX)
            MPI_Type_free(&cases[i].dt);
        free(desc[i]);
    }
    int all = 0, nall = 0;
    MPI_Allreduce(&failures, &all, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    MPI_Allreduce(&checks, &nall, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    if (rank == 0) {
        if (all) printf("FAIL: %d of %d checks failed\n", all, nall);
        else printf("types: all %d checks passed\n", nall);
    }
    MPI_Finalize();
    return all ? 1 : 0;
}
