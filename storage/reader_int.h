/* Internals shared by the reader's modules (reader.c: open, info, the
 * public entry points; read_obj.c: opening objects whose headers have been
 * checked; read_seg.c: rank tables, chunk index, chunk decoding;
 * read_arrays.c: global arrays; read_extents.c: where a segment's bytes lie
 * in the file; read_verify.c: checking a whole checkpoint).
 *
 * Every number read from the file is input: counts, sizes and offsets are
 * checked against the file's size and the format's limits before anything
 * is allocated or read, with overflow-checked arithmetic (tern_r_add,
 * tern_r_mul), and no object reaches HDF5 before its header passed
 * h5check.h. */
#ifndef TERN_STORAGE_READER_INT_H
#define TERN_STORAGE_READER_INT_H

#include <hdf5.h>
#include <stdint.h>

#include "codec.h"
#include "h5check.h"
#include "layout.h"
#include "tern_store.h"

struct tern_ckpt {
    hid_t file;
    int fd;                   /* HDF5's own descriptor (sec2), not ours to close */
    uint64_t fsize;           /* the file's size when opened: every offset and
                                 size read from it is bounded by it */
    uint64_t chunk_bytes;     /* root attribute: every chunk but a segment's
                                 last holds exactly this many bytes */
    int api;                  /* an API-mode checkpoint (/attrs/tern_mode "api") */
    int protocol;             /* and its /attrs/tern_protocol */
    int minor;                /* root attribute tern_format_minor (0 when missing) */
    tern_ckpt_info info;
};

/* a + b and a * b into *r; non-zero when they overflow. */
static inline int tern_r_add(uint64_t a, uint64_t b, uint64_t *r)
{
    return __builtin_add_overflow(a, b, r);
}
static inline int tern_r_mul(uint64_t a, uint64_t b, uint64_t *r)
{
    return __builtin_mul_overflow(a, b, r);
}

/* ---- objects (read_obj.c) ---------------------------------------------- */

/* Opens group or data set NAME of loc: the link must exist, the object must
 * be of that kind and its header must pass tern_h5_check_header (then HDF5
 * may decode it and its attributes). Returns 0 with *out (and *h, when not
 * NULL); 1 when there is no such link; -1 when it is refused, with why. */
int tern_r_open_obj(const tern_ckpt *c, hid_t loc, const char *name, int dataset, hid_t *out,
                    tern_h5_hdr *h, char *why, size_t len);

/* Data set NAME of loc as the writer makes every one but the topology:
 * 1-D, contiguous, npoints elements of a fixed-size type filling exactly
 * its bytes in the file. With type >= 0 its type must equal it (then
 * H5Dread copies rows without conversion). Returns as tern_r_open_obj, the
 * element count in *n. */
int tern_r_open_1d(const tern_ckpt *c, hid_t loc, const char *name, hid_t type, hid_t *d,
                   uint64_t *n, tern_h5_hdr *h, char *why, size_t len);

/* Rows [first, first + n) of a data set opened by tern_r_open_1d into buf. */
int tern_r_read_rows(hid_t d, hid_t type, uint64_t first, uint64_t n, void *buf);

/* A whole table: tern_r_open_1d, then every row, malloc'd into *rows (NULL
 * when there are none). Same returns. With keep, the data set stays open
 * there on success (for its attributes; the caller closes it), else -1. */
int tern_r_read_table(const tern_ckpt *c, hid_t loc, const char *name, hid_t type,
                      size_t row_bytes, void **rows, uint64_t *n, hid_t *keep, char *why,
                      size_t len);

/* One rank's group and its segment table. */
typedef struct rank_tables {
    hid_t g;                  /* -1 when not open */
    hid_t chunks;             /* its chunk index (open with g) */
    uint64_t nindex;          /* the index's rows */
    seg_rec *segs;
    uint64_t nsegs;
} rank_tables;

/* ---- rank tables and chunks (read_seg.c) ------------------------------ */

/* Opens rank's group and reads its segment table, checks the table's CRC
 * (format 1.2: required from that minor on, checked wherever present) and
 * the table's structure: names ([A-Za-z0-9_.-]{1,200}, NUL-terminated, each once),
 * chunk ranges that tile the chunk index in order, and chunk counts that
 * fit the sizes (ceil(size / chunk_bytes)). On error rt->g is -1 and there
 * is nothing to close. */
