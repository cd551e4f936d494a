/* px_types.c: derived datatypes and groups as bytes, and back (px_types.h).
 *
 * A type description is a tree, written depth first, little-endian:
 *
 *   description := "PXT" VERSION FLAGS node          FLAGS bit 0: committed
 *   node        := 'P' u16 code                      a predefined datatype
 *                | 'D' u8 combiner u32 ni u32 na u32 nd
 *                      i32 ints[ni] i64 addrs[na] node[nd]
 *
 * the arguments of MPI_Type_get_contents, with our own stable codes for the
 * predefined types and the combiners, and the MPI constants among the
 * integers (orders, distributions, MPI_UNDEFINED) translated to fixed values,
 * since the numbers and addresses of one MPI build need not be another's.
 * A group description is "PXG" VERSION u32 n i32 world_rank[n].
 *
 * Loading checks every count against the bytes left before it allocates and
 * every combiner's argument shape and values before MPI sees them, so a
 * corrupt description is refused with a reason rather than raising an MPI
 * error; what MPI still rejects is returned as an error too (MPI_ERRORS_RETURN
 * on MPI_COMM_WORLD, where Open MPI reports datatype and group errors, for
 * the duration of each call).
 */
#include "px_types.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VERSION 1u
#define MAX_DEPTH 64              /* nesting of constructors, saved or loaded */
#define MAX_BYTES (64u << 20)     /* one description; a type DAG can unfold exponentially */
#define MAX_ITEMS (1u << 24)      /* integers, addresses or components of one constructor */

/* ---- errors ------------------------------------------------------------------------- */
static int fail(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t errlen, const char *fmt, ...)
{
    if (err && errlen) {
        int k = snprintf(err, errlen, "px_types.c: ");
        if (k >= 0 && (size_t)k < errlen) {
            va_list ap;
            va_start(ap, fmt);
            vsnprintf(err + k, errlen - (size_t)k, fmt, ap);
            va_end(ap);
        }
    }
    return -1;
}

/* rc of an MPI call as "what: MPI's message" */
static int fail_mpi(char *err, size_t errlen, const char *what, int rc)
{
    char msg[MPI_MAX_ERROR_STRING] = "";
    int ml = 0;
    if (PMPI_Error_string(rc, msg, &ml) != MPI_SUCCESS) snprintf(msg, sizeof msg, "MPI error %d", rc);
    return fail(err, errlen, "%s failed: %s", what, msg);
}

/* The module's calls need MPI running; outside of it they would abort. */
static int mpi_running(char *err, size_t errlen)
{
    int init = 0, fini = 0;
    PMPI_Initialized(&init);
    PMPI_Finalized(&fini);
    if (!init || fini) return fail(err, errlen, "MPI is not initialized (or already finalized)");
    return 0;
}

/* Errors are returned while we work, whatever handler the application set. */
static MPI_Errhandler errors_return(void)
{
    MPI_Errhandler old = MPI_ERRHANDLER_NULL;
    PMPI_Comm_get_errhandler(MPI_COMM_WORLD, &old);
    PMPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    return old;
}

static void errors_restore(MPI_Errhandler old)
{
    if (old == MPI_ERRHANDLER_NULL) return;
    PMPI_Comm_set_errhandler(MPI_COMM_WORLD, old);
    PMPI_Errhandler_free(&old);
}

/* ---- writing: appended to the caller's buffer -------------------------------------- */
typedef struct {
    unsigned char **buf;
    size_t *len, *cap;
    size_t start;   /* *len on entry: the description's first byte, and where a failure rewinds to */
} wr;

static int put(wr *w, const void *src, size_t n, char *err, size_t errlen)
{
    if (*w->len - w->start + n > MAX_BYTES)
        return fail(err, errlen, "the description would exceed %u MiB", MAX_BYTES >> 20);
    if (*w->len + n > *w->cap) {
        size_t cap = *w->cap ? *w->cap : 256;
        while (cap < *w->len + n) cap *= 2;
        unsigned char *nb = realloc(*w->buf, cap);
        if (!nb) return fail(err, errlen, "out of memory growing the description to %zu bytes", cap);
        *w->buf = nb;
        *w->cap = cap;
    }
    memcpy(*w->buf + *w->len, src, n);
    *w->len += n;
    return 0;
}

/* little-endian integers of n bytes */
static int put_le(wr *w, uint64_t v, size_t n, char *err, size_t errlen)
{
    unsigned char b[8];
    for (size_t i = 0; i < n; i++) b[i] = (unsigned char)(v >> (8 * i));
    return put(w, b, n, err, errlen);
}

/* ---- reading: bounded by n ------------------------------------------------------------ */
typedef struct {
    const unsigned char *p;
    size_t n, off;
} rd;

static size_t left(const rd *r)
{
    return r->n - r->off;
}

static int get_le(rd *r, size_t n, uint64_t *v, const char *what, char *err, size_t errlen)
{
    *v = 0;
    if (left(r) < n) return fail(err, errlen, "truncated description: %s at byte %zu", what, r->off);
    uint64_t x = 0;
    for (size_t i = 0; i < n; i++) x |= (uint64_t)r->p[r->off + i] << (8 * i);
    r->off += n;
    *v = x;
    return 0;
}

