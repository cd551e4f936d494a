/* tern_store: one consistent global checkpoint per epoch, in one HDF5 file.
 *
 * This header is the contract between storage/ and its users (coord/, dumper/,
 * jobs/). docs/format.md describes the bytes on disk.
 *
 * Layout of a checkpoint directory DIR:
 *   DIR/ckpt-<epoch>.h5           a committed checkpoint (epoch zero-padded, see format.md)
 *   DIR/ckpt-<epoch>.h5.partial   being written; never read as a checkpoint,
 *                                 removed by the next writer
 *   DIR/MANIFEST                  committed epochs, replaced atomically (rename)
 *
 * Writing (collective over comm, or serial when comm == MPI_COMM_NULL, which
 * needs no MPI at all and is what the dumper uses for a single process image):
 *
 *   tern_ckpt_writer *w;
 *   tern_ckpt_begin(comm, dir, epoch, &opts, &w, &err);
 *   tern_ckpt_put(w, "heap", buf, len, &err);          // any number, per rank
 *   tern_ckpt_put_fn(w, "image", len, fill, ctx, &err); // streamed, pulled at commit
 *   tern_ckpt_put_array(w, "u", H5T-like elem, ...);   // shared global dataset
 *   tern_ckpt_commit(w, &stats, &err);                 // two-phase commit; frees w
 *
 * Every collective call returns the same success/failure on every rank: a
 * failure on one rank (full disk, bad argument) is agreed on with the others
 * so nobody hangs, the partial file is removed, and the previous committed
 * checkpoint is untouched. Buffers passed to tern_ckpt_put must stay valid
 * until tern_ckpt_commit returns.
 *
 * Reading never needs MPI: any process can open any committed checkpoint and
 * read any rank's segments (that is how a restart on other nodes works).
 * Every read checks the CRC32 of every chunk it touches.
 */
#ifndef TERN_STORAGE_STORE_H
#define TERN_STORAGE_STORE_H

#include <mpi.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

#define TERN_FORMAT_VERSION 1

/* ---- writing ---------------------------------------------------------- */

typedef struct tern_store_opts {
    const char *job;          /* job id recorded in the file; NULL = "unnamed" */
    int compress_level;       /* zlib level 0..9; 0 = off. Adaptive: chunks that
                                 do not shrink enough are stored raw. */
    int keep;                 /* committed checkpoints kept after a commit (>= 1) */
    size_t chunk_bytes;       /* chunk size for compression/CRC; 0 = default */
    /* The node's disk write rate the adaptive compressor weighs
     * compression against (bytes/s, shared by the node's ranks);
     * 0 = default 1.2e9. Deflate is used only where it beats the disk. */
    double disk_bytes_per_s;
    /* This rank's reason to fail the attempt, or NULL.
     * tern_ckpt_begin agrees on it with the other ranks like on a failure of
     * its own (the lowest failing rank's text wins), so a caller that finds
     * a problem after its last collective needs no extra round trip. */
    const char *refuse;
} tern_store_opts;

/* Defaults: job NULL, compress_level 1, keep 2, chunk_bytes 0, disk_bytes_per_s 0,
 * refuse NULL.
 * Environment overrides applied by the callers, not here. */
void tern_store_opts_default(tern_store_opts *o);

typedef struct tern_ckpt_writer tern_ckpt_writer;

/* Collective. Creates DIR if its parent exists (a missing parent is an error),
 * removes leftovers of earlier failed attempts, opens ckpt-<epoch>.h5.partial.
 * Fails if epoch is not greater than the latest committed one. */
int tern_ckpt_begin(MPI_Comm comm, const char *dir, uint64_t epoch,
                    const tern_store_opts *opts, tern_ckpt_writer **out,
                    tern_error *err);

/* Local. Adds a named byte segment for the calling rank. Names are unique per
 * rank, [A-Za-z0-9_.-]+ and at most 200 characters; len may be 0. The buffer
 * is read at commit time. */
int tern_ckpt_put(tern_ckpt_writer *w, const char *name, const void *buf,
                  size_t len, tern_error *err);

/* Local. Like tern_ckpt_put, but the bytes are pulled at commit time by
 * calling fill(ctx, offset, dst, n) for consecutive pieces; fill returns 0 or
 * fills err and returns non-zero. Lets the dumper stream a large image. */
typedef int (*tern_fill_fn)(void *ctx, uint64_t offset, void *dst, size_t n,
                            tern_error *err);
int tern_ckpt_put_fn(tern_ckpt_writer *w, const char *name, uint64_t len,
                     tern_fill_fn fill, void *ctx, tern_error *err);

/* Collective per name (every rank calls it with the same name and elem_size,
 * in the same order relative to other put_array calls): rank r's `count`
 * elements become the hyperslab [offset_r, offset_r + count) of one global
 * 1-D dataset, offsets in rank order. A restart on another rank count reads
 * it back with tern_ckpt_read_array. */
int tern_ckpt_put_array(tern_ckpt_writer *w, const char *name,
                        size_t elem_size, uint64_t count, const void *buf,
                        tern_error *err);

