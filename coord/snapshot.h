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
/* MPI_Finalize: complete the agreement started at the last snapshot point. */
void agree_finish(void);

#pragma GCC visibility pop
#endif
