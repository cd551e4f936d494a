/* restart.h: a run started from a checkpoint (TERN_RESTART): tern_recover(),
 * tern_restarted(), tern_epoch(), tern_array_layout() (tern.h).
 *
 * Owner: restart.c holds the open checkpoint and what it read from it; the
 * others learn about a restart through tern_restarted() and tern_epoch().
 */
#ifndef TERN_COORD_RESTART_H
#define TERN_COORD_RESTART_H

#pragma GCC visibility push(hidden)

/* At MPI_Init, when cfg_restart is set: open it and check it on every rank
 * (aborts the job when one cannot use it). Collective over ctrl. */
void restart_open(void);
/* At MPI_Finalize: close the checkpoint, if one is open. */
void restart_close(void);

#pragma GCC visibility pop
#endif