/* a u32 count, capped (the caller checks it against the bytes left) */
static int get_count(rd *r, uint32_t *c, const char *what, char *err, size_t errlen)
{
    uint64_t v;
    if (get_le(r, 4, &v, what, err, errlen)) return -1;
    if (v > MAX_ITEMS || v > INT32_MAX) return fail(err, errlen, "corrupt description: %s %llu is over the limit",
                                                   what, (unsigned long long)v);
    *c = (uint32_t)v;
    return 0;
}

static int check_room(const rd *r, uint64_t bytes, const char *what, char *err, size_t errlen)
{
    if (bytes > left(r))
        return fail(err, errlen, "truncated description: %s need %llu bytes at byte %zu, %zu left", what,
                    (unsigned long long)bytes, r->off, left(r));
    return 0;
}

/* ---- predefined datatypes: stable codes, compared by handle ----------------------------
 * The codes are part of the format: never renumber; new types take new codes.
 * Aliases (MPI_LONG_LONG, MPI_C_COMPLEX, ...) have their own codes: a handle
 * is saved as the first entry with its value, and any code loads. */
typedef struct {
    uint16_t code;
    MPI_Datatype dt;
    const char *name;
} predef;

#define P(c, t) { c, t, #t },
static const predef predefs[] = {
    /* C */
    P(1, MPI_CHAR) P(2, MPI_SIGNED_CHAR) P(3, MPI_UNSIGNED_CHAR) P(4, MPI_BYTE)
#ifdef MPI_WCHAR
    P(5, MPI_WCHAR)
#endif
    P(6, MPI_SHORT) P(7, MPI_UNSIGNED_SHORT) P(8, MPI_INT) P(9, MPI_UNSIGNED) P(10, MPI_LONG)
    P(11, MPI_UNSIGNED_LONG)
#ifdef MPI_LONG_LONG_INT
    P(12, MPI_LONG_LONG_INT)
#endif
#ifdef MPI_LONG_LONG
    P(13, MPI_LONG_LONG)
#endif
#ifdef MPI_UNSIGNED_LONG_LONG
    P(14, MPI_UNSIGNED_LONG_LONG)
#endif
    P(15, MPI_FLOAT) P(16, MPI_DOUBLE) P(17, MPI_LONG_DOUBLE)
    P(18, MPI_FLOAT_INT) P(19, MPI_DOUBLE_INT) P(20, MPI_LONG_INT) P(21, MPI_SHORT_INT) P(22, MPI_2INT)
    P(23, MPI_LONG_DOUBLE_INT) P(24, MPI_PACKED)
/* removed in MPI-3.0: Open MPI defines the names even without them (a
 * static assertion), so its configuration decides */
#if defined(OMPI_ENABLE_MPI1_COMPAT) ? OMPI_ENABLE_MPI1_COMPAT : defined(MPI_UB)
    P(25, MPI_UB) P(26, MPI_LB)
#endif
    /* C99 and MPI's own integers */
    P(30, MPI_INT8_T) P(31, MPI_UINT8_T) P(32, MPI_INT16_T) P(33, MPI_UINT16_T) P(34, MPI_INT32_T)
    P(35, MPI_UINT32_T) P(36, MPI_INT64_T) P(37, MPI_UINT64_T)
    P(38, MPI_AINT) P(39, MPI_OFFSET)
#ifdef MPI_COUNT
    P(40, MPI_COUNT)
#endif
    P(41, MPI_C_BOOL)
#ifdef MPI_C_COMPLEX
    P(42, MPI_C_COMPLEX)
#endif
#ifdef MPI_C_FLOAT_COMPLEX
    P(43, MPI_C_FLOAT_COMPLEX)
#endif
#ifdef MPI_C_DOUBLE_COMPLEX
    P(44, MPI_C_DOUBLE_COMPLEX)
#endif
#ifdef MPI_C_LONG_DOUBLE_COMPLEX
    P(45, MPI_C_LONG_DOUBLE_COMPLEX)
#endif
    /* C++ */
#ifdef MPI_CXX_BOOL
    P(50, MPI_CXX_BOOL)
#endif
#ifdef MPI_CXX_FLOAT_COMPLEX
    P(51, MPI_CXX_FLOAT_COMPLEX)
#endif
#ifdef MPI_CXX_DOUBLE_COMPLEX
    P(52, MPI_CXX_DOUBLE_COMPLEX)
#endif
#ifdef MPI_CXX_LONG_DOUBLE_COMPLEX
    P(53, MPI_CXX_LONG_DOUBLE_COMPLEX)
#endif
#ifdef MPI_CXX_COMPLEX
    P(54, MPI_CXX_COMPLEX)
#endif
    /* Fortran */
    P(60, MPI_CHARACTER) P(61, MPI_LOGICAL) P(62, MPI_INTEGER) P(63, MPI_REAL) P(64, MPI_DOUBLE_PRECISION)
    P(65, MPI_COMPLEX)
#ifdef MPI_DOUBLE_COMPLEX
    P(66, MPI_DOUBLE_COMPLEX)
#endif
    P(67, MPI_2REAL) P(68, MPI_2DOUBLE_PRECISION) P(69, MPI_2INTEGER)
#ifdef MPI_2COMPLEX
    P(70, MPI_2COMPLEX)
#endif
#ifdef MPI_2DOUBLE_COMPLEX
    P(71, MPI_2DOUBLE_COMPLEX)
#endif
#ifdef MPI_LOGICAL1
    P(72, MPI_LOGICAL1)
#endif
#ifdef MPI_LOGICAL2
    P(73, MPI_LOGICAL2)
#endif
#ifdef MPI_LOGICAL4
    P(74, MPI_LOGICAL4)
#endif
#ifdef MPI_LOGICAL8
    P(75, MPI_LOGICAL8)
#endif
#ifdef MPI_LOGICAL16
    P(76, MPI_LOGICAL16)
#endif
#ifdef MPI_INTEGER1
    P(77, MPI_INTEGER1)
#endif
#ifdef MPI_INTEGER2
    P(78, MPI_INTEGER2)
#endif
#ifdef MPI_INTEGER4
    P(79, MPI_INTEGER4)
#endif
#ifdef MPI_INTEGER8
    P(80, MPI_INTEGER8)
#endif
#ifdef MPI_INTEGER16
    P(81, MPI_INTEGER16)
#endif
#ifdef MPI_REAL2
    P(82, MPI_REAL2)
#endif
#ifdef MPI_REAL4
    P(83, MPI_REAL4)
#endif
#ifdef MPI_REAL8
    P(84, MPI_REAL8)
#endif
#ifdef MPI_REAL16
    P(85, MPI_REAL16)
#endif
#ifdef MPI_COMPLEX4
    P(86, MPI_COMPLEX4)
#endif
#ifdef MPI_COMPLEX8
    P(87, MPI_COMPLEX8)
#endif
#ifdef MPI_COMPLEX16
    P(88, MPI_COMPLEX16)
#endif
#ifdef MPI_COMPLEX32
    P(89, MPI_COMPLEX32)
#endif
};
#undef P
#define NPREDEF (sizeof predefs / sizeof predefs[0])

