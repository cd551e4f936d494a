/* control.h: tern's control communicator and the spawned flag.
 *
 * Owner: control.c writes both in control_open() (at MPI_Init, from
 * coord.c) and frees ctrl in control_close() (at MPI_Finalize); every other
 * module only reads them. They live below the modules that read them so
 * that the entry points (coord.c) stay the top of this folder.
 */
#ifndef TERN_COORD_CONTROL_H
#define TERN_COORD_CONTROL_H

#include <mpi.h>

#pragma GCC visibility push(hidden)

/* tern's own communicator: a private dup of MPI_COMM_WORLD, so that the
 * protocol's collectives never match the application's. */
extern MPI_Comm ctrl;
/* Started by MPI_Comm_spawn: not part of the job's protocol, writes no
 * events and serves no request files. */
extern int spawned;

void control_open(void);
void control_close(void);

#pragma GCC visibility pop
#endif
