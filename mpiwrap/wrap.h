/* wrap.h: libtern's interposition core (internal; not installed).
 *
 * Virtual handles. The application sees tern's handles for communicators it
 * creates, for requests and for matched-probe messages. A virtual handle is a
 * pointer-sized value that can never be a user-space address:
 *     (TAG << 48) | index
 * so translating is one shift+compare and one table load (O(1)). Predefined
 * handles (MPI_COMM_WORLD, MPI_COMM_SELF, MPI_REQUEST_NULL, ...) are Open MPI's
 * own addresses and pass through; MPI_COMM_WORLD and MPI_COMM_SELF map to
 * communicator entries 0 and 1. Handles that tern did not create (e.g. those
 * HDF5 makes inside tern's own store calls, or MPI_Comm_f2c of Open MPI's own
 * Fortran handles) are "foreign": passed through, never counted. Virtual
 * handles have Fortran handles of their own (handles_fint.h).
 *
 * Datatypes, groups, ops, infos, errhandlers are NOT virtualized (docs/api.md
 * says why): they are passed through unchanged.
 */
#ifndef TERN_MPIWRAP_WRAP_H
#define TERN_MPIWRAP_WRAP_H

#include <mpi.h>
#include <stddef.h>
#include <stdint.h>

#define TERN_LIKELY(x) __builtin_expect(!!(x), 1)
#define TERN_UNLIKELY(x) __builtin_expect(!!(x), 0)

#define TERN_TAG_COMM 0xA7C1u
#define TERN_TAG_REQ 0xA7C2u
#define TERN_TAG_MSG 0xA7C3u

/* Non-zero while tern itself (the store, HDF5's MPI-IO, the protocol) calls
 * MPI: wrappers then go straight to PMPI, outside every counter. It is a
 * depth, so that a tern function that enters may call another that enters
 * too; only tern_internal_enter() and tern_internal_leave() change it (the
 * test stack.layering keeps it so). One process-wide depth, not per thread:
 * tern's own calls run on the thread that holds the protocol. */
extern int tern_internal;

static inline void tern_internal_enter(void) { tern_internal++; }
static inline void tern_internal_leave(void)
{
    if (tern_internal > 0) tern_internal--;
}

/* ---- drained messages --------------------------------------------------- */
typedef struct tern_msg {
    struct tern_msg *next;
    int src, tag;          /* src: rank in the communicator (remote group for inter) */
    size_t len;            /* bytes (packed representation) */
    unsigned char data[];
} tern_msg;

/* ---- communicators -------------------------------------------------------- */
typedef struct tern_comm {
    MPI_Comm real;
    MPI_Comm virt;
    uint32_t ordinal;      /* creation order; 0 world, 1 self */
    int npeers;            /* size, or remote size for an intercommunicator */
    int inter;
    int rank, size;
    uint64_t *sent;        /* [npeers] messages posted to peer */
    uint64_t *recvd;       /* [npeers] messages completed from peer */
    int *world;            /* [npeers] peer -> MPI_COMM_WORLD rank */
    uint64_t coll_seq;     /* collectives (and collective constructors) entered */
    uint64_t gid;          /* same on every member: identifies it across ranks */
    uint64_t nctor;        /* constructors called on it (for child gids) */
    uint64_t world_hash;   /* hash of the world ranks of its members */
    uint64_t sigw;         /* weight of its collective count in the signature
                              (tc_signature); sums to 0 over its members */
    tern_msg *qhead, *qtail;
    int nq;                /* drained messages not yet delivered */
    int freed;
    const char *ctor;      /* "MPI_Comm_split" ... */
    uint32_t parent;       /* ordinal of parent */
} tern_comm;

#define TC_CHUNK 1024
extern tern_comm **tc_chunks[4096];
extern tern_comm *tc_world_p, *tc_self_p;
extern uint32_t tc_count;

/* A tagged handle that names no communicator of this run: typically one
 * created after the snapshot point, kept in protected memory and used after a
 * restart that did not create it again. Reports that on stderr and aborts the
 * job; without it the handle would reach Open MPI and crash there. */
