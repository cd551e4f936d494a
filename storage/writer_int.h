/* Internals shared by the writer's modules (writer.c: lifecycle, agreement
 * and the commit's orchestration; write_layout.c: the plan and the objects
 * created collectively; write_data.c: encoding rounds and direct data
 * writes; write_close.c: tables, reservation, close, fsync, and the discard
 * of a failed attempt).
 *
 * The rule all of them keep (docs/storage.md, "When things go wrong"):
 * every rank makes every collective call (HDF5's and MPI's) in the same
 * order with the same arguments, whatever failed on it before; a rank's own
 * failure only makes it skip its own raw writes, and travels to the others
 * in the next exchange. Raw bytes are written by tern (tern_w_write_rows,
 * tern_w_pwritev), never through HDF5, and HDF5 writes nothing before the
 * close, so no HDF5 call but the close touches the disk. */
#ifndef TERN_STORAGE_WRITER_INT_H
#define TERN_STORAGE_WRITER_INT_H

#include <hdf5.h>
#include <limits.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "clock.h"
#include "codec.h"
#include "layout.h"
#include "tern_store.h"

typedef struct wseg {
    char name[TERN_NAME_MAX + 1];
    uint64_t len;
    const void *buf;          /* NULL for a put_fn segment */
    tern_fill_fn fill;
    void *ctx;
    uint64_t first_chunk, nchunks, stored;
} wseg;

typedef struct warr {
    char name[TERN_NAME_MAX + 1];
    size_t elem;
    uint64_t count;
    const void *buf;
    tern_array_desc desc;     /* kind and row extents (dims[0] unused) */
} warr;

typedef struct wattr {
    char *key, *value;
} wattr;

struct tern_ckpt_writer {
    MPI_Comm comm;            /* private dup, or MPI_COMM_NULL (serial) */
    int rank, size;
    int node_size;            /* ranks sharing this node (and its disk) */
    int node_rank;            /* rank within the node; 0 = node leader */
    int node_leader;          /* rank (in comm) of this node's leader */
    char dir[PATH_MAX];
    char partial[PATH_MAX];
    uint64_t epoch;
    tern_store_opts opts;
    char job[256];
    hid_t file;
    int fd;                   /* our own descriptor for chunk data */
    double t0, t_last;
    wseg *segs;
    int nsegs, capsegs;
    warr *arrs;
    int narrs, caparrs;
    wattr *attrs;
    int nattrs;
    int poisoned;             /* a local call failed: commit fails everywhere */
    tern_error first_err;
    /* filled by the data rounds */
    chunk_rec *chunks;
    uint64_t nchunks;
    uint64_t stored, zero;
    unsigned rounds;
    uint64_t *round_bytes;    /* this rank's bytes in data.K, per round K */
    uint64_t max_end;         /* end of this rank's last data.K in the file */
    int err_early;            /* this rank's failure is a root cause (data write) */
    int agreed_fail;          /* write_data: all ranks already agreed on a failure */
    void *scratch;            /* receive buffer for allgathers (size * largest record) */
    int *vcounts;             /* 2 * size: counts and displacements of the views' allgatherv */
};

/* What every rank tells the others before anything is created: one
 * allgather carries the plan (segment and chunk counts, put_array calls)
 * and the node record (host name, node leader, size of its XML). No
 * allgather of a commit carries a larger record, so w->scratch holds size
 * of these. */
typedef struct plan_rec {
    int32_t fail;
    int32_t narrs;
    uint64_t nsegs;
    uint64_t nchunks;
    uint64_t arr_hash;
    int32_t leader;           /* rank of this rank's node leader */
    int32_t pad;
    uint64_t xml_len;         /* leaders only */
    char host[256];
} plan_rec;

static inline int tern_w_serial(const tern_ckpt_writer *w)
{
    return w->comm == MPI_COMM_NULL;
}

