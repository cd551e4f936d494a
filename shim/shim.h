/* shim.h: the shim's internals (transparent mode; docs/transparent.md).
 *
 * The shim is the application's libmpi.so.40: it holds no MPI state. Each
 * MPI call is put into the channel's slot (tern_wire.h) and served by the
 * proxy, the rank's real MPI process. The generated stubs (shim_stubs.c)
 * use the functions below; the few hand-written calls are in env.c.
 *
 * Modules (each the only writer of its state):
 *   call.c       the channel: attaching, one call at a time, the answer's
 *                records, upcalls and calls made from inside them
 *   handles.c    handles <-> wire ids, datatype layouts the proxy sent
 *   callbacks.c  the application's functions the proxy asks to run, and
 *                Open MPI's predefined callbacks (MPI_DUP_FN, ...)
 *   env.c        MPI_Init/Finalize/Abort and what is answered locally
 */
#ifndef TERN_SHIM_SHIM_H
#define TERN_SHIM_SHIM_H

/* the calls MPI-3 removed are still served: binaries built against older
 * headers call them (the real library has them too) */
#define OMPI_OMIT_MPI1_COMPAT_DECLS 0
#include <mpi.h>
#include <stddef.h>
#include <stdint.h>

#include "tern_calls.h"
#include "tern_wire.h"

#pragma GCC visibility push(hidden)

/* Every MPI_x is a weak alias of PMPI_x, as in Open MPI (a profiling
 * library may interpose MPI_x). */
#define SH_ALIAS(name) extern __typeof(P##name) name __attribute__((weak, alias("P" #name)))

/* ---- one call (call.c) ----------------------------------------------------- */
typedef struct {
    unsigned char *base;   /* the data area */
    uint64_t *w;           /* the words */
    uint32_t *off, *len;   /* where each argument's inline bytes are */
    size_t cur, cap;       /* next free inline byte, the area's size */
    uint64_t ret_id;       /* TW_R_RETH */
    int nested;            /* made from inside an upcall */
} sh_msg;

/* Take the channel (attaching it at the first call) and lay out call `call`
 * with n words. */
void sh_begin(sh_msg *m, unsigned call, unsigned n);
/* Send it, serve the upcalls, apply the answer; the call's return code. */
int sh_end(sh_msg *m);
/* The handle a call returned (TW_R_RETH), after sh_end. */
void *sh_ret_handle(const sh_msg *m);

/* Inline inputs (skipped when they do not fit: the proxy then reads them). */
void sh_inl_raw(sh_msg *m, unsigned k, const void *p, size_t n);
void sh_inl_str(sh_msg *m, unsigned k, const char *s);
void sh_inl_id(sh_msg *m, unsigned k, uint64_t id);
void sh_inl_harr(sh_msg *m, unsigned k, const void *handles, int n);
void sh_inl_buf(sh_msg *m, unsigned k, const void *buf, int64_t count, MPI_Datatype dt);

/* Refuse a call: one line naming it and why, then the job ends. */
int sh_refuse(const char *call, const char *why);
/* One line on stderr: "tern: rank R: ..." (or "tern: ..." before MPI_Init). */
void sh_say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- handles (handles.c) ----------------------------------------------------------- */
static inline uint64_t sh_id(const void *h)
{
    if (!h) return TW_ID_NULLPTR;
    uint64_t v = *(const uint64_t *)h;
    return (v >> 48) == TW_MAGIC ? v & UINT64_C(0xffffffffffff) : TW_ID_BAD;
}
void *sh_handle(uint64_t id);
const tw_dtinfo *sh_dtinfo(uint64_t id);
void sh_set_dtinfo(const tw_dtinfo *d);

/* ---- callbacks (callbacks.c) -------------------------------------------------------- */
/* A function pointer argument: Open MPI's predefined callbacks as codes. */
uint64_t sh_fn(void (*f)(void));
/* Serve upcall `kind` whose data is at base; the reply's length. */
size_t sh_upcall(uint32_t kind, unsigned char *base, size_t len);
extern int sh_op_running;   /* a user reduction op is running (on data in the channel) */
/* Predefined attribute values (MPI_TAG_UB, ...): the proxy's ints, kept here. */
void *sh_attr_slot(int keyval, int value);

/* ---- the rank (env.c) --------------------------------------------------------------- */
extern int sh_rank, sh_size, sh_initialized, sh_finalized;
void sh_set_init(const tw_init *in);
int sh_fast_Comm_rank(MPI_Comm comm, int *rank);
int sh_fast_Comm_size(MPI_Comm comm, int *size);

#pragma GCC visibility pop
#endif