/* What a global array's elements are, so that /arrays/NAME carries the
 * HDF5 type stock tools understand (h5dump prints numbers, h5py gives a
 * numpy array of that dtype and shape) instead of opaque bytes. The bytes
 * written are the caller's as they lie in memory: the dataset's type is the
 * native one of that class and size (little-endian on every host tern runs
 * on), so no conversion happens on either side and the CRCs cover exactly
 * those bytes. */
enum tern_elem_kind {
    TERN_ELEM_OPAQUE = 0,     /* H5T_OPAQUE of elem_size bytes (any size) */
    TERN_ELEM_INT = 1,        /* signed integer of 1, 2, 4 or 8 bytes */
    TERN_ELEM_UINT = 2,       /* unsigned integer of 1, 2, 4 or 8 bytes */
    TERN_ELEM_FLOAT = 3,      /* IEEE float of 4 or 8 bytes */
    TERN_ELEM_COMPLEX = 4,    /* compound {r, i} of two IEEE floats, 8 or 16 bytes */
};

#define TERN_ARRAY_MAX_DIMS 8

typedef struct tern_array_desc {
    int kind;                 /* tern_elem_kind */
    int ndims;                /* 1..TERN_ARRAY_MAX_DIMS */
    /* Row-major extents. Writing: dims[1..ndims-1] (the same on every
     * rank) are the extents of one row; dims[0] is not read: each rank's
     * count must be a whole number of rows, and the global first extent
     * is the sum of every rank's rows (rank r's block follows rank r-1's
     * along the first dimension). Reading: the global shape. */
    uint64_t dims[TERN_ARRAY_MAX_DIMS];
} tern_array_desc;

/* tern_ckpt_put_array with an element kind and a shape (desc NULL: opaque,
 * 1-D, what tern_ckpt_put_array does). Collective per name like it: every
 * rank passes the same kind, ndims and row extents. */
int tern_ckpt_put_array_desc(tern_ckpt_writer *w, const char *name, size_t elem_size,
                             uint64_t count, const void *buf, const tern_array_desc *desc,
                             tern_error *err);

/* Rank 0's extra root attributes (string key/value), e.g. the wrapper's
 * protocol version. Local; ignored on other ranks. */
int tern_ckpt_set_attr(tern_ckpt_writer *w, const char *key, const char *value,
                       tern_error *err);

typedef struct tern_ckpt_stats {
    uint64_t epoch;
    uint64_t logical_bytes;   /* all ranks: bytes handed to put* */
    uint64_t stored_bytes;    /* all ranks: bytes of chunk data written */
    uint64_t zero_bytes;      /* all ranks: all-zero bytes elided */
    double seconds;           /* begin..commit, wall, max over ranks */
    char path[4096];          /* committed file */
    double ratio;             /* logical_bytes / stored_bytes (1 if empty) */
} tern_ckpt_stats;

/* Collective. Writes every segment, makes every rank's data durable, then
 * rank 0 renames the file into place, syncs the directory, updates MANIFEST
 * and deletes checkpoints beyond opts.keep. Frees w whatever the outcome. On
 * failure nothing is committed and the previous checkpoint stays valid. */
int tern_ckpt_commit(tern_ckpt_writer *w, tern_ckpt_stats *stats,
                     tern_error *err);

/* Collective. Drops the attempt (removes the partial file) and frees w. */
void tern_ckpt_abort(tern_ckpt_writer *w);

/* ---- reading ---------------------------------------------------------- */

typedef struct tern_ckpt tern_ckpt;

typedef struct tern_node_info {
    char host[256];
    char *topology_xml;       /* hwloc XML of that node */
    int nranks;
    int *ranks;               /* the ranks that ran there */
} tern_node_info;

typedef struct tern_ckpt_info {
    int format_version;
    char job[256];
    uint64_t epoch;
    int nranks;
    int64_t created;          /* seconds since the Unix epoch */
    char tern_version[64];
    char mpi_version[256];
    int nnodes;
    tern_node_info *nodes;
    uint64_t logical_bytes, stored_bytes;
    char path[4096];
} tern_ckpt_info;

typedef struct tern_segment_info {
    char name[256];
    uint64_t size;            /* logical bytes */
    uint64_t stored;          /* bytes stored after compression/elision */
} tern_segment_info;

/* PATH is a checkpoint file, or a directory (then its latest committed
 * checkpoint). Errors name the file and the problem: missing, truncated, not
 * HDF5, not a tern checkpoint, newer format version. */
int tern_ckpt_open(const char *path, tern_ckpt **out, tern_error *err);
int tern_ckpt_open_epoch(const char *dir, uint64_t epoch, tern_ckpt **out,
                         tern_error *err);
void tern_ckpt_close(tern_ckpt *c);

const tern_ckpt_info *tern_ckpt_get_info(const tern_ckpt *c);

/* Segments of one rank, in the order they were put. */
int tern_ckpt_segments(tern_ckpt *c, int rank, tern_segment_info **segs,
                       int *nsegs, tern_error *err);  /* free(*segs) */

/* Whole segment into buf (len must equal its size). A missing segment, a
 * CRC mismatch or a short file is an error naming checkpoint, rank, segment. */