static const predef *predef_of(MPI_Datatype dt)
{
    for (size_t i = 0; i < NPREDEF; i++)
        if (predefs[i].dt == dt) return &predefs[i];
    return NULL;
}

static const predef *predef_code(unsigned code)
{
    for (size_t i = 0; i < NPREDEF; i++)
        if (predefs[i].code == code) return &predefs[i];
    return NULL;
}

/* ---- combiners: stable codes, and the shape of their arguments ---------------------------- */
enum { C_DUP = 1, C_CONTIGUOUS, C_VECTOR, C_HVECTOR, C_INDEXED, C_HINDEXED, C_INDEXED_BLOCK, C_HINDEXED_BLOCK,
       C_STRUCT, C_SUBARRAY, C_DARRAY, C_RESIZED, C_F90_REAL, C_F90_COMPLEX, C_F90_INTEGER, C_END };

static const struct {
    int mpi;
    const char *name;
} combiners[C_END] = {
    [C_DUP] = { MPI_COMBINER_DUP, "DUP" },
    [C_CONTIGUOUS] = { MPI_COMBINER_CONTIGUOUS, "CONTIGUOUS" },
    [C_VECTOR] = { MPI_COMBINER_VECTOR, "VECTOR" },
    [C_HVECTOR] = { MPI_COMBINER_HVECTOR, "HVECTOR" },
    [C_INDEXED] = { MPI_COMBINER_INDEXED, "INDEXED" },
    [C_HINDEXED] = { MPI_COMBINER_HINDEXED, "HINDEXED" },
    [C_INDEXED_BLOCK] = { MPI_COMBINER_INDEXED_BLOCK, "INDEXED_BLOCK" },
    [C_HINDEXED_BLOCK] = { MPI_COMBINER_HINDEXED_BLOCK, "HINDEXED_BLOCK" },
    [C_STRUCT] = { MPI_COMBINER_STRUCT, "STRUCT" },
    [C_SUBARRAY] = { MPI_COMBINER_SUBARRAY, "SUBARRAY" },
    [C_DARRAY] = { MPI_COMBINER_DARRAY, "DARRAY" },
    [C_RESIZED] = { MPI_COMBINER_RESIZED, "RESIZED" },
    [C_F90_REAL] = { MPI_COMBINER_F90_REAL, "F90_REAL" },
    [C_F90_COMPLEX] = { MPI_COMBINER_F90_COMPLEX, "F90_COMPLEX" },
    [C_F90_INTEGER] = { MPI_COMBINER_F90_INTEGER, "F90_INTEGER" },
};

static int combiner_code(int mpi)
{
    for (int c = 1; c < C_END; c++)
        if (combiners[c].mpi == mpi) return c;
    return 0;
}

/* F90 types are predefined for MPI (never freed), though not NAMED */
static int is_f90(int mpi_combiner)
{
    return mpi_combiner == MPI_COMBINER_F90_REAL || mpi_combiner == MPI_COMBINER_F90_COMPLEX ||
           mpi_combiner == MPI_COMBINER_F90_INTEGER;
}

/* The counts of integers, addresses and components the combiner takes,
 * given its integers (ni of them). int64 so that no count overflows. */
