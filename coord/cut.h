/* cut.h: transparent mode's protocol inside libtern (cut.c; the proxy's
 * side is tern_tm.h).
 *
 * Owner: cut.c writes all of the protocol's state; coord.c starts it after
 * MPI_Init and retires it at MPI_Finalize.
 */
#ifndef TERN_COORD_CUT_H
#define TERN_COORD_CUT_H

#include <stdint.h>

#include "tern_tm.h"

#pragma GCC visibility push(hidden)

/* After MPI_Init: post the intent broadcast. */
void tm_start(void);
/* The largest collective count among the members of communicator gid, as
 * the last round saw it (0 when no round has). */
uint64_t tm_target(uint64_t gid);

#pragma GCC visibility pop
#endif