int tern_ckpt_read(tern_ckpt *c, int rank, const char *name, void *buf,
                   uint64_t len, tern_error *err);

/* Streamed read: sink(ctx, offset, src, n) for consecutive pieces. */
typedef int (*tern_sink_fn)(void *ctx, uint64_t offset, const void *src,
                            size_t n, tern_error *err);
int tern_ckpt_read_fn(tern_ckpt *c, int rank, const char *name,
                      tern_sink_fn sink, void *ctx, tern_error *err);

/* ---- file extents: mapping a segment straight from the file ---------- */

#define TERN_PAGE_ALIGN 4096

enum tern_extent_kind {
    TERN_EXTENT_FILE = 0,     /* the bytes lie as they are at file_offset */
    TERN_EXTENT_ZERO = 1,     /* all zero, nothing stored */
    TERN_EXTENT_DATA = 2,     /* stored encoded (or RAW but not page aligned):
                                 handed to the sink, decoded and checked */
};

typedef struct tern_extent {
    uint64_t offset;          /* logical offset in the segment */
    uint64_t len;             /* logical bytes */
    uint64_t file_offset;     /* FILE: byte offset in the checkpoint file */
    int32_t kind;             /* tern_extent_kind */
    int32_t reserved;
} tern_extent;

/* Where segment NAME's bytes are, for a reader that maps them from the file
 * instead of copying them (the dumper's restore). Checks the CRC of every
 * chunk first, like tern_ckpt_read: RAW chunks are read through a small
 * buffer that is reused (the file's page cache is read, nothing is handed
 * out). *ext (malloc'ed, *next entries) lists the segment in order,
 * neighbours of one kind merged:
 *   FILE  offset, len and file_offset are multiples of TERN_PAGE_ALIGN, so
 *         mmap(MAP_PRIVATE) of the descriptor from tern_ckpt_dup_fd at
 *         file_offset gives exactly these bytes. Format 1.1 files (raw_align
 *         attribute) store every page-multiple RAW chunk this way; older
 *         files have such chunks only where they happen to be aligned.
 *   ZERO  all zero.
 *   DATA  decoded bytes handed to sink(ctx, offset, src, n) in order, as by
 *         tern_ckpt_read_fn (sink may be NULL to only check them).
 * On error nothing is returned; the sink may have had part of the data. */
int tern_ckpt_extents(tern_ckpt *c, int rank, const char *name, tern_sink_fn sink,
                      void *ctx, tern_extent **ext, uint64_t *next, tern_error *err);

/* A new read-only descriptor (O_CLOEXEC) of the very file c reads: the
 * inode whose CRCs tern_ckpt_extents checked, even if the path has been
 * replaced since tern_ckpt_open. -1 with errno on failure. */
int tern_ckpt_dup_fd(tern_ckpt *c);

/* Global arrays written with tern_ckpt_put_array. */
int tern_ckpt_array_info(tern_ckpt *c, const char *name, size_t *elem_size,
                         uint64_t *total, uint64_t **rank_counts /* nranks, free() */,
                         tern_error *err);
/* Elements [offset, offset + count) in row-major order whatever the
 * array's shape, read with the dataset's own type (no conversion): the
 * bytes the writer's caller had in memory. */
int tern_ckpt_read_array(tern_ckpt *c, const char *name, uint64_t offset,
                         uint64_t count, void *buf, tern_error *err);
/* Kind and global shape of a global array. Files written before typed
 * arrays (and arrays of derived types) say TERN_ELEM_OPAQUE, 1-D. */
int tern_ckpt_array_desc(tern_ckpt *c, const char *name, tern_array_desc *desc,
                         tern_error *err);
/* Every global array of the checkpoint, by name: *arrs is malloc'ed (free
 * it), *n may be 0. Each entry passed tern_ckpt_array_desc's checks. */
typedef struct tern_array_entry {
    char name[256];
    size_t elem_size;
    uint64_t total;           /* elements */
    tern_array_desc desc;
} tern_array_entry;
int tern_ckpt_arrays(tern_ckpt *c, tern_array_entry **arrs, int *n, tern_error *err);
/* "float64", "int32", "uint8", "complex128", "opaque16", ... into buf. */
void tern_elem_kind_name(int kind, size_t elem_size, char *buf, size_t len);

/* Checks every chunk CRC and every rank's segment table. report(ctx, rank,
 * ok, message) is called once per rank (message is "" when ok), and once more
 * with rank -1 when a global array fails its check. Returns 0 only
 * when everything checks out. */
typedef void (*tern_verify_report_fn)(void *ctx, int rank, int ok,
                                      const char *message);
int tern_ckpt_verify(tern_ckpt *c, tern_verify_report_fn report, void *ctx,
                     tern_error *err);

/* Committed epochs in DIR, ascending, from MANIFEST cross-checked with the
 * files present. *epochs is malloc'ed (free it); *n may be 0. */
int tern_store_list(const char *dir, uint64_t **epochs, int *n,
                    tern_error *err);

/* Path of the committed checkpoint file for epoch in dir. */
void tern_store_path(const char *dir, uint64_t epoch, char *buf, size_t len);

#endif
