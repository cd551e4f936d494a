/* regions.c: protected regions -- what the application registers to survive
 * a restart (tern_protect, tern_unprotect) and where a buffer lies in them.
 * Separate because it is the one list every phase reads and only the
 * application, through tern.h, changes.
 */
#define _GNU_SOURCE
#include "regions.h"
#include "tern.h"
#include "report.h"

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

int tern_protect(const char *name, void *ptr, int64_t count, MPI_Datatype type)
{
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
        h = (h ^ 0xff) * 1099511628211ULL;
    }
    free(v);
    cached = h;
    cached_gen = regions_gen;
    return h;
}
