/* px_dispatch.h: the proxy's internals (transparent mode; docs/transparent.md).
 *
 * tern-proxy is the rank's real MPI process: it runs the application as its
 * child and serves each of its MPI calls by calling MPI_* -- tern's wrappers
 * in libtern.so, so that virtual handles, counters, drained messages and the
 * communicator log see every application call as in API mode. A call's
 * words and inline bytes are in the channel (shim/tern_wire.h); the generated
 * dispatch (proxy_dispatch.c, from mpiwrap/mpi_roles.tbl) turns them into
 * arguments with the functions below and answers with records.
 *
 * Modules (each the only writer of its state):
 *   main.c       the command line, starting the application
 *   life.c       the application's end mirrored, signals forwarded
 *   serve.c      the channel loop, upcalls, calls made inside upcalls
 *   handles.c    wire ids <-> MPI handles (the registry)
 *   mem.c        the application's memory (process_vm_readv/writev)
 *   buffers.c    buffers, arrays, strings: fetched, written back, answered
 *   layout.c     a datatype's extents and its blocks
 *   requests.c   requests: their buffers, completion, MPI_Start, frees
 *   callbacks.c  user ops, error handlers, keyvals, attributes, Bsend buffer
 *   block.c      blocking calls made so that the protocol is served meanwhile
 *   ckpt.c       the protocol's hooks: the rank's state saved, the application frozen
 *   restore.c    a restart: the state rebuilt, the application restored
 *   env.c        MPI_Init/Finalize/Abort, the job's event
 *   tern_elf.c   what a program binary imports (tern_elf.h; also used by jobs/)
 *   binary.c     programs transparent mode refuses, told before they start
 */
#ifndef TERN_PROXY_PX_DISPATCH_H
#define TERN_PROXY_PX_DISPATCH_H

/* the calls MPI-3 removed are still served: binaries built against older
 * headers call them (the real library has them too) */
#define OMPI_OMIT_MPI1_COMPAT_DECLS 0
#include <mpi.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "tern_calls.h"
#include "tern_tm.h"
#include "tern_wire.h"

#pragma GCC visibility push(hidden)

/* ---- one call ------------------------------------------------------------------- */
typedef struct px_wb px_wb;           /* a buffer to write back (buffers.c) */
typedef struct px_alloc px_alloc;     /* the call's allocations */
typedef struct px_refetch px_refetch; /* a persistent request's input, re-read at MPI_Start */

typedef struct px_ctx {
    const uint64_t *w;            /* the words */
    const uint32_t *off, *len;    /* inline bytes per argument */
    unsigned char *base;          /* the data area */
    size_t inlen;                 /* bytes of the call */
    unsigned char *out;           /* where the answer's records go */
    size_t outcur, outcap;
    int fail;                     /* an MPI error code: the call is not made */
    int nb;                       /* 1: makes a request, 2: a persistent one */
    int user_op;                  /* a user MPI_Op: inputs leave the channel (upcalls use it) */
    int inplace;                  /* an MPI_IN_PLACE buffer was seen */
    MPI_Status *status;           /* the status that limits receive writebacks */
    px_wb *wb;
    px_alloc *arena;
    px_refetch *refetch;
} px_ctx;

typedef int (*px_fn)(px_ctx *x);
extern const px_fn px_dispatch[TC_N];
extern const char *const px_names[TC_N];   /* the calls' names, for messages */
extern void *const px_predef[TP_N];
extern const unsigned char px_predef_kind[TP_N];

/* Set up x for the call at base (len bytes), answering at out. */
void px_ctx_init(px_ctx *x, unsigned char *base, size_t len, unsigned char *out, size_t outcap);
/* After the call: write back what it received (rc permitting), free the rest. */
int px_end(px_ctx *x, int rc);

/* ---- arguments (buffers.c) ---------------------------------------------------------- */
enum { PB_IN = 1, PB_OUT = 2, PB_IO = 3, PB_ST = 4 };
const void *px_inl(const px_ctx *x, unsigned k, size_t *n);
const char *px_str(const px_ctx *x, unsigned k);
uint64_t px_inl_id(const px_ctx *x, unsigned k);
const void *px_inl_ptr(const px_ctx *x, unsigned k, size_t n);
int px_inl_copy(const px_ctx *x, unsigned k, void *dst, size_t n);
void *px_alloc_bytes(px_ctx *x, size_t n);
void *px_arr(px_ctx *x, unsigned k, uint64_t a, size_t n);
void *px_ioarr(px_ctx *x, unsigned k, uint64_t a, size_t n);
void *px_oarr(px_ctx *x, unsigned k, uint64_t a, size_t n);
void *px_harr(px_ctx *x, unsigned k, uint64_t a, int n);
char *px_ostr(px_ctx *x, uint64_t a, size_t n);
void *px_buf(px_ctx *x, unsigned k, int flags, uint64_t a, int64_t count, MPI_Datatype dt);
void *px_vbuf(px_ctx *x, unsigned k, int flags, uint64_t a, const int *counts, const int *displs,
              MPI_Datatype dt, int n);
