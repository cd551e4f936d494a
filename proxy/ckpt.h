/* ckpt.h: what a transparent checkpoint holds of the proxy (ckpt.c writes
 * it, restore.c reads it back; docs/transparent.md, "Checkpoints").
 * Segments of this rank: px.state, px.call, px.chan, px.ids, px.reqs, app.*.
 */
#ifndef TERN_PROXY_CKPT_H
#define TERN_PROXY_CKPT_H

#include "px_dispatch.h"
#include "tern_channel.h"

#pragma GCC visibility push(hidden)

#define PX_CKPT_MAGIC 0x5450584b43505854ull   /* "TXPCKXPT" */
#define PX_CKPT_VERSION 1u

/* px.state: where the application was */
typedef struct {
    uint64_t magic;
    uint32_t version;
    uint32_t phase;       /* PX_IDLE between calls; PX_REDO, PX_SENT: in call `call` */
    uint32_t call;
    uint32_t pad;
    uint64_t call_len;    /* px.call's bytes */
    uint64_t chan_len;    /* px.chan's bytes */
} px_state;

/* px.ids: a header, then per live id a record and its kind's payload */
typedef struct {
    uint64_t magic;
    uint64_t hiwater;
} px_ids_hdr;
typedef struct {
    uint64_t id;
    uint32_t kind, refs;
    uint32_t len;         /* payload bytes */
    uint32_t pad;
} px_id_rec;

extern const tern_tm_hooks px_tm_hooks;

/* TERN_RESTART is set: this proxy restores rank's application from the
 * checkpoint instead of starting PROGRAM, then serves it (restore.c). */
void px_restart(tern_chan *c, int fd) __attribute__((noreturn));

#pragma GCC visibility pop
#endif
