/* HDF5 layout of a checkpoint file: names, record types and attribute
 * helpers shared by the writer and the reader. docs/format.md is the prose
 * version of this header; change both together.
 *
 *   /                       attributes (format version, job, epoch, ...)
 *   /attrs                  string attributes from tern_ckpt_set_attr
 *   /nodes/NNNNNN           one group per node: host, ranks, topology (hwloc XML)
 *   /ranks/RRRRRR/segments  that rank's segment table (seg_rec)
 *   /ranks/RRRRRR/chunks    that rank's chunk index (chunk_rec)
 *   /ranks/RRRRRR/data.K    stored chunk bytes of write round K (uint8)
 *   /ranks/RRRRRR/view/NAME virtual uint8 view of a RAW/ZERO segment (views.h)
 *   /arrays/NAME            global arrays: typed (tern_elem_kind) or opaque
 *                           elements, 1-D or the shape given at put
 *   /arrays_crc/NAME        CRC32 of each rank's slab, in pieces (array_crc_rec)
 */
#ifndef TERN_STORAGE_LAYOUT_H
#define TERN_STORAGE_LAYOUT_H

#include <hdf5.h>
#include <stdint.h>

#include "error.h"

#define TERN_FORMAT_MINOR 2
/* Minor 1: every RAW chunk whose logical length is a multiple of
 * TERN_RAW_ALIGN starts at a file offset that is a multiple of it (root
 * attribute raw_align), so a reader can mmap it. Readers check the actual
 * offset and never rely on the attribute.
 * Minor 2: every segment table carries the CRC32 of its bytes, attribute
 * TERN_SEG_CRC_ATTR of /ranks/RRRRRR/segments (uint32); readers check it
 * where it is, and require it in files of minor 2 and later. */
#define TERN_FORMAT_MINOR_SEG_CRC 2
#define TERN_SEG_CRC_ATTR "crc"
#define TERN_RAW_ALIGN 4096u
#define TERN_NAME_MAX 200
#define TERN_SEG_NAME_FIELD 208     /* NUL-padded name field in seg_rec */
#define TERN_ARRAY_CRC_PIECE (1u << 20)  /* bytes per array CRC piece */

typedef struct seg_rec {
    char name[TERN_SEG_NAME_FIELD];
    uint64_t size;            /* logical bytes */
    uint64_t stored;          /* bytes stored over all its chunks */
    uint64_t first_chunk;     /* index of its first row in chunks */
    uint64_t nchunks;
} seg_rec;

typedef struct chunk_rec {
    uint32_t data;            /* K of the data.K dataset holding it */
    uint32_t kind;            /* TERN_CHUNK_* (codec.h) */
    uint64_t offset;          /* byte offset in data.K */
    uint32_t raw;             /* logical bytes */
    uint32_t stored;          /* stored bytes */
    uint32_t crc;             /* CRC32 of the logical bytes */
    uint32_t reserved;
} chunk_rec;

typedef struct array_crc_rec {
    uint64_t offset;          /* first element */
    uint64_t count;           /* elements */
    uint32_t crc;             /* CRC32 of those elements' bytes */
    uint32_t rank;            /* rank that wrote them */
} array_crc_rec;

/* HDF5 types for the records (created once, never closed). */
hid_t tern_h5_seg_type(void);
hid_t tern_h5_chunk_type(void);
hid_t tern_h5_array_crc_type(void);

/* The dataset type of a global array's elements (tern_elem_kind of es
 * bytes; close it), or -1 when the kind has no type of that size. */
hid_t tern_h5_elem_type(int kind, size_t es);
/* The kind of a dataset type that is exactly what tern_h5_elem_type makes
 * for it, else -1. */
int tern_h5_elem_kind(hid_t t);

/* HDF5's default error printing goes to stderr in many lines; tern reports
 * its own one-line errors, so every entry point silences it. */
void tern_h5_quiet(void);

/* The public entry points mute HDF5's printing only while they run and then
 * restore what was there: in API mode tern lives inside an application that
 * may use HDF5 itself and expects its own error reporting. */
typedef struct tern_h5_mute_t {
    H5E_auto2_t fn;
    void *data;
} tern_h5_mute_t;

static inline tern_h5_mute_t tern_h5_mute(void)
{
    tern_h5_mute_t m = {NULL, NULL};
    H5Eget_auto2(H5E_DEFAULT, &m.fn, &m.data);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    return m;
}

static inline void tern_h5_unmute(tern_h5_mute_t m)
{
    H5Eset_auto2(H5E_DEFAULT, m.fn, m.data);
}

/* HDF5 1.10 leaks internal state when it fails on a damaged file, and
 * its atexit handler then prints "HDF5: infinite loop closing library" and
 * a list of ids after tern's one-line error, unless error printing is off.
 * After any failure the reader calls this: printing is turned off at
 * exit, just before HDF5's own handler runs (registered later, run
 * earlier), so that the process's last word stays tern's. */
void tern_h5_quiet_at_exit(void);

/* The end of a reader's entry point: printing restored, and after a
 * failure (a damaged file may have left HDF5 with such state) off at exit.
 * Returns rc. */
static inline int tern_h5_reader_done(tern_h5_mute_t m, int rc)
{
    if (rc)
        tern_h5_quiet_at_exit();
    tern_h5_unmute(m);
    return rc;
}

/* Innermost HDF5 error description (for messages), "" if none. */
void tern_h5_last_error(char *buf, size_t len);

void tern_rank_group(int rank, char *buf, size_t len);   /* "/ranks/000003" */

/* A segment or array name as the writer accepts it: [A-Za-z0-9_.-]{1,200},
 * not "." or "..", NUL-terminated within the first `field` bytes of n (a
 * name read from a file may not be terminated at all). */
int tern_name_ok(const char *n, size_t field);

/* Root/group attributes. Writing is collective in parallel HDF5: every rank
 * must call with identical values. */
int tern_attr_put_str(hid_t obj, const char *name, const char *value);
int tern_attr_put_u64(hid_t obj, const char *name, uint64_t v);
int tern_attr_put_i64(hid_t obj, const char *name, int64_t v);
int tern_attr_put_u32(hid_t obj, const char *name, uint32_t v);
int tern_attr_put_i32(hid_t obj, const char *name, int32_t v);
int tern_attr_put_i32s(hid_t obj, const char *name, const int32_t *v, size_t n);
int tern_attr_put_u64s(hid_t obj, const char *name, const uint64_t *v, size_t n);

/* Reading; -1 when missing or of the wrong shape: an integer attribute must
 * be a plain integer type (precision = size, offset 0) of at most 8 bytes,
 * a string a fixed-length one; scalars have one element. The object's
 * header must have passed tern_h5_check_header (h5check.h) first: HDF5
 * 1.10 decodes attribute messages without bounds checks. */
int tern_attr_get_str(hid_t obj, const char *name, char *buf, size_t len);
char *tern_attr_get_str_alloc(hid_t obj, const char *name);  /* free() */
int tern_attr_get_u64(hid_t obj, const char *name, uint64_t *v);
int tern_attr_get_i64(hid_t obj, const char *name, int64_t *v);
int tern_attr_get_u32(hid_t obj, const char *name, uint32_t *v);
int tern_attr_get_i32(hid_t obj, const char *name, int32_t *v);
/* 1-D integer attribute read into a malloc'ed array of n elements. */
int tern_attr_get_i32s(hid_t obj, const char *name, int32_t **v, size_t *n);
int tern_attr_get_u64s(hid_t obj, const char *name, uint64_t **v, size_t *n);

#endif
