/* ckpt_mut: changing one value of a tern checkpoint, the way a damaged or
 * hostile file would have it, for the tests of bad input (ckpt_edit, the
 * storage.hostile.* tests) and the structure-aware fuzzer (tests/fuzz/).
 *
 * Two kinds of edit, both leaving HDF5's own metadata valid so that what is
 * tested is tern's reader and not HDF5's:
 *   - attribute values, rewritten through the HDF5 API with the attribute's
 *     own type (so any bit pattern goes in: 2^64-1 into a uint64, -1 into an
 *     int32);
 *   - fields of tern's tables (segments, chunks, arrays_crc) and bytes of its
 *     data sets, found with H5Dget_offset and the table's own compound type
 *     and then changed in the file's bytes, as a flipped bit on disk would.
 * Nothing here trusts the file: every open, type and size is checked, and an
 * edit that does not apply returns -1.
 */
#ifndef TERN_TESTS_CKPT_MUT_H
#define TERN_TESTS_CKPT_MUT_H

#include <hdf5.h>
#include <stddef.h>
#include <stdint.h>

#define CM_MAX_MEMBERS 16

/* A contiguous, allocated data set: where its bytes lie in the file. For a
 * compound type, its members (name, offset in a row, size, class). */
typedef struct cm_table {
    uint64_t file_off;        /* H5Dget_offset */
    uint64_t bytes;           /* H5Dget_storage_size */
    uint64_t nrows;
    size_t row;               /* bytes per row (H5Tget_size of the file type) */
    int nmembers;             /* 0 unless compound */
    struct {
        char name[32];
        size_t off, size;
        H5T_class_t cls;
    } m[CM_MAX_MEMBERS];
} cm_table;

/* HDF5 printing off for the whole process (the tools report one line). */
void cm_quiet(void);

/* H5Fopen without file locking (as tern's reader opens checkpoints). */
hid_t cm_open(const char *file, unsigned mode);

/* The layout of data set PATH of the open file f; -1 when it is not a
 * contiguous, allocated data set of a fixed-size type. */
int cm_table_get(hid_t f, const char *path, cm_table *t);

/* Index of member NAME in t, or -1. */
int cm_member(const cm_table *t, const char *name);

/* v (little-endian, the low `size` bytes) into buf. */
void cm_put_le(unsigned char *buf, size_t size, uint64_t v);

/* Element idx of attribute NAME of object OBJ (a path in f, "/" for the
 * root) set to v: the low bytes of v, in the attribute's own type, for an
 * integer attribute; for a fixed-length string, byte idx set to (char)v.
 * f must be open read-write. */
int cm_attr_set(hid_t f, const char *obj, const char *name, uint64_t idx, uint64_t v);

/* Where row ROW's member FIELD lies in the file: *off and *size; -1 when
 * there is no such row or member. */
int cm_field_where(const cm_table *t, uint64_t row, const char *field, uint64_t *off,
                   size_t *size);

/* Segment table TABLE (/ranks/RRRRRR/segments) sealed again: its "crc"
 * attribute (format 1.2) set, or created, to the CRC32 of the table's
 * bytes as they now lie in the file, as a writer that made the table so
 * would have it. Edits of a table's values then reach the reader's checks
 * of its structure instead of stopping at the CRC. f open read-write. 0,
 * or -1 when there is no such table. */
int cm_seal_segments(hid_t f, const char *table);

/* Address of object OBJ's header (H5Oget_info_by_name); -1 when none. */
int cm_header_addr(hid_t f, const char *obj, uint64_t *addr);

/* The body of a message of TYPE in the version 1 object header at addr of
 * the file open on fd (for TYPE 0x000c, attribute messages, the one named
 * attr): its file offset and length. -1 when there is none. Used to damage
 * one field of an attribute, dataspace or layout message as a flipped bit
 * on disk would, which the HDF5 API cannot do. */
int cm_find_msg(int fd, uint64_t addr, unsigned type, const char *attr, uint64_t *off,
                uint64_t *len);

#endif
