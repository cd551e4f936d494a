/* tern_tm.h: what libtern.so offers the proxy of transparent mode (proxy/),
 * the one contract between them (docs/transparent.md, "Checkpoints").
 *
 * In transparent mode the protocol runs in the proxy, which serves the
 * application's MPI calls: there are no snapshot points. Rank 0's proxy
 * turns a trigger into an INTENT (a broadcast every proxy keeps posted);
 * then the proxies run ROUNDS (an allgather of each rank's collective
 * sequence numbers and whether it is READY) until every rank is READY and
 * every communicator's members have entered the same number of
 * collectives; that round decides the CUT, which runs API mode's
 * checkpoint (EXCHANGE, DRAIN, DESCRIBE, DUMP, COMMIT) with the proxy's
 * hooks for what only the proxy knows: its registry, its requests, the
 * application's image. docs/protocol.md, "Transparent mode", proves the cut
 * consistent.
 *
 * The proxy calls tern_tm_poll() wherever it waits; `ready` says whether a
 * cut may run nested right there (the application's call can be made again
 * from its saved bytes after a restart, or its only remaining part is a
 * send the drain completes). Before entering a collective it asks
 * tern_tm_may_enter(); a blocking receive asks tern_tm_park_receives()
 * whether to cancel its internal request and wait.
 *
 * Lower layers never name the proxy: it registers its hooks here.
 */
#ifndef TERN_TM_H
#define TERN_TM_H

#include <mpi.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Where the proxy's segments go (into this rank's part of the epoch's
 * file). fill: like the store's tern_fill_fn, pulled at commit. */
typedef int (*tern_tm_fill_fn)(void *ctx, uint64_t offset, void *dst, size_t n, tern_error *err);
typedef struct tern_tm_sink {
    void *w;
    int (*put)(void *w, const char *name, const void *p, size_t n, tern_error *err);
    int (*put_fn)(void *w, const char *name, uint64_t len, tern_tm_fill_fn fill, void *ctx, tern_error *err);
} tern_tm_sink;

typedef struct tern_tm_hooks {
    /* After DRAIN, this rank quiescent: finish what completed (write back
     * received data), freeze the application. -1 with err: this rank cannot
     * be saved (a refusal: the checkpoint fails everywhere, the job runs on). */
    int (*quiesced)(tern_error *err);
    /* This rank's segments into s (DUMP). */
    int (*put)(const tern_tm_sink *s, tern_error *err);
    /* After COMMIT (committed = 1) or a failure: the application runs on. */
    void (*resume)(int committed);
} tern_tm_hooks;

/* Before MPI_Init: this process is a proxy; h stays the caller's. */
void tern_tm_enable(const tern_tm_hooks *h);

/* A place to serve the protocol. ready: a cut may run here. Returns 1 when
 * a checkpoint ran (committed or not), else 0. Cheap when nothing is going
 * on (one MPI_Test of the intent). */
int tern_tm_poll(int ready);
/* A collective on comm may start now (no cut pending, or this rank is
 * behind the other members of comm). */
int tern_tm_may_enter(MPI_Comm comm);
/* Before a collective (or, ctor = 1, a communicator constructor) on comm:
 * waits, serving the protocol as READY, until it may start; a constructor
 * then meets the other members first (cut.c says why). An MPI error code. */
int tern_tm_gate(MPI_Comm comm, int ctor);
/* A cut is pending and every communicator is aligned: blocking receives
 * should cancel their internal request and wait (READY). */
int tern_tm_park_receives(void);
/* A cut is pending (a waiter should poll often: idle, every millisecond). */
int tern_tm_cutting(void);
/* MPI_Finalize is next: serve a cut in progress, retire the intent. */
void tern_tm_finalize(void);

/* ---- restart (TERN_RESTART set) ---- */
/* This run restarts a transparent checkpoint: 1, else 0 (after MPI_Init). */
int tern_tm_restarted(void);
/* Rebuild communicators and drained messages (collective); 0 or -1 (said). */
int tern_tm_recover(void);
/* One of this rank's segments of the restart checkpoint, malloc'ed. */
int tern_tm_read(const char *name, void **buf, size_t *len, tern_error *err);
/* The checkpoint file being restarted from (for a serial reader). */
const char *tern_tm_restart_file(void);

#ifdef __cplusplus
}
#endif
#endif