/* Every rank's outcome of a phase becomes everyone's: returns 0 when all
 * succeeded, else -1 with err holding the lowest failing rank's message. */
int tern_w_agree(tern_ckpt_writer *w, int local_rc, tern_error *err);

/* Completes a nonblocking collective without spinning on the CPU. */
void tern_w_wait(MPI_Request *req);

/* Commit phases 1 and 2 (collective): agrees on the plan, creates every
 * rank's group and tables, the node records and the global arrays, writes
 * root attributes, this rank's array slabs and (node leaders) topology.
 * *my_segs and *my_chunks get this rank's segment table and chunk index
 * (the caller closes those that are >= 0, whatever the outcome). */
int tern_w_layout(tern_ckpt_writer *w, hid_t *my_segs, hid_t *my_chunks, tern_error *err);

/* Encodes and writes every segment's chunks in rounds (collective). */
int tern_w_write_data(tern_ckpt_writer *w, tern_error *err);

/* Rows [first, first + n) of the contiguous, early allocated 1-D dataset d
 * (rows of row_bytes bytes, as they lie in memory: the file's record types
 * are the little-endian structs of layout.h) through this rank's own
 * descriptor, at the dataset's address. A failure is this rank's alone: err
 * gets "PARTIAL: rank R: writing WHAT: <strerror>". phase names the write
 * for the test hook (tern_w_injected). */
int tern_w_write_rows(tern_ckpt_writer *w, hid_t d, const char *phase, const char *what,
                      size_t row_bytes, uint64_t first, uint64_t n, const void *buf,
                      tern_error *err);

/* Dataset creation properties of every dataset tern writes itself:
 * contiguous, allocated at creation (its address is known at once), never
 * filled by HDF5. */
hid_t tern_w_raw_dcpl(void);

/* pwritev of all of v[0..n) at off (v is consumed). 0, or -1 with errno. */
int tern_w_pwritev(int fd, struct iovec *v, size_t n, off_t off);

/* Test hook: ENOSPC when TERN_STORE_TEST_FAIL (RANK:EPOCH:WHAT[,...]) names
 * this rank, this epoch and `what` (layout, data, index, reserve, close,
 * fsync, rename; views: the views' receive buffer is not allocated, as
 * when out of memory), else 0. The step then fails as on a full disk. */
int tern_w_injected(const tern_ckpt_writer *w, const char *what);

/* Commit phase 4 (collective): this rank's segment table and chunk index
 * (dsegs and dchunks are closed here), one exchange of statuses and totals
 * (sum: logical, stored, zero bytes of all ranks), views, totals, and rank
 * 0's reservation of the space the close will need. local is this rank's
 * failure so far (from the last data round). */
int tern_w_tables(tern_ckpt_writer *w, int local, hid_t dsegs, hid_t dchunks, uint64_t sum[3],
                  tern_error *err);

/* Commit phase 5 (collective): the file is closed, rank 0 releases the
 * reserved space past its end, one rank per node fsyncs it. */
int tern_w_close_durable(tern_ckpt_writer *w, tern_error *err);

/* Collective, after an agreement on a failure: closes and removes the
 * partial file, taking the same steps on every rank. */
void tern_w_discard(tern_ckpt_writer *w);

/* TERN_STORE_TRACE=1: rank 0 prints how long each commit phase took. */
void tern_w_trace(tern_ckpt_writer *w, const char *phase);

/* Whether a rank starts writeback of what it has just written
 * (sync_file_range), so that the one fsync per node at the end finds less to
 * do: several ranks writing one new file and leaving it all to the final
 * fsync was 20-30 % slower here than dd. TERN_STORE_WRITEBACK=0 leaves all
 * writing to the final fsync. */
int tern_w_early_writeback(void);

/* TERN_STORE_FORMAT_MINOR0=1 (tests only): write format 1.0's layout (no
 * page alignment of RAW chunks, no segment table CRCs) to check that
 * readers still handle it. */
int tern_w_minor0(void);

#endif
