/* regions.c: protected regions -- what the application registers to survive
 * a restart (tern_protect, tern_unprotect) and where a buffer lies in them.
 * Separate because it is the one list every phase reads and only the
 * application, through tern.h, changes.
 */
#define _GNU_SOURCE
#include "regions.h"
#include "tern.h"
#include "report.h"
#include "tern_store.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

region *regions;
static uint64_t regions_gen = 1;   /* bumped by tern_protect/unprotect: caches regions_hash() */

region *find_region(const char *name)
{
    for (region *r = regions; r; r = r->next)
        if (!strcmp(r->name, name)) return r;
    return NULL;
}

static int valid_name(const char *n)
{
    size_t l = strlen(n);
    if (l == 0 || l > 200) return 0;
    for (size_t i = 0; i < l; i++) {
        char c = n[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '-'))
            return 0;
    }
    return strncmp(n, "_tern", 5) != 0;
}

/* The element kind a predefined type is stored as (tern_store.h), by the
 * class of the type and its size; the store checks that the size fits.
 * MPI_BYTE is untyped by definition and stays opaque, like every derived
 * type (a struct has no one HDF5 type tern could name for it). */
static int elem_kind(MPI_Datatype t)
{
    const struct { MPI_Datatype t; int kind; } map[] = {   /* not static: MPI's handles need not be constants */
        {MPI_FLOAT, TERN_ELEM_FLOAT}, {MPI_DOUBLE, TERN_ELEM_FLOAT},
        {MPI_REAL, TERN_ELEM_FLOAT}, {MPI_DOUBLE_PRECISION, TERN_ELEM_FLOAT},
        {MPI_CHAR, TERN_ELEM_INT}, {MPI_SIGNED_CHAR, TERN_ELEM_INT},
        {MPI_SHORT, TERN_ELEM_INT}, {MPI_INT, TERN_ELEM_INT}, {MPI_LONG, TERN_ELEM_INT},
        {MPI_LONG_LONG, TERN_ELEM_INT}, {MPI_INT8_T, TERN_ELEM_INT},
        {MPI_INT16_T, TERN_ELEM_INT}, {MPI_INT32_T, TERN_ELEM_INT},
        {MPI_INT64_T, TERN_ELEM_INT}, {MPI_AINT, TERN_ELEM_INT}, {MPI_OFFSET, TERN_ELEM_INT},
        {MPI_COUNT, TERN_ELEM_INT}, {MPI_INTEGER, TERN_ELEM_INT},
        {MPI_UNSIGNED_CHAR, TERN_ELEM_UINT}, {MPI_UNSIGNED_SHORT, TERN_ELEM_UINT},
        {MPI_UNSIGNED, TERN_ELEM_UINT}, {MPI_UNSIGNED_LONG, TERN_ELEM_UINT},
        {MPI_UNSIGNED_LONG_LONG, TERN_ELEM_UINT}, {MPI_UINT8_T, TERN_ELEM_UINT},
        {MPI_UINT16_T, TERN_ELEM_UINT}, {MPI_UINT32_T, TERN_ELEM_UINT},
        {MPI_UINT64_T, TERN_ELEM_UINT},
        {MPI_C_FLOAT_COMPLEX, TERN_ELEM_COMPLEX}, {MPI_C_DOUBLE_COMPLEX, TERN_ELEM_COMPLEX},
        {MPI_COMPLEX, TERN_ELEM_COMPLEX}, {MPI_DOUBLE_COMPLEX, TERN_ELEM_COMPLEX},
        /* what the Fortran binding (fortran/tern_f.c) passes */
        {MPI_INTEGER1, TERN_ELEM_INT}, {MPI_INTEGER2, TERN_ELEM_INT},
        {MPI_INTEGER4, TERN_ELEM_INT}, {MPI_INTEGER8, TERN_ELEM_INT},
        {MPI_REAL4, TERN_ELEM_FLOAT}, {MPI_REAL8, TERN_ELEM_FLOAT},
        {MPI_COMPLEX8, TERN_ELEM_COMPLEX}, {MPI_COMPLEX16, TERN_ELEM_COMPLEX},
    };
    int size = 0;
    MPI_Aint lb, extent;
    if (PMPI_Type_size(t, &size) != MPI_SUCCESS ||
        PMPI_Type_get_extent(t, &lb, &extent) != MPI_SUCCESS || lb != 0 || extent != size)
        return TERN_ELEM_OPAQUE;
    for (size_t i = 0; i < sizeof map / sizeof *map; i++)
        if (t == map[i].t) {
            int k = map[i].kind;
            int fits = k == TERN_ELEM_FLOAT ? size == 4 || size == 8
                     : k == TERN_ELEM_COMPLEX ? size == 8 || size == 16
                     : size == 1 || size == 2 || size == 4 || size == 8;
            return fits ? k : TERN_ELEM_OPAQUE;
        }
    return TERN_ELEM_OPAQUE;
}

