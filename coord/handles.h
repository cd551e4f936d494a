/* handles.h: Open MPI's predefined handles, which move from run to run.
 *
 * The table of predefined datatypes (a restart re-posts receives with them,
 * so they are saved by index) and the predefined handles that the
 * application may keep in protected memory (saved with each checkpoint and
 * rewritten by tern_recover()). No state: the tables are made on demand.
 */
#ifndef TERN_COORD_HANDLES_H
#define TERN_COORD_HANDLES_H

#include <mpi.h>
#include <stdint.h>

#pragma GCC visibility push(hidden)

/* Predefined datatype i (0..35), MPI_DATATYPE_NULL beyond. */
#define NPREDEF_C 36   /* C's predefined datatypes: indices 0..35 */
#define NPREDEF 54     /* then Fortran's: 36..53 */
MPI_Datatype predef(int i);
/* Its index, or -1 when t is not in the table. */
int predef_index(MPI_Datatype t);

#define NPREHANDLES 80
/* Fill h (NPREHANDLES words at most) with this run's predefined handles;
 * returns how many. */
int prehandles(uintptr_t *h);
/* Rewrite, in every protected region, each aligned word equal to one of the
 * n saved handles old[] into this run's value of the same handle. */
void fix_prehandles(const uintptr_t *old, int n);

#pragma GCC visibility pop
#endif