int tern_r_open_rank(tern_ckpt *c, int rank, rank_tables *rt, tern_error *err);
void tern_r_close_rank(rank_tables *rt);

/* The same, and segment name in the table (*s points into rt); a segment
 * that is not there is an error, and then nothing is left open. */
int tern_r_open_seg(tern_ckpt *c, int rank, const char *name, rank_tables *rt,
                    const seg_rec **s, tern_error *err);

/* The chunk index rows of segment s, malloc'd into *out (NULL when there are
 * none), checked against the index's extent and the segment's size (the
 * segment reader and the extents reader both start here). Returns 0, or -1
 * with err; either way the caller frees *out. */
int tern_r_read_chunk_index(const tern_ckpt *c, const rank_tables *rt, int rank,
                            const seg_rec *s, chunk_rec **out, tern_error *err);

/* Sizes no writer produces: a reader refuses them before it allocates.
 * Chunk i of n holds chunk_bytes (the last one 1..chunk_bytes); the stored
 * bytes are those of its kind (deflate may grow by its bound, SPARSE holds
 * its bitmap and at most every block); kinds are the four known ones. */
int tern_r_bad_chunk(const tern_ckpt *c, const chunk_rec *r, uint64_t i, uint64_t n);

/* Decoding one segment's chunks in order: where errors point, the data.K
 * open now, and buffers that grow to the largest chunk seen. */
typedef struct tern_r_decoder {
    const tern_ckpt *c;
    const char *path;
    hid_t g;                  /* the rank's group */
    int rank;
    const char *seg;
    hid_t data;               /* data.K open now, or -1 */
    uint32_t data_k;          /* its K, UINT32_MAX when none */
    uint64_t data_dim;        /* its bytes */
    tern_h5_hdr data_hdr;     /* its header: where its bytes lie in the file */
    unsigned char *stored, *raw;
    size_t stored_cap, raw_cap;
} tern_r_decoder;

void tern_r_decoder_init(tern_r_decoder *d, const tern_ckpt *c, const rank_tables *rt,
                         int rank, const seg_rec *s);
void tern_r_decoder_free(tern_r_decoder *d);

/* Sets err to "FILE: rank R: segment 'S': chunk I: PROBLEM"; returns -1. */
int tern_r_chunk_error(const tern_r_decoder *d, uint64_t i, int code, tern_error *err,
                       const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* Makes data.K the open data set (nothing to do when it already is); chunk
 * i is the one that needs it, for the error. */
int tern_r_open_data(tern_r_decoder *d, uint64_t i, uint32_t k, tern_error *err);

/* Reads chunk i (row r, at logical offset off of the segment), decodes it
 * into dst (or, when dst is NULL, into the decoder's buffer), checks its CRC
 * and hands it to sink when there is one. */
int tern_r_decode_chunk(tern_r_decoder *d, const chunk_rec *r, uint64_t i, uint64_t off,
                        unsigned char *dst, tern_sink_fn sink, void *ctx, tern_error *err);

/* Every chunk of segment s, decoded and checked, into dst or to sink (both
 * may be NULL: only checked; then ZERO chunks cost nothing but their CRC's
 * arithmetic). */
int tern_r_read_segment(tern_ckpt *c, int rank, const rank_tables *rt, const seg_rec *s,
                        unsigned char *dst, tern_sink_fn sink, void *ctx, tern_error *err);

/* ---- global arrays (read_arrays.c) ------------------------------------ */

/* tern_ckpt_array_info and tern_ckpt_read_array, HDF5 printing already
 * muted. The element size is the data set's own (the elem_size attribute
 * must agree), the rank counts add up to its length, and the CRC table
 * tiles it in pieces inside each rank's slab. */
int tern_r_array_info(tern_ckpt *c, const char *name, size_t *elem_size, uint64_t *total,
                      uint64_t **rank_counts, tern_error *err);
int tern_r_read_array(tern_ckpt *c, const char *name, uint64_t offset, uint64_t count,
                      void *buf, tern_error *err);
int tern_r_array_desc(tern_ckpt *c, const char *name, tern_array_desc *desc, tern_error *err);
int tern_r_arrays(tern_ckpt *c, tern_array_entry **arrs, int *n, tern_error *err);

#endif
