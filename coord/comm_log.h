/* comm_log.h: the communicator log of an API-mode checkpoint and the rebuild
 * of communicators at restart (internal to libtern).
 *
 * A checkpoint holds two descriptions of the live virtual communicators:
 *   _tern_comms          comm_rec[ncomms] (fixed size; protocol version 1 on)
 *   _tern_comm_members   what is needed to make each one again on the same
 *                        number of ranks: world ranks of its group(s) in rank
 *                        order and its topology (protocol version 2 on;
 *                        layout in docs/format.md, "API-mode segments").
 * At restart, communicators the application made again before tern_recover()
 * keep their ordinals (creation order); the others are rebuilt from the log
 * at their saved ordinals, so virtual handles in protected memory name them
 * again (docs/api.md, "Handles"). */
#ifndef TERN_COORD_COMM_LOG_H
#define TERN_COORD_COMM_LOG_H

#include <stddef.h>
#include <stdint.h>

#include "wrap.h"

typedef struct comm_rec {
    uint32_t ordinal, npeers;
    uint64_t gid, world_hash;
    char ctor[40];
} comm_rec;

#define COMM_LOG_SEGMENT "_tern_comm_members"

/* DESCRIBE: both descriptions of every live communicator, malloc'd. World
 * and self are in both (no members in the log: only their constructor
 * counts, which name the children made after a restart). */
void comm_log_describe(comm_rec **recs, uint64_t *nrecs, void **log, size_t *loglen);

/* RESTART, inside tern_recover(), same rank count only. Collective over ctl
 * (a private duplicate of MPI_COMM_WORLD): every rank calls it, also one whose
 * earlier recovery steps failed (ok == 0), so that nobody waits in a
 * constructor for a rank that gave up. log == NULL (a version 1 checkpoint):
 * nothing is rebuilt. Returns 0, or -1 with a one-line reason in why (empty
 * when the failure is another rank's, which reports it itself). */
int comm_log_rebuild(MPI_Comm ctl, const comm_rec *recs, uint64_t nrecs, const void *log,
                     size_t loglen, int ok, char *why, size_t whylen);

/* 0 when c (this run's communicator at the ordinal of s, or NULL) can carry
 * the saved state of s; else -1 and, in why, the end of a sentence
 * "... refers to communicator #N (ctor), which <why>". */
int comm_log_check(const comm_rec *s, const tern_comm *c, char *why, size_t whylen);

/* Frees what comm_log_rebuild kept for comm_log_check. */
void comm_log_release(void);

#endif
