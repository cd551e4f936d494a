/* tern_channel.h: the channel between an application process and its proxy
 * (transparent mode; docs/transparent.md).
 *
 * One channel per application process: a shared mapping (a memfd made by
 * the proxy, inherited by the application) with one call slot. The
 * application (the shim) puts a call -- its index and marshalled arguments --
 * into the slot and waits; the proxy takes it, serves it, and answers into
 * the same slot. While serving, the proxy may ask the application to run
 * something of its own (a user reduction op, an error handler: function
 * pointers stay in the application) with an upcall, which the application
 * answers before the call's answer comes.
 *
 * Waiting never spins without bound: a waiter spins for a short, settable
 * time (the other side answers within it while the application is in a
 * burst of calls) -- yielding the core, which the other side may need --
 * then sleeps on a futex in the slot; the side that changes
 * the slot wakes the other only when it sleeps. A sleeping waiter also wakes
 * on a timeout the caller gives, on a signal, and when the other side's
 * process is gone (checked once per second of sleep), so that neither can
 * hang on a dead peer.
 *
 * The channel is not part of a checkpoint: the mapping is shared and is
 * re-created by the new proxy at restore; its state is idle between calls.
 *
 * The application is the proxy's child (its proxy is gone when it no longer
 * is its parent).
 *
 * Thread safety: one call at a time per channel (the shim serialises
 * callers: MPI_THREAD_FUNNELED and SERIALIZED need no more).
 */
#ifndef TERN_CHANNEL_H
#define TERN_CHANNEL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "error.h"

typedef struct tern_chan tern_chan;

/* The result of a wait. */
enum {
    TERN_CHAN_READY = 0,     /* what was waited for is there */
    TERN_CHAN_TIMEOUT = 1,   /* the timeout passed (or a signal came) first */
    TERN_CHAN_PEER_GONE = 2, /* the other process no longer exists */
};

/* ---- both sides ------------------------------------------------------- */

/* Proxy: make a channel whose slot holds `capacity` bytes of arguments or
 * answer. *fd is the memfd to hand to the application (not close-on-exec). */
int tern_chan_create(size_t capacity, tern_chan **out, int *fd, tern_error *err);

/* Application: map the channel the proxy made (fd from the environment). */
int tern_chan_attach(int fd, tern_chan **out, tern_error *err);

/* Unmap (the fd is the caller's). */
void tern_chan_detach(tern_chan *c);

/* The slot's data area and its size: arguments on the way in, the answer
 * on the way out, an upcall's data in between. */
void *tern_chan_data(tern_chan *c);
size_t tern_chan_capacity(const tern_chan *c);

/* How long a waiter spins before it sleeps (nanoseconds; 0: sleep at once).
 * Default: TERN_CHAN_SPIN_NS from the environment, else 20000. */
void tern_chan_set_spin(tern_chan *c, uint64_t ns);

/* ---- the application's side ---------------------------------------------- */

/* Post call `call` with `len` bytes of arguments in the data area and wait
 * for its answer or an upcall. Returns TERN_CHAN_READY with *upcall = 0 when
 * answered (*len = answer bytes, *rc = the call's return code), or with
 * *upcall = the upcall's kind (>0) and *len its bytes: serve it, then
 * tern_chan_upcall_done() and wait again with tern_chan_wait_answer(). */
int tern_chan_call(tern_chan *c, uint32_t call, size_t *len, int32_t *rc, uint32_t *upcall);
int tern_chan_wait_answer(tern_chan *c, size_t *len, int32_t *rc, uint32_t *upcall);
void tern_chan_upcall_done(tern_chan *c, size_t len);

/* ---- the proxy's side ---------------------------------------------------- */

/* Wait up to timeout_ns (UINT64_MAX: no limit) for a call. READY: *call,
 * *len say what it is (arguments in the data area). */
int tern_chan_next_call(tern_chan *c, uint64_t timeout_ns, uint32_t *call, size_t *len);

/* Answer the call taken: `len` bytes of answer in the data area. */
void tern_chan_answer(tern_chan *c, int32_t rc, size_t len);

/* During a call: ask the application to serve upcall `kind` (>0) with `len`
 * bytes in the data area, and wait for it; READY with *len its answer. */
int tern_chan_upcall(tern_chan *c, uint32_t kind, size_t *len);

/* ---- checkpoints (transparent mode's) --------------------------------------- */

/* Application: it is about to write up to n bytes of its next call into
 * the data area (so that a checkpoint taken meanwhile keeps them). */
void tern_chan_draft(tern_chan *c, size_t n);

/* Proxy: the part of the mapping a checkpoint must keep (header and the
 * data in use); *p points into the mapping. */
size_t tern_chan_image(const tern_chan *c, const void **p);

/* Proxy, at a restart: this new channel takes the saved one's place (n bytes
 * from tern_chan_image) for application process app. call (call_len bytes,
 * call index call_idx): the call being served, whose answer the application
 * waits for (NULL: it was between calls). */
int tern_chan_adopt(tern_chan *c, const void *img, size_t n, pid_t app, const void *call, size_t call_len,
                    uint32_t call_idx, tern_error *err);

/* Proxy: the application process is app (after a restart). */
void tern_chan_set_app(tern_chan *c, pid_t app);

/* Where the application mapped the channel (0: it has not attached yet);
 * the dumper leaves that mapping out of its image. */
uint64_t tern_chan_app_base(const tern_chan *c);

#endif