static int check_shape(int c, const int *in, int64_t ni, int64_t na, int64_t nd, char *err, size_t errlen)
{
    int64_t wi = 0, wa = 0, wd = 1, n = 0;
    const char *nm = combiners[c].name;
    /* the combiners whose counts follow from an integer: it must be there, and not negative */
    int lead = c == C_INDEXED || c == C_HINDEXED || c == C_INDEXED_BLOCK || c == C_HINDEXED_BLOCK ||
               c == C_STRUCT || c == C_SUBARRAY ? 0 : c == C_DARRAY ? 2 : -1;
    if (lead >= 0) {
        if (ni <= lead) return fail(err, errlen, "corrupt description: %s with %lld integers", nm, (long long)ni);
        n = in[lead];
        if (n < 0)
            return fail(err, errlen, "corrupt description: %s with count %lld", nm, (long long)n);
    }
    switch (c) {
    case C_DUP: break;
    case C_CONTIGUOUS: wi = 1; break;
    case C_VECTOR: wi = 3; break;
    case C_HVECTOR: wi = 2, wa = 1; break;
    case C_INDEXED: wi = 1 + 2 * n; break;
    case C_HINDEXED: wi = 1 + n, wa = n; break;
    case C_INDEXED_BLOCK: wi = 2 + n; break;
    case C_HINDEXED_BLOCK: wi = 2, wa = n; break;
    case C_STRUCT: wi = 1 + n, wa = n, wd = n; break;
    case C_SUBARRAY: wi = 2 + 3 * n; break;
    case C_DARRAY: wi = 4 + 4 * n; break;
    case C_RESIZED: wa = 2; break;
    case C_F90_REAL: case C_F90_COMPLEX: wi = 2, wd = 0; break;
    case C_F90_INTEGER: wi = 1, wd = 0; break;
    }
    if (ni != wi || na != wa || nd != wd)
        return fail(err, errlen, "corrupt description: %s with %lld integers, %lld addresses, %lld types "
                    "(it takes %lld, %lld, %lld)", nm, (long long)ni, (long long)na, (long long)nd,
                    (long long)wi, (long long)wa, (long long)wd);
    return 0;
}

/* MPI's constants among the integers <-> the format's fixed values */
enum { W_ORDER_C = 0, W_ORDER_FORTRAN = 1, W_BLOCK = 0, W_CYCLIC = 1, W_NONE = 2, W_DFLT_DARG = -1,
       W_UNDEFINED = -1 };

static int map(int v, const int *from, const int *to, int k, int *out)
{
    for (int i = 0; i < k; i++)
        if (v == from[i]) {
            *out = to[i];
            return 0;
        }
    return -1;
}

/* Translates the constants of a SUBARRAY, DARRAY or F90 combiner in place
 * (to_wire: MPI's to the format's, or back); -1 on a value that is none. */
static int translate(int c, int *in, int ni, int to_wire, char *err, size_t errlen)
{
    const int om[2] = { MPI_ORDER_C, MPI_ORDER_FORTRAN }, ow[2] = { W_ORDER_C, W_ORDER_FORTRAN };
    const int dm[3] = { MPI_DISTRIBUTE_BLOCK, MPI_DISTRIBUTE_CYCLIC, MPI_DISTRIBUTE_NONE },
              dw[3] = { W_BLOCK, W_CYCLIC, W_NONE };
    const char *nm = combiners[c].name;
    if (c == C_SUBARRAY || c == C_DARRAY) {
        int *order = &in[ni - 1];
        if (map(*order, to_wire ? om : ow, to_wire ? ow : om, 2, order))
            return fail(err, errlen, "%s%s with order %d", to_wire ? "" : "corrupt description: ", nm, *order);
    }
    if (c == C_DARRAY) {
        int nd = in[2];
        int *dist = in + 3 + nd, *darg = in + 3 + 2 * nd;
        for (int i = 0; i < nd; i++) {
            if (map(dist[i], to_wire ? dm : dw, to_wire ? dw : dm, 3, &dist[i]))
                return fail(err, errlen, "%sDARRAY with distribution %d", to_wire ? "" : "corrupt description: ",
                            dist[i]);
            if (darg[i] == (to_wire ? MPI_DISTRIBUTE_DFLT_DARG : W_DFLT_DARG))
                darg[i] = to_wire ? W_DFLT_DARG : MPI_DISTRIBUTE_DFLT_DARG;
            else if (darg[i] < 0)
                return fail(err, errlen, "%sDARRAY with distribution argument %d",
                            to_wire ? "" : "corrupt description: ", darg[i]);
        }
    }
    if (c == C_F90_REAL || c == C_F90_COMPLEX || c == C_F90_INTEGER) {
        for (int i = 0; i < ni; i++) {
            if (in[i] == (to_wire ? MPI_UNDEFINED : W_UNDEFINED))
                in[i] = to_wire ? W_UNDEFINED : MPI_UNDEFINED;
            else if (in[i] < 0)
                return fail(err, errlen, "%s%s with precision/range %d", to_wire ? "" : "corrupt description: ",
                            nm, in[i]);
        }
    }
    return 0;
}

/* What MPI would reject among the (wire form) integers -- Open MPI 4.1's
 * argument checks -- so that a corrupt description is refused here with a
 * reason. */
