/* The structure of an HDF5 object header, checked before HDF5 decodes it.
 *
 * HDF5 1.10 decodes the messages of an object header (attributes, datatypes,
 * dataspaces, layouts) without checking them against the bytes they came
 * from: a damaged size field in an attribute message makes H5Aexists,
 * H5Aopen or H5Aiterate read far outside the header and crash, a damaged
 * integer type makes H5Aread crash in its conversion, a damaged layout makes
 * H5Dopen crash (found by mutating checkpoints byte by byte: docs/storage.md,
 * "Bad input"). HDF5 cannot be fixed from here, so the reader does not hand
 * it such a header: before it opens an object or reads its attributes, it
 * reads the object's header from the file itself and parses every message
 * HDF5 would decode, within the bounds of the message, the header chunk and
 * the file. Whatever tern never writes is refused outright: shared
 * (committed) messages, filters, external data files, dense attribute
 * storage, link messages, datatype classes other than integer, float,
 * string, opaque and compound (of integers, floats and strings).
 *
 * Headers of version 1 (what the writer produces: default library version
 * bounds) and version 2 ("OHDR", whose chunks HDF5 checksums itself) are
 * parsed alike. Addresses and lengths are 8 bytes (the reader checks the
 * file's sizes first). Nothing here calls HDF5.
 */
#ifndef TERN_STORAGE_H5CHECK_H
#define TERN_STORAGE_H5CHECK_H

#include <stddef.h>
#include <stdint.h>

/* H5T classes the checker accepts (the values of HDF5's H5T_class_t). */
enum {
    TERN_H5T_INTEGER = 0,
    TERN_H5T_FLOAT = 1,
    TERN_H5T_STRING = 3,
    TERN_H5T_OPAQUE = 5,
    TERN_H5T_COMPOUND = 6,
};

/* Layout classes (as in the file). */
enum { TERN_H5L_NONE = -1, TERN_H5L_COMPACT = 0, TERN_H5L_CONTIGUOUS = 1 };

#define TERN_H5_UNDEF UINT64_MAX   /* an address never allocated */

/* What the header says, for the caller's own checks. */
typedef struct tern_h5_hdr {
    int is_group;             /* has a symbol table message */
    int is_dataset;           /* has a datatype, a dataspace and a layout */
    int type_class;           /* data set: its type's class (TERN_H5T_*) */
    uint64_t type_size;       /* and size in bytes */
    int rank;                 /* data set: 0 scalar, else dimensions */
    uint64_t npoints;         /* elements (1 for a scalar) */
    int layout;               /* TERN_H5L_* */
    uint64_t addr, bytes;     /* contiguous: where its bytes lie (addr may be
                                 TERN_H5_UNDEF when nothing was allocated) */
    unsigned nattrs;
    int has_attr;             /* a sound attribute message named as asked came
                                 before whatever was refused, if anything */
} tern_h5_hdr;

/* Reads and checks the object header at addr of the file open on fd (of
 * size fsize). Returns 0 and fills h; -1 with a short reason in why. attr
 * (or NULL) names an attribute to look for (h->has_attr): the reader tells
 * a foreign HDF5 file from a damaged checkpoint by it. */
int tern_h5_check_header(int fd, uint64_t fsize, uint64_t addr, const char *attr,
                         tern_h5_hdr *h, char *why, size_t len);

#endif
