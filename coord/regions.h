/* regions.h: protected regions (tern_protect, tern_unprotect).
 *
 * Owner: regions.c writes the list (tern_protect/tern_unprotect only). The
 * checkpoint stores the regions, restart.c reads into them and handles.c
 * rewrites predefined handles inside them: all of them only walk the list.
 */
#ifndef TERN_COORD_REGIONS_H
#define TERN_COORD_REGIONS_H

#include <mpi.h>
#include <stddef.h>
#include <stdint.h>

#pragma GCC visibility push(hidden)

typedef struct region {
    char name[208];
    void *ptr;
    int64_t count;
    MPI_Datatype type;
    size_t elem;      /* extent of type */
    size_t bytes;
    /* How the global array is typed and shaped in the file (tern_store.h):
     * kind from the predefined type (opaque for derived types, MPI_BYTE and
     * the rest), ndims 1 unless tern_protect_shape gave a shape; dims[1..]
     * are the extents of one row, dims[0] this rank's rows. */
    int kind;
    int ndims;
    int64_t dims[8];
    struct region *next;
} region;

/* In registration order. */
extern region *regions;

region *find_region(const char *name);
/* Where does [buf, buf+len) live? 0 and (region, offset) if inside one. */
region *locate(const void *buf, size_t len, uint64_t *off);
/* The regions sorted by name (the same order on every rank, whatever the
 * registration order): *nreg of them; free() the array. */
region **regions_sorted(int *nreg);
/* Hash of the sorted names, element sizes, kinds and row extents: equal on every rank when all
 * protect the same names and types (then they are stored as global arrays).
 * Cached until the next tern_protect/tern_unprotect. */
uint64_t regions_hash(void);

#pragma GCC visibility pop
#endif