static int check_values(int c, const int *in, char *err, size_t errlen)
{
    const char *nm = combiners[c].name;
#define BAD(...) return fail(err, errlen, "corrupt description: " __VA_ARGS__)
    switch (c) {
    case C_CONTIGUOUS:
        if (in[0] < 0) BAD("%s count %d", nm, in[0]);
        break;
    case C_VECTOR: case C_HVECTOR: case C_HINDEXED_BLOCK:
        if (in[0] < 0 || in[1] < 0) BAD("%s count %d, block length %d", nm, in[0], in[1]);
        break;
    case C_INDEXED: case C_HINDEXED: case C_STRUCT:
        for (int i = 0; i < in[0]; i++)
            if (in[1 + i] < 0) BAD("%s block length %d", nm, in[1 + i]);
        break;
    case C_INDEXED_BLOCK:
        if (in[1] < 0) BAD("%s block length %d", nm, in[1]);
        break;
    case C_SUBARRAY: {
        int n = in[0];
        const int *size = in + 1, *sub = in + 1 + n, *start = in + 1 + 2 * n;
        for (int i = 0; i < n; i++)
            if (size[i] < 1 || sub[i] < 1 || sub[i] > size[i] || start[i] < 0 || start[i] > size[i] - sub[i])
                BAD("SUBARRAY dimension %d: size %d, subsize %d, start %d", i, size[i], sub[i], start[i]);
        break;
    }
    case C_DARRAY: {
        int size = in[0], rank = in[1], n = in[2];
        const int *g = in + 3, *dist = in + 3 + n, *darg = in + 3 + 2 * n, *ps = in + 3 + 3 * n;
        if (size < 1 || rank < 0 || rank >= size) BAD("DARRAY rank %d of %d", rank, size);
        int64_t prod = 1;
        for (int i = 0; i < n; i++) {
            if (g[i] < 1 || ps[i] < 1) BAD("DARRAY dimension %d: size %d over %d processes", i, g[i], ps[i]);
            if (dist[i] == W_BLOCK && darg[i] != W_DFLT_DARG && (int64_t)darg[i] * ps[i] < g[i])
                BAD("DARRAY dimension %d: blocks of %d on %d processes do not cover %d", i, darg[i], ps[i], g[i]);
            prod *= ps[i];
            if (prod > size) break;
        }
        if (n > 0 && prod != size) BAD("DARRAY process grid is not %d processes", size);
        break;
    }
    }
#undef BAD
    return 0;
}

/* ---- save ------------------------------------------------------------------------------ */
/* get_contents gives back new references to derived components (free them),
 * predefined ones as they are (F90 ones count as predefined) */
static void free_component(MPI_Datatype *t)
{
    int ni, na, nd, comb;
    if (PMPI_Type_get_envelope(*t, &ni, &na, &nd, &comb) == MPI_SUCCESS && comb != MPI_COMBINER_NAMED &&
        !is_f90(comb))
        PMPI_Type_free(t);
}

static int save_node(MPI_Datatype dt, int depth, wr *w, char *err, size_t errlen);

static int save_derived(MPI_Datatype dt, int comb, int ni, int na, int nd, int depth, wr *w, char *err,
                        size_t errlen)
{
    int c = combiner_code(comb);
    if (!c) return fail(err, errlen, "a datatype made by combiner %d (MPI_COMBINER_*_INTEGER or newer) "
                                     "cannot be rebuilt", comb);
    if (ni < 0 || na < 0 || nd < 0 || ni > (int)MAX_ITEMS || na > (int)MAX_ITEMS || nd > (int)MAX_ITEMS)
        return fail(err, errlen, "MPI_COMBINER_%s datatype with %d integers, %d addresses, %d types",
                    combiners[c].name, ni, na, nd);
    int *in = malloc(sizeof *in * ((size_t)ni + 1));
    MPI_Aint *ad = malloc(sizeof *ad * ((size_t)na + 1));
    MPI_Datatype *ty = malloc(sizeof *ty * ((size_t)nd + 1));
    int rc = -1, got = 0;
    if (!in || !ad || !ty) {
        fail(err, errlen, "out of memory for the contents of a datatype");
        goto out;
    }
    int mrc = PMPI_Type_get_contents(dt, ni, na, nd, in, ad, ty);
    if (mrc != MPI_SUCCESS) {
        fail_mpi(err, errlen, "MPI_Type_get_contents", mrc);
        goto out;
    }
    got = 1;
    if (check_shape(c, in, ni, na, nd, err, errlen) || translate(c, in, ni, 1, err, errlen) ||
        check_values(c, in, err, errlen))
        goto out;
    if (put_le(w, 'D', 1, err, errlen) || put_le(w, (uint64_t)c, 1, err, errlen) ||
        put_le(w, (uint32_t)ni, 4, err, errlen) || put_le(w, (uint32_t)na, 4, err, errlen) ||
        put_le(w, (uint32_t)nd, 4, err, errlen))
        goto out;
    for (int i = 0; i < ni; i++)
        if (put_le(w, (uint32_t)in[i], 4, err, errlen)) goto out;
    for (int i = 0; i < na; i++)
        if (put_le(w, (uint64_t)(int64_t)ad[i], 8, err, errlen)) goto out;
    for (int i = 0; i < nd; i++)
        if (save_node(ty[i], depth + 1, w, err, errlen)) goto out;
    rc = 0;
out:
    if (got)
        for (int i = 0; i < nd; i++) free_component(&ty[i]);
    free(in);
    free(ad);
    free(ty);
    return rc;
}

