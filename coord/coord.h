/* coord.h: the state made by MPI_Init and ended by MPI_Finalize (coord.c).
 *
 * Owner: coord.c writes both in coord_init() (ctrl is freed in
 * coord_finalize()); every other module only reads them.
 */
#ifndef TERN_COORD_COORD_H
#define TERN_COORD_COORD_H

#include <mpi.h>

#pragma GCC visibility push(hidden)

/* tern's own communicator: a private dup of MPI_COMM_WORLD, so that the
 * protocol's collectives never match the application's. */
extern MPI_Comm ctrl;
/* Started by MPI_Comm_spawn: not part of the job's protocol, writes no
 * events and serves no request files. */
extern int spawned;

#pragma GCC visibility pop
#endif