void *px_wbuf(px_ctx *x, unsigned k, int flags, uint64_t a, const int *counts, const MPI_Aint *displs,
              const MPI_Datatype *types, int n);
void *px_wbuf_i(px_ctx *x, unsigned k, int flags, uint64_t a, const int *counts, const int *displs,
                const MPI_Datatype *types, int n);
void px_set_status(px_ctx *x, MPI_Status *st);

/* ---- the answer (buffers.c) --------------------------------------------------------- */
void *px_rec(px_ctx *x, uint32_t kind, uint64_t addr, size_t len);
void px_out(px_ctx *x, uint64_t a, const void *p, size_t n);
void px_out_str(px_ctx *x, uint64_t a, const char *s);
void px_status_prep(MPI_Status *st);
void px_out_status(px_ctx *x, uint64_t a, const MPI_Status *st);
void px_out_statuses(px_ctx *x, uint64_t a, const MPI_Status *st, int n);
void px_out_h(px_ctx *x, uint64_t a, uint64_t id);
void px_out_harr(px_ctx *x, uint64_t a, void **hs, int n, int kind);
void px_out_hio(px_ctx *x, uint64_t a, uint64_t old_id, void *h, int kind);
void px_ret_h(px_ctx *x, uint64_t id);

/* ---- handles (handles.c) ------------------------------------------------------------ */
typedef struct {
    void *h;          /* the MPI handle (tern's virtual one for communicators, requests) */
    uint32_t kind;    /* TK_* (TK_NONE: a free slot) */
    uint32_t refs;
    void *ext;        /* per kind: a request's buffers, a user op's slot, ... */
} px_ent;
void *px_h(px_ctx *x, uint64_t id);
px_ent *px_ent_of(uint64_t id);
/* The id of h, registered if new (a new datatype's layout goes to the shim).
 * Each registration of an existing handle is one more reference. */
uint64_t px_reg(px_ctx *x, void *h, int kind);
uint64_t px_lookup(const void *h);   /* TW_ID_BAD when unknown */
void px_release(uint64_t id);        /* one reference less; the slot is freed at 0 */
uint64_t px_null_id(int kind);
void px_handles_init(void);
/* The wire id of a communicator Open MPI hands a callback (its real one). */
uint64_t px_comm_id(MPI_Comm real);
void px_comm_tag(MPI_Comm c, uint64_t id);
void px_op_forget(void *ext);   /* a user op's slot is free again (callbacks.c) */
/* checkpoints: live ids in order (TW_ID_BAD at the end), the next id never
 * used; a restart puts entries back at their ids, makes the next px_reg use
 * id, and rebuilds the free list once all are back */
uint64_t px_ent_next(uint64_t id);
uint64_t px_ids_hiwater(void);
void px_reg_at(uint64_t id, void *h, int kind, uint32_t refs);
void px_force_id(uint64_t id);
void px_ids_restored(uint64_t hiwater);
int px_op_save(void *ext, MPI_Op op, uint64_t rec[3]);
int px_op_restore(const uint64_t rec[3], MPI_Op *op, void **ext);

/* ---- layouts (layout.c) ---------------------------------------------------------------- */
typedef struct {
    MPI_Aint lb, extent, true_lb, true_extent, size;
    int contiguous;   /* count elements are count*size bytes without gaps */
} px_layout;
int px_layout_of(MPI_Datatype dt, px_layout *l);
/* The blocks of one element, as offsets from its true lower bound. */
int px_blocks(MPI_Datatype dt, const MPI_Aint **off, const MPI_Aint **len, int *n);
void px_layout_forget(MPI_Datatype dt);
void px_dtinfo(px_ctx *x, uint64_t id, MPI_Datatype dt);

/* ---- the application's memory (mem.c) ------------------------------------------------ */
extern pid_t px_app;
/* Set while a restart makes requests again: reads of the application give
 * zeros (its image is not back yet; what they prefill is never written back). */