static int save_node(MPI_Datatype dt, int depth, wr *w, char *err, size_t errlen)
{
    if (depth > MAX_DEPTH) return fail(err, errlen, "a datatype nested deeper than %d constructors", MAX_DEPTH);
    if (dt == MPI_DATATYPE_NULL) return fail(err, errlen, "MPI_DATATYPE_NULL has no description");
    int ni, na, nd, comb;
    int mrc = PMPI_Type_get_envelope(dt, &ni, &na, &nd, &comb);
    if (mrc != MPI_SUCCESS) return fail_mpi(err, errlen, "MPI_Type_get_envelope", mrc);
    if (comb != MPI_COMBINER_NAMED) return save_derived(dt, comb, ni, na, nd, depth, w, err, errlen);
    const predef *pd = predef_of(dt);
    if (!pd) {
        char name[MPI_MAX_OBJECT_NAME] = "?";
        int nl = 0;
        PMPI_Type_get_name(dt, name, &nl);
        return fail(err, errlen, "predefined datatype %s has no code in px_types.c's table", name);
    }
    if (put_le(w, 'P', 1, err, errlen) || put_le(w, pd->code, 2, err, errlen)) return -1;
    return 0;
}

int px_type_save(MPI_Datatype dt, int committed, unsigned char **buf, size_t *len, size_t *cap, char *err,
                 size_t errlen)
{
    if (!buf || !len || !cap || *len > *cap) return fail(err, errlen, "px_type_save: bad buffer arguments");
    if (mpi_running(err, errlen)) return -1;
    wr w = { buf, len, cap, *len };
    MPI_Errhandler old = errors_return();
    int rc = put(&w, "PXT", 3, err, errlen) || put_le(&w, VERSION, 1, err, errlen) ||
                     put_le(&w, committed ? 1 : 0, 1, err, errlen) || save_node(dt, 0, &w, err, errlen)
                 ? -1
                 : 0;
    errors_restore(old);
    if (rc) *len = w.start;
    return rc;
}

/* ---- load ---------------------------------------------------------------------------------
 * Twice over the bytes: first only checked (nothing of MPI's made), then
 * built; so a truncated or corrupt description never leaves handles behind. */
typedef struct {
    MPI_Datatype t;
    int owned;   /* made here: freed once its parent holds it */
} built;

static void drop(built *b)
{
    if (b->owned) PMPI_Type_free(&b->t);
    b->owned = 0;
}

static int load_node(rd *r, int depth, int build, built *out, char *err, size_t errlen);

static int construct(int c, const int *in, const MPI_Aint *ad, const MPI_Datatype *ty, built *out, char *err,
                     size_t errlen)
{
    MPI_Datatype t = MPI_DATATYPE_NULL;
    int rc = MPI_SUCCESS, n = in ? in[0] : 0;
    switch (c) {
    case C_DUP: rc = PMPI_Type_dup(ty[0], &t); break;
    case C_CONTIGUOUS: rc = PMPI_Type_contiguous(in[0], ty[0], &t); break;
    case C_VECTOR: rc = PMPI_Type_vector(in[0], in[1], in[2], ty[0], &t); break;
    case C_HVECTOR: rc = PMPI_Type_create_hvector(in[0], in[1], ad[0], ty[0], &t); break;
    case C_INDEXED: rc = PMPI_Type_indexed(n, in + 1, in + 1 + n, ty[0], &t); break;
    case C_HINDEXED: rc = PMPI_Type_create_hindexed(n, in + 1, ad, ty[0], &t); break;
    case C_INDEXED_BLOCK: rc = PMPI_Type_create_indexed_block(n, in[1], in + 2, ty[0], &t); break;
    case C_HINDEXED_BLOCK: rc = PMPI_Type_create_hindexed_block(n, in[1], ad, ty[0], &t); break;
    case C_STRUCT: rc = PMPI_Type_create_struct(n, in + 1, ad, ty, &t); break;
    case C_SUBARRAY:
        rc = PMPI_Type_create_subarray(n, in + 1, in + 1 + n, in + 1 + 2 * n, in[1 + 3 * n], ty[0], &t);
        break;
    case C_DARRAY: {
        int k = in[2];
        rc = PMPI_Type_create_darray(in[0], in[1], k, in + 3, in + 3 + k, in + 3 + 2 * k, in + 3 + 3 * k,
                                     in[3 + 4 * k], ty[0], &t);
        break;
    }
    case C_RESIZED: rc = PMPI_Type_create_resized(ty[0], ad[0], ad[1], &t); break;
    case C_F90_REAL: rc = PMPI_Type_create_f90_real(in[0], in[1], &t); break;
    case C_F90_COMPLEX: rc = PMPI_Type_create_f90_complex(in[0], in[1], &t); break;
    case C_F90_INTEGER: rc = PMPI_Type_create_f90_integer(in[0], &t); break;
    }
    if (rc != MPI_SUCCESS) {
        char what[64];
        snprintf(what, sizeof what, "rebuilding a MPI_COMBINER_%s datatype", combiners[c].name);
        return fail_mpi(err, errlen, what, rc);
    }
    out->t = t;
    out->owned = c != C_F90_REAL && c != C_F90_COMPLEX && c != C_F90_INTEGER;
    return 0;
}