void tc_bad_handle(uintptr_t v) __attribute__((noreturn, cold));
static inline tern_comm *tc_get(MPI_Comm h)
{
    uintptr_t v = (uintptr_t)h;
    if ((v >> 48) == TERN_TAG_COMM) {
        uint32_t i = (uint32_t)v;
        tern_comm **ch = TERN_LIKELY(i / TC_CHUNK < 4096) ? tc_chunks[i / TC_CHUNK] : NULL;
        tern_comm *c = TERN_LIKELY(ch != NULL) ? ch[i % TC_CHUNK] : NULL;
        if (TERN_UNLIKELY(!c)) tc_bad_handle(v);
        return c;
    }
    if (h == MPI_COMM_WORLD) return tc_world_p;
    if (h == MPI_COMM_SELF) return tc_self_p;
    return NULL;
}
static inline MPI_Comm tc_real(MPI_Comm h)
{
    tern_comm *c = tc_get(h);
    return c ? c->real : h;
}
/* Per MPI_COMM_WORLD rank: application messages posted to it and completed
 * from it over every live communicator -- the sums of the per-communicator
 * counters, kept as they change so that a checkpoint reads them without
 * walking every communicator (the walk, on cold caches, cost more than the
 * checkpoint's one collective). Written only through the two functions below
 * and when a communicator is freed; coord/ reads them. */
extern uint64_t *tern_wsent, *tern_wrecvd;
static inline void tc_count_send(tern_comm *c, int dest)
{
    if (TERN_LIKELY((unsigned)dest < (unsigned)c->npeers)) {
        c->sent[dest]++;
        int w = c->world[dest];
        if (TERN_LIKELY(w >= 0)) tern_wsent[w]++;
    }
}
static inline void tc_count_recv(tern_comm *c, const MPI_Status *st)
{
    int s = st->MPI_SOURCE;
    if ((unsigned)s < (unsigned)c->npeers && !st->_cancelled) {
        c->recvd[s]++;
        int w = c->world[s];
        if (TERN_LIKELY(w >= 0)) tern_wrecvd[w]++;
    }
}
/* The collective signature of this rank: sum over its live communicators of
 * sigw * hash(gid, coll_seq). Summed over all ranks it is 0 when every
 * communicator's members have entered the same number of collectives (the
 * weights of each communicator sum to 0 over its members), and non-zero
 * otherwise except with probability ~2^-64. */
uint64_t tc_signature(void);
tern_comm *tc_by_ordinal(uint32_t ord);
/* Make (or for MPI_COMM_NULL, pass) a virtual communicator for a new real one. */
MPI_Comm tc_register(MPI_Comm real, tern_comm *parent, const char *ctor);
/* Restart (coord/comm_log.c): a virtual communicator for a rebuilt real one at
 * the ordinal it had in the checkpoint, so the handle values kept in protected
 * memory name it again; gid and nctor are the saved ones (children made later
 * get gids no saved communicator has). NULL if the ordinal is taken (or is
 * world/self). */
tern_comm *tc_register_at(MPI_Comm real, uint32_t ord, uint64_t gid, uint64_t nctor, const char *ctor);
/* Restart: communicators made from now on get ordinals >= n (above every
 * saved one); ordinals below n that nothing occupies stay holes. */
void tc_skip_to(uint32_t n);
/* Intercommunicators made by this rank (part of their gid); saved and
 * restored so that a new one after a restart does not repeat a saved gid. */
extern uint64_t tc_ninter;
void tc_init_predefined(void);

/* ---- requests ------------------------------------------------------------ */
enum { TR_SEND = 1, TR_RECV, TR_PSEND, TR_PRECV, TR_NBC, TR_GREQ, TR_MRECV };
enum { TRS_FREE = 0, TRS_ACTIVE, TRS_DONE, TRS_INACTIVE };

typedef struct tern_req {
    MPI_Request real;
    uint8_t kind, state, variant, app_freed;
    uint32_t idx;
    uint32_t next_free;
    tern_comm *comm;
    void *buf;
    int count;
    MPI_Datatype dt;
    int peer, tag;
    MPI_Status st;         /* valid when state == TRS_DONE */
} tern_req;

#define TR_CHUNK 4096
extern tern_req *tr_chunks[16384];
extern uint32_t tr_hiwater;

