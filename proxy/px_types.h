/* px_types.h: derived datatypes and groups as bytes, and back (px_types.c).
 *
 * At a checkpoint the proxy saves the datatypes and groups the application
 * holds; after a restart (a new MPI_Init, maybe on other nodes) a new proxy
 * rebuilds equivalent handles from these bytes. A description is
 * self-contained: predefined datatypes by a stable code (never by their
 * address, which moves between runs), derived ones by their constructor and
 * its arguments, groups by the MPI_COMM_WORLD ranks of their members. The
 * format is private to px_types.c; loads check every byte against n and cap
 * every allocation, so a truncated or corrupt description is refused (-1 and
 * one line in err), never read past.
 *
 * Only mpi.h and libc: the module calls PMPI_* and names no other part, so a
 * test can compile it alone. While it works it sets MPI_ERRORS_RETURN on
 * MPI_COMM_WORLD (where Open MPI reports datatype and group errors) and puts
 * the previous handler back, so a bad description is an error, not an abort.
 */
#ifndef TERN_PROXY_PX_TYPES_H
#define TERN_PROXY_PX_TYPES_H

#include <mpi.h>
#include <stddef.h>

#pragma GCC visibility push(hidden)

/* Appends to *buf (grown with realloc; *len bytes used, *cap allocated) the
 * description of dt: predefined datatypes by code, derived ones as their
 * combiner, integers, addresses and component datatypes, recursively
 * (PMPI_Type_get_envelope / PMPI_Type_get_contents). committed says whether
 * the application committed dt (MPI has no query for it); px_type_load
 * commits the rebuilt type if so. Rebuilt combiners: NAMED, DUP, CONTIGUOUS,
 * VECTOR, HVECTOR, INDEXED, HINDEXED, INDEXED_BLOCK, HINDEXED_BLOCK, STRUCT,
 * SUBARRAY, DARRAY, RESIZED, F90_REAL, F90_COMPLEX, F90_INTEGER. Returns 0,
 * or -1 with a one-line why in err (another combiner, a predefined type with
 * no code, MPI_DATATYPE_NULL, a description over 64 MiB); *len is then as it
 * was. */
int px_type_save(MPI_Datatype dt, int committed, unsigned char **buf, size_t *len, size_t *cap, char *err,
                 size_t errlen);

/* Rebuilds a datatype from the description px_type_save wrote at p (at most n
 * bytes readable); *used = the bytes it took. Predefined ones (and F90 ones)
 * come back as MPI's own handle, which must not be freed; derived ones as a
 * new handle the caller frees, committed if it was saved committed. Returns
 * 0, or -1 with why in err and *out = MPI_DATATYPE_NULL. */
int px_type_load(const unsigned char *p, size_t n, MPI_Datatype *out, size_t *used, char *err, size_t errlen);

/* Appends the description of group g: the MPI_COMM_WORLD ranks of its
 * members, in its rank order (PMPI_Group_translate_ranks against the world
 * group). MPI_GROUP_EMPTY round-trips. Returns 0, or -1 with why (a member
 * outside MPI_COMM_WORLD, MPI_GROUP_NULL); *len is then as it was. */
int px_group_save(MPI_Group g, unsigned char **buf, size_t *len, size_t *cap, char *err, size_t errlen);

/* Rebuilds a group from its description at p (n bytes): PMPI_Group_incl on
 * MPI_COMM_WORLD's group, or MPI_GROUP_EMPTY for no members. A saved rank not
 * in this run's MPI_COMM_WORLD is refused. The caller frees *out
 * (MPI_Group_free) unless it is MPI_GROUP_EMPTY. *used = bytes taken.
 * Returns 0, or -1 with why and *out = MPI_GROUP_NULL. */
int px_group_load(const unsigned char *p, size_t n, MPI_Group *out, size_t *used, char *err, size_t errlen);

#pragma GCC visibility pop
#endif
