/* describe.h: the protocol state of a rank as stored in a checkpoint
 * (DESCRIBE; docs/protocol.md) and read back by restart.c.
 *
 * The records below are the byte layout of the segments _tern_meta,
 * _tern_reqs, _tern_msgs, _tern_comms and _tern_types: change them together
 * with PROTO_VERSION. No state: the describe_* functions read the wrapper
 * tables (wrap.h) and the regions and fill buffers that the caller owns.
 */
#ifndef TERN_COORD_DESCRIBE_H
#define TERN_COORD_DESCRIBE_H

#include <mpi.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "comm_log.h"
#include "tern_store.h"

#pragma GCC visibility push(hidden)

#define META_MAGIC 0x7465726e6d657461ULL /* "ternmeta" */
/* 2: adds _tern_comm_members (communicators rebuilt at restart); version 1
 * checkpoints are still read (nothing is rebuilt from them) */
#define PROTO_VERSION 2

typedef struct meta {
    uint64_t magic;
    uint32_t version, nranks, rank, arrays;   /* arrays: regions stored as global arrays */
    uint64_t epoch, snap_count, global_inflight;
    uint64_t nmsgs, nreqs, ncomms;
    double quiesce_seconds;
    uint32_t nhandles, pad;
} meta;

typedef struct msg_rec { uint32_t comm; int32_t src, tag; uint32_t pad; uint64_t len; } msg_rec;
typedef struct req_rec {
    uint32_t idx;
    uint8_t kind, state, variant, has_buf;
    uint32_t comm;
    int32_t count, peer, tag, dtype;   /* dtype: predefined index, -1 none, -2 derived (blob) */
    uint64_t offset;
    uint64_t toff, tlen;               /* derived datatype: its description in _tern_types */
    char region[208];
    MPI_Status st;
} req_rec;


/* Rebuild a datatype saved by describe_requests() into _tern_types (committed;
 * MPI_DATATYPE_NULL when the bytes do not describe one). */
MPI_Datatype type_deser(const unsigned char **p, const unsigned char *end);

/* Build the descriptors of pending requests (req_rec into b, derived
 * datatypes into bt). Returns 0, or -1 with why. */
int describe_requests(buf *b, buf *bt, uint64_t *n, char *why, size_t len);
/* Drained messages not yet delivered, as _tern_msgs: msg_rec then the bytes,
 * each. Streamed into the store (tern_ckpt_put_fn) rather than copied: a
 * drained message can be as large as anything the application sends.
 * describe_messages() counts them and returns the segment's length;
 * describe_messages_fill() is the store's fill function over the cursor,
 * pulled at commit while the queues cannot change. */
typedef struct msg_cursor {
    uint32_t ordinal;     /* communicator of the current message */
    const tern_msg *m;    /* current message, NULL at the end */
    uint64_t pos;         /* bytes of its record already given */
    uint64_t off;         /* segment offset of the next byte */
} msg_cursor;
uint64_t describe_messages(uint64_t *n, msg_cursor *cur);
int describe_messages_fill(void *ctx, uint64_t offset, void *dst, size_t n, tern_error *err);
/* Live communicators: comm_rec each into b (_tern_comms), and their log into
 * members (_tern_comm_members, coord/comm_log.c). */
void describe_comms(buf *b, uint64_t *n, buf *members);

#pragma GCC visibility pop
#endif