static inline tern_req *tr_get(MPI_Request h)
{
    uintptr_t v = (uintptr_t)h;
    if ((v >> 48) != TERN_TAG_REQ) return NULL;
    uint32_t i = (uint32_t)v;
    return &tr_chunks[i / TR_CHUNK][i % TR_CHUNK];
}
static inline tern_req *tr_at(uint32_t i)
{
    return tr_chunks[i / TR_CHUNK] ? &tr_chunks[i / TR_CHUNK][i % TR_CHUNK] : NULL;
}
static inline MPI_Request tr_handle(const tern_req *q)
{
    return (MPI_Request)(((uintptr_t)TERN_TAG_REQ << 48) | q->idx);
}
tern_req *tr_alloc(void);
/* A slot filled with a request's description (active, or inactive for a
 * persistent one); tr_wrap() is this plus the checks for what stays Open
 * MPI's own. */
tern_req *tr_new(MPI_Request real, int kind, tern_comm *c, const void *buf, int count,
                 MPI_Datatype dt, int peer, int tag);
tern_req *tr_alloc_at(uint32_t idx);   /* restart: a given slot */
void tr_reserve(uint32_t idx);           /* restart: keep slot for tr_alloc_at */
void tr_free(tern_req *q);
/* Wrap a real request; MPI_REQUEST_NULL passes through (error paths). For a
 * foreign communicator (c == NULL) the real request is returned as is. */
MPI_Request tr_wrap(MPI_Request real, int kind, tern_comm *c, const void *buf,
                    int count, MPI_Datatype dt, int peer, int tag);
void tr_set_variant(MPI_Request h, const char *ctor);

/* ---- matched-probe messages ---------------------------------------------- */
typedef struct tern_mmsg {
    MPI_Message real;      /* or MPI_MESSAGE_NULL when drained != NULL */
    tern_msg *drained;
    tern_comm *comm;
    int used;
} tern_mmsg;

/* ---- refusals ------------------------------------------------------------ */
enum { TERN_UNSAFE_RMA = 0, TERN_UNSAFE_IO, TERN_UNSAFE_DYN, TERN_UNSAFE_THREAD,
       TERN_UNSAFE_MISC, TERN_UNSAFE_N };
void tern_unsafe_mark(const char *call, int kind, int delta);
/* Non-zero and a message when the job cannot be checkpointed now. */
int tern_unsafe_reason(char *buf, size_t len);

/* ---- drained-message queue (drained_queue.c; used by the receives and the protocol) --------- */
tern_msg *tq_find(tern_comm *c, int src, int tag, tern_msg **prev);
void tq_unlink(tern_comm *c, tern_msg *m, tern_msg *prev);
void tq_append(tern_comm *c, tern_msg *m);
int tq_deliver(tern_msg *m, void *buf, int count, MPI_Datatype dt, tern_comm *c,
               MPI_Status *st);
void tq_status(const tern_msg *m, MPI_Status *st);
extern int tq_total;       /* drained messages not yet delivered, all comms */

/* ---- init: the MPI_Init entry points are coord's (coord/coord.c) ---------- */
/* after PMPI_Init(_thread) succeeded, with the thread level provided */
void tern_wrap_after_init(int thread_level);
extern int tern_initialized, tern_finalized;
extern int tern_world_rank, tern_world_size;
extern int tern_thread_level;

/* Completion bookkeeping shared by the completion wrappers. */
void tr_complete(tern_req *q, MPI_Status *st);
/* A completed request's slot: freed, or an inactive persistent one kept;
 * *h becomes MPI_REQUEST_NULL or stays (handles_req.c). */
void tr_release(tern_req *q, MPI_Request *h);
/* Find, unlink and deliver a drained message matching (src, tag). 1 if one
 * was delivered (rc in *rc) (drained_queue.c). */
int tq_take(tern_comm *c, int src, int tag, void *buf, int count, MPI_Datatype dt,
            MPI_Status *st, int *rc);
/* calloc that aborts with one line when memory is out (handles_comm.c). */
void *xcalloc(size_t n, size_t s);

extern const char *const tern_wrapped_calls[];

#endif