static int load_derived(rd *r, int depth, int build, built *out, char *err, size_t errlen)
{
    uint64_t c64;
    uint32_t ni, na, nd;
    if (get_le(r, 1, &c64, "combiner", err, errlen)) return -1;
    int c = (int)c64;
    if (c < 1 || c >= C_END) return fail(err, errlen, "corrupt description: combiner code %d at byte %zu", c,
                                         r->off - 1);
    if (get_count(r, &ni, "integer count", err, errlen) || get_count(r, &na, "address count", err, errlen) ||
        get_count(r, &nd, "type count", err, errlen))
        return -1;
    /* the arrays must be in the bytes left, and each component takes 3 bytes at least:
     * what is allocated below is bounded by n */
    if (check_room(r, 4ull * ni + 8ull * na + 3ull * nd, "the arguments", err, errlen)) return -1;
    int *in = malloc(sizeof *in * ((size_t)ni + 1));
    MPI_Aint *ad = malloc(sizeof *ad * ((size_t)na + 1));
    built *ty = calloc((size_t)nd + 1, sizeof *ty);
    MPI_Datatype *th = malloc(sizeof *th * ((size_t)nd + 1));
    int rc = -1;
    if (!in || !ad || !ty || !th) {
        fail(err, errlen, "out of memory for a description's arguments");
        goto out;
    }
    for (uint32_t i = 0; i < ni; i++) {
        uint64_t v;
        get_le(r, 4, &v, "integer", err, errlen);   /* room checked above */
        in[i] = (int)(int32_t)(uint32_t)v;
    }
    for (uint32_t i = 0; i < na; i++) {
        uint64_t v;
        get_le(r, 8, &v, "address", err, errlen);
        int64_t a = (int64_t)v;
        if (sizeof(MPI_Aint) < sizeof a && (a > (int64_t)(((uint64_t)1 << (8 * sizeof(MPI_Aint) - 1)) - 1) ||
                                            a < -(int64_t)((uint64_t)1 << (8 * sizeof(MPI_Aint) - 1)))) {
            fail(err, errlen, "address %lld does not fit MPI_Aint", (long long)a);
            goto out;
        }
        ad[i] = (MPI_Aint)a;
    }
    if (check_shape(c, in, ni, na, nd, err, errlen) || check_values(c, in, err, errlen) ||
        translate(c, in, (int)ni, 0, err, errlen))
        goto out;
    for (uint32_t i = 0; i < nd; i++) {
        if (load_node(r, depth + 1, build, &ty[i], err, errlen)) goto out;
        th[i] = ty[i].t;
    }
    rc = build ? construct(c, ni ? in : NULL, ad, th, out, err, errlen) : 0;
out:
    if (ty)
        for (uint32_t i = 0; i < nd; i++) drop(&ty[i]);
    free(in);
    free(ad);
    free(ty);
    free(th);
    return rc;
}

static int load_node(rd *r, int depth, int build, built *out, char *err, size_t errlen)
{
    out->t = MPI_DATATYPE_NULL;
    out->owned = 0;
    if (depth > MAX_DEPTH) return fail(err, errlen, "corrupt description: nested deeper than %d", MAX_DEPTH);
    uint64_t kind;
    if (get_le(r, 1, &kind, "node", err, errlen)) return -1;
    if (kind == 'D') return load_derived(r, depth, build, out, err, errlen);
    if (kind != 'P')
        return fail(err, errlen, "corrupt description: node kind 0x%02x at byte %zu", (unsigned)kind, r->off - 1);
    uint64_t code;
    if (get_le(r, 2, &code, "predefined code", err, errlen)) return -1;
    const predef *pd = predef_code((unsigned)code);
    if (!pd) return fail(err, errlen, "unknown predefined datatype code %u at byte %zu", (unsigned)code,
                         r->off - 2);
    out->t = pd->dt;
    return 0;
}

int px_type_load(const unsigned char *p, size_t n, MPI_Datatype *out, size_t *used, char *err, size_t errlen)
{
    if (out) *out = MPI_DATATYPE_NULL;
    if (!out || (!p && n)) return fail(err, errlen, "px_type_load: bad arguments");
    rd r = { p, n, 0 };
    uint64_t ver, flags;
    if (check_room(&r, 5, "the header:", err, errlen)) return -1;
    if (memcmp(p, "PXT", 3)) return fail(err, errlen, "not a datatype description (bad magic)");
    r.off = 3;
    get_le(&r, 1, &ver, "version", err, errlen);
    get_le(&r, 1, &flags, "flags", err, errlen);
    if (ver != VERSION) return fail(err, errlen, "datatype description version %u, this tern reads %u",
                                    (unsigned)ver, VERSION);
    if (flags & ~1ull) return fail(err, errlen, "corrupt description: flags 0x%02x", (unsigned)flags);
    if (mpi_running(err, errlen)) return -1;
    built b;
    if (load_node(&r, 0, 0, &b, err, errlen)) return -1;   /* checked: nothing made */
    size_t end = r.off;
    r.off = 5;
    MPI_Errhandler old = errors_return();
    int rc = load_node(&r, 0, 1, &b, err, errlen);
    if (rc == 0 && (flags & 1) && b.owned) {
        int mrc = PMPI_Type_commit(&b.t);
        if (mrc != MPI_SUCCESS) {
            drop(&b);
            rc = fail_mpi(err, errlen, "MPI_Type_commit", mrc);
        }
    }
    errors_restore(old);
    if (rc) return -1;
    *out = b.t;
    if (used) *used = end;
    return 0;
}