int tern_protect(const char *name, void *ptr, int64_t count, MPI_Datatype type)
{
    int64_t dims[1] = {count};
    return tern_protect_shape(name, ptr, 1, dims, type);
}

int tern_protect_shape(const char *name, void *ptr, int ndims, const int64_t *dims,
                       MPI_Datatype type)
{
    if (ndims < 1 || ndims > TERN_ARRAY_MAX_DIMS || !dims) {
        say("tern_protect_shape(%s): ndims %d (1..%d) or no dims", name ? name : "(null)",
            ndims, TERN_ARRAY_MAX_DIMS);
        return -1;
    }
    int64_t count = 1;
    for (int k = 0; k < ndims; k++)
        if (dims[k] < 0 || (k > 0 && dims[k] == 0) ||
            __builtin_mul_overflow(count, dims[k], &count)) {
            say("tern_protect_shape(%s): bad extent %" PRId64 " of dimension %d",
                name ? name : "(null)", dims[k], k);
            return -1;
        }
    if (!name || !valid_name(name)) {
        say("tern_protect: invalid name '%s' (1..200 of [A-Za-z0-9_.-], not starting with _tern)",
            name ? name : "(null)");
        return -1;
    }
    if (count < 0 || (count > 0 && !ptr)) {
        say("tern_protect(%s): bad pointer or count", name);
        return -1;
    }
    MPI_Aint lb, extent;
    if (PMPI_Type_get_extent(type, &lb, &extent) != MPI_SUCCESS || extent <= 0) {
        say("tern_protect(%s): bad datatype", name);
        return -1;
    }
    region *r = find_region(name);
    if (!r) {
        r = calloc(1, sizeof *r);
        snprintf(r->name, sizeof r->name, "%s", name);
        /* append: keep registration order */
        region **pp = &regions;
        while (*pp) pp = &(*pp)->next;
        *pp = r;
    }
    r->ptr = ptr;
    r->count = count;
    r->type = type;
    r->elem = (size_t)extent;
    r->bytes = (size_t)extent * (size_t)count;
    r->kind = elem_kind(type);
    r->ndims = ndims;
    memset(r->dims, 0, sizeof r->dims);
    memcpy(r->dims, dims, sizeof *dims * (size_t)ndims);
    regions_gen++;
    return 0;
}

int tern_unprotect(const char *name)
{
    for (region **pp = &regions; *pp; pp = &(*pp)->next) {
        if (!strcmp((*pp)->name, name)) {
            region *r = *pp;
            *pp = r->next;
            free(r);
            regions_gen++;
            return 0;
        }
    }
    say("tern_unprotect: no region named '%s'", name ? name : "(null)");
    return -1;
}

/* Where does [buf, buf+len) live? 0 and (region, offset) if inside one. */
region *locate(const void *buf, size_t len, uint64_t *off)
{
    const char *b = buf;
    for (region *r = regions; r; r = r->next) {
        const char *p = r->ptr;
        if (b >= p && b + len <= p + r->bytes && (len > 0 || b < p + r->bytes || b == p)) {
            *off = (uint64_t)(b - p);
            return r;
        }
    }
    return NULL;
}

static int region_cmp(const void *a, const void *b)
{
    return strcmp((*(region *const *)a)->name, (*(region *const *)b)->name);
}

region **regions_sorted(int *nreg)
{
    int n = 0;
    for (region *r = regions; r; r = r->next) n++;
    region **v = malloc(sizeof(region *) * (size_t)(n + 1));
    n = 0;
    for (region *r = regions; r; r = r->next) v[n++] = r;
    qsort(v, (size_t)n, sizeof *v, region_cmp);
    *nreg = n;
    return v;
}

uint64_t regions_hash(void)
{
    static uint64_t cached, cached_gen;
    if (cached_gen == regions_gen) return cached;
    int n;
    region **v = regions_sorted(&n);
    uint64_t h = 1469598103934665603ULL;
    for (int i = 0; i < n; i++) {
        for (const char *p = v[i]->name; *p; p++) h = (h ^ (unsigned char)*p) * 1099511628211ULL;
        h = (h ^ v[i]->elem) * 1099511628211ULL;
        /* one global dataset has one type and row shape: regions that
         * differ there between ranks are saved per rank */
        h = (h ^ (uint64_t)v[i]->kind) * 1099511628211ULL;
        h = (h ^ (uint64_t)v[i]->ndims) * 1099511628211ULL;
        for (int k = 1; k < v[i]->ndims; k++) h = (h ^ (uint64_t)v[i]->dims[k]) * 1099511628211ULL;
        h = (h ^ 0xff) * 1099511628211ULL;
    }
    free(v);
    cached = h;
    cached_gen = regions_gen;
    return h;
}
