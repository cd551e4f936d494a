/* checkpoint.h: one checkpoint, once every rank has agreed to take it:
 * EXCHANGE -> DRAIN -> DESCRIBE -> DUMP -> COMMIT (docs/protocol.md).
 *
 * Owner: checkpoint.c writes the figures of the last checkpoint (last_quiesce
 * and those stats_line() prints); snapshot.c reads last_quiesce.
 */
#ifndef TERN_COORD_CHECKPOINT_H
#define TERN_COORD_CHECKPOINT_H

#include <stdint.h>
#include <stddef.h>

#include "tern_store.h"

#pragma GCC visibility push(hidden)

/* Seconds from the decision to this rank quiescent, last checkpoint. */
extern double last_quiesce;
/* Transparent mode: the longest any rank's application was stopped (frozen
 * for the dump and the commit), last checkpoint. */
extern double last_frozen;

/* Returns 1 committed, negative failed (why), 0 quiesced without writing
 * (TERN_QUIESCE_ONLY). *epoch_out: on rank 0 the epoch it proposes (the
 * caller, snapshot.c, chooses it); on return on every rank the epoch
 * attempted. snaps: the snapshot points so far, saved in the metadata.
 * t0: when the decision became known. Collective over ctrl. */
int checkpoint(uint64_t *epoch_out, uint64_t snaps, double t0, char *why, size_t whylen, tern_ckpt_stats *stats);
/* Rank 0, TERN_STATS set: append the last checkpoint's figures to that file. */
void stats_line(const char *what);

#pragma GCC visibility pop
#endif