extern int px_mem_blind;
int px_read(uint64_t addr, void *dst, size_t n);
int px_write(uint64_t addr, const void *src, size_t n);
int px_writev(const struct iovec *local, int nl, const struct iovec *remote, int nr);
int px_check_access(uint64_t probe_addr);

/* ---- expressions of mpi_roles.tbl ---------------------------------------------------- */
int px_np(MPI_Comm c);
int px_lsize(MPI_Comm c);
int px_indeg(MPI_Comm c);
int px_outdeg(MPI_Comm c);
int px_rank(MPI_Comm c);
int px_cartdim(MPI_Comm c);
int64_t px_sum(const int *a, int n);
static inline int px_inplace(uint64_t a) { return a == (uint64_t)(uintptr_t)MPI_IN_PLACE; }
int px_root(MPI_Comm c, int root);
int px_leaf(MPI_Comm c, int root);
static inline int px_live(int root) { return root != MPI_PROC_NULL; }

/* ---- requests (requests.c) -------------------------------------------------------------- */
void px_out_req(px_ctx *x, uint64_t a, MPI_Request r, int persistent);
int px_requests_pending(void);   /* requests freed while active, still tested */
/* Active requests whose progress may run a user op (an upcall): while there
 * are any, the proxy makes no MPI call between the application's calls. */
extern int px_uop_active;
void px_requests_poll(void);
void px_requests_finish(void);
/* checkpoints (requests.c): write back what completed (the cut), the
 * requests' records, and at a restart the requests made again */
int px_requests_quiesce(char *why, size_t len);
int px_requests_save(unsigned char **buf, size_t *len);
int px_requests_restore(const unsigned char *p, size_t n, char *why, size_t len);

/* ---- blocking calls (block.c) ----------------------------------------------------------- */
/* Waits for r, serving the protocol meanwhile (not READY: a started
 * collective). */
int px_block(MPI_Request *r, MPI_Status *st);
/* Where the current call is, for a cut that runs while it waits (ckpt.c
 * saves it): PX_REDO, made again from its bytes after a restart; PX_SENT,
 * the same but its sends are done (the drain completes them). */
enum { PX_IDLE = 0, PX_REDO = 1, PX_SENT = 2 };
extern int px_phase;
/* A restarted call whose sends were done before the checkpoint. */
extern int px_skip_send;
int px_b_MPI_Send(const void *buf, int count, MPI_Datatype dt, int dest, int tag, MPI_Comm comm);
int px_b_MPI_Ssend(const void *buf, int count, MPI_Datatype dt, int dest, int tag, MPI_Comm comm);
int px_b_MPI_Rsend(const void *buf, int count, MPI_Datatype dt, int dest, int tag, MPI_Comm comm);
int px_b_MPI_Recv(void *buf, int count, MPI_Datatype dt, int source, int tag, MPI_Comm comm, MPI_Status *st);
int px_b_MPI_Sendrecv(const void *sendbuf, int sendcount, MPI_Datatype sendtype, int dest, int sendtag,
                      void *recvbuf, int recvcount, MPI_Datatype recvtype, int source, int recvtag,
                      MPI_Comm comm, MPI_Status *st);
int px_b_MPI_Sendrecv_replace(void *buf, int count, MPI_Datatype dt, int dest, int sendtag, int source,
                              int recvtag, MPI_Comm comm, MPI_Status *st);
int px_b_MPI_Probe(int source, int tag, MPI_Comm comm, MPI_Status *st);
int px_b_MPI_Mprobe(int source, int tag, MPI_Comm comm, MPI_Message *msg, MPI_Status *st);
/* Wait until one of the Test family's calls says done (requests.c) */
void px_waiting(void);

/* ---- serving (serve.c) ------------------------------------------------------------------ */
/* An upcall during the current call: the data is in the channel at
 * px_area(); READY, or the application is gone. Serves calls made from it. */
size_t px_upcall(uint32_t kind, size_t len);
unsigned char *px_area(void);
size_t px_area_cap(void);
/* The call being served, as it came (for a checkpoint that comes while it
 * waits), and the depth of calls made from inside upcalls. */
const unsigned char *px_call_bytes(size_t *len, uint32_t *call);
void px_call_set(const unsigned char *p, size_t len);
extern int px_nested;

/* ---- the job (env.c, life.c) ------------------------------------------------------------- */
extern int px_initialized, px_finalized;
extern int px_argc;
extern char **px_argv;
void px_say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void px_fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
/* The application has ended (status from waitpid): end the same way. */
void px_app_ended(int status) __attribute__((noreturn));

#pragma GCC visibility pop
#endif
