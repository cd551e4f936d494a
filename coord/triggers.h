/* triggers.h: what asks for a checkpoint on this rank (docs/protocol.md,
 * "trigger bits"): the trigger signal, tern_request_checkpoint(), the
 * interval, and on rank 0 the request files (requests.h).
 *
 * Owner: triggers.c writes the signal flag, the API flag, the interval's due
 * time and cfg_signal; other modules act on them only through the functions
 * below. A trigger is only remembered here; snapshot.c turns it into an
 * agreement at the next tern_snapshot().
 */
#ifndef TERN_COORD_TRIGGERS_H
#define TERN_COORD_TRIGGERS_H

#include "requests.h"   /* the request files are the lowest trigger source; TRIG_* */

#pragma GCC visibility push(hidden)

extern int cfg_signal;   /* TERN_SIGNAL: the trigger signal, 0 for none (set by install_signal) */

/* (Re)read TERN_SIGNAL and install the handler. Also run when the library is
 * loaded, so that a signal before or during MPI_Init does not kill the
 * process. */
void install_signal(void);
/* Triggers seen since the last call (TRIG_* bits); consumes them. */
unsigned local_triggers(void);
/* The next interval trigger is due cfg_interval from now (after a checkpoint,
 * and at MPI_Init). */
void interval_restart(void);
/* Drop a signal that arrived before MPI_Init returned. */
void forget_signal(void);
/* A signal or tern_request_checkpoint() not yet taken by local_triggers(). */
int triggers_pending(void);
/* The application has no snapshot points: from now on rank 0 answers the
 * trigger signal at once with a line on stderr (it is still noted). */
void triggers_unservable(void);

#pragma GCC visibility pop
#endif