/* ---- groups ------------------------------------------------------------------------------- */
int px_group_save(MPI_Group g, unsigned char **buf, size_t *len, size_t *cap, char *err, size_t errlen)
{
    if (!buf || !len || !cap || *len > *cap) return fail(err, errlen, "px_group_save: bad buffer arguments");
    if (g == MPI_GROUP_NULL) return fail(err, errlen, "MPI_GROUP_NULL has no description");
    if (mpi_running(err, errlen)) return -1;
    wr w = { buf, len, cap, *len };
    MPI_Errhandler old = errors_return();
    MPI_Group world = MPI_GROUP_NULL;
    int *idx = NULL, *wr_ranks = NULL, n = 0, rc = -1, mrc;
    if ((mrc = PMPI_Group_size(g, &n)) != MPI_SUCCESS) {
        fail_mpi(err, errlen, "MPI_Group_size", mrc);
        goto out;
    }
    if ((mrc = PMPI_Comm_group(MPI_COMM_WORLD, &world)) != MPI_SUCCESS) {
        fail_mpi(err, errlen, "MPI_Comm_group(MPI_COMM_WORLD)", mrc);
        goto out;
    }
    idx = malloc(sizeof *idx * ((size_t)n + 1));
    wr_ranks = malloc(sizeof *wr_ranks * ((size_t)n + 1));
    if (!idx || !wr_ranks) {
        fail(err, errlen, "out of memory for a group of %d", n);
        goto out;
    }
    for (int i = 0; i < n; i++) idx[i] = i;
    if (n > 0 && (mrc = PMPI_Group_translate_ranks(g, n, idx, world, wr_ranks)) != MPI_SUCCESS) {
        fail_mpi(err, errlen, "MPI_Group_translate_ranks", mrc);
        goto out;
    }
    for (int i = 0; i < n; i++)
        if (wr_ranks[i] == MPI_UNDEFINED) {
            fail(err, errlen, "member %d of the group is not in MPI_COMM_WORLD", i);
            goto out;
        }
    if (put(&w, "PXG", 3, err, errlen) || put_le(&w, VERSION, 1, err, errlen) ||
        put_le(&w, (uint32_t)n, 4, err, errlen))
        goto out;
    for (int i = 0; i < n; i++)
        if (put_le(&w, (uint32_t)wr_ranks[i], 4, err, errlen)) goto out;
    rc = 0;
out:
    if (world != MPI_GROUP_NULL) PMPI_Group_free(&world);
    errors_restore(old);
    free(idx);
    free(wr_ranks);
    if (rc) *len = w.start;
    return rc;
}

int px_group_load(const unsigned char *p, size_t n, MPI_Group *out, size_t *used, char *err, size_t errlen)
{
    if (out) *out = MPI_GROUP_NULL;
    if (!out || (!p && n)) return fail(err, errlen, "px_group_load: bad arguments");
    rd r = { p, n, 0 };
    uint64_t ver;
    uint32_t k;
    if (check_room(&r, 4, "the header:", err, errlen)) return -1;
    if (memcmp(p, "PXG", 3)) return fail(err, errlen, "not a group description (bad magic)");
    r.off = 3;
    get_le(&r, 1, &ver, "version", err, errlen);
    if (ver != VERSION) return fail(err, errlen, "group description version %u, this tern reads %u",
                                    (unsigned)ver, VERSION);
    if (get_count(&r, &k, "member count", err, errlen)) return -1;
    if (check_room(&r, 4ull * k, "the members:", err, errlen)) return -1;
    if (mpi_running(err, errlen)) return -1;
    int wsize = 0;
    PMPI_Comm_size(MPI_COMM_WORLD, &wsize);
    if (k > (uint32_t)wsize)
        return fail(err, errlen, "a group of %u members, MPI_COMM_WORLD has %d", (unsigned)k, wsize);
    int *ranks = malloc(sizeof *ranks * ((size_t)k + 1));
    unsigned char *seen = calloc((size_t)wsize + 1, 1);
    int rc = -1;
    if (!ranks || !seen) {
        fail(err, errlen, "out of memory for a group of %u", (unsigned)k);
        goto out;
    }
    for (uint32_t i = 0; i < k; i++) {
        uint64_t v;
        get_le(&r, 4, &v, "member", err, errlen);   /* room checked above */
        int32_t wrk = (int32_t)(uint32_t)v;
        if (wrk < 0 || wrk >= wsize) {
            fail(err, errlen, "group member %u is world rank %d, MPI_COMM_WORLD has %d", (unsigned)i, wrk, wsize);
            goto out;
        }
        if (seen[wrk]++) {
            fail(err, errlen, "corrupt description: world rank %d twice in a group", wrk);
            goto out;
        }
        ranks[i] = wrk;
    }
    if (k == 0) {
        *out = MPI_GROUP_EMPTY;
        rc = 0;
    } else {
        MPI_Errhandler old = errors_return();
        MPI_Group world = MPI_GROUP_NULL;
        int mrc = PMPI_Comm_group(MPI_COMM_WORLD, &world);
        if (mrc == MPI_SUCCESS) mrc = PMPI_Group_incl(world, (int)k, ranks, out);
        if (world != MPI_GROUP_NULL) PMPI_Group_free(&world);
        errors_restore(old);
        if (mrc != MPI_SUCCESS) {
            *out = MPI_GROUP_NULL;
            fail_mpi(err, errlen, "MPI_Group_incl", mrc);
        } else {
            rc = 0;
        }
    }
out:
    free(ranks);
    free(seen);
    if (rc == 0 && used) *used = r.off;
    return rc;
}
