/* snapshot.h: AGREE and the serving of a decided checkpoint (tern_snapshot).
 *
 * Owner: snapshot.c writes the snapshot count, the agreement in flight and
 * the next epoch; others read snap_count, and restart.c sets where the epochs
 * continue through next_epoch_after().
 */
#ifndef TERN_COORD_SNAPSHOT_H
#define TERN_COORD_SNAPSHOT_H

#include <stdint.h>

#pragma GCC visibility push(hidden)

extern uint64_t snap_count;   /* tern_snapshot() calls so far */

/* Epochs continue after this one (a restart from it). */
void next_epoch_after(uint64_t epoch);
/* Take the checkpoint every rank decided on (bits: TRIG_*; t0: when the
 * decision was known), report it, answer the requests it served, stop the
 * job if asked; 1 committed, 0 quiesced only, -1 failed. Collective over
 * ctrl. Also transparent mode's cut (cut.c). */
int snapshot_serve(unsigned bits, double t0);
/* MPI_Finalize: complete the agreement started at the last snapshot point. */
void agree_finish(void);

#pragma GCC visibility pop
#endif
