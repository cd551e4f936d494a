/* Internals shared by the writer's modules (writer.c: lifecycle and
 * agreement; write_data.c: encoding rounds and direct data writes). */
#ifndef TERN_STORAGE_WRITER_INT_H
#define TERN_STORAGE_WRITER_INT_H

#include <hdf5.h>
#include <limits.h>

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
};

/* Every rank's outcome of a phase becomes everyone's: returns 0 when all
 * succeeded, else -1 with err holding the lowest failing rank's message. */
int tern_w_agree(tern_ckpt_writer *w, int local_rc, tern_error *err);

/* Completes a nonblocking collective without spinning on the CPU. */
void tern_w_wait(MPI_Request *req);

/* Encodes and writes every segment's chunks in rounds (collective). */
int tern_w_write_data(tern_ckpt_writer *w, tern_error *err);

double tern_w_now(void);

/* Whether a rank starts writeback of what it has just written
 * (sync_file_range), so that the one fsync per node at the end finds less to
 * do: several ranks writing one new file and leaving it all to the final
 * fsync was 20-30 % slower here than dd. TERN_STORE_WRITEBACK=0 leaves all
 * writing to the final fsync. */
int tern_w_early_writeback(void);

/* TERN_STORE_FORMAT_MINOR0=1 (tests only): write format 1.0's layout (no
 * page alignment of RAW chunks) to check that readers still handle it. */
int tern_w_minor0(void);

#endif
