/* app_refs.h: does the application refer to tern_snapshot() at all?
 *
 * API mode checkpoints only at snapshot points. A program that never calls
 * tern_snapshot() (an unmodified MPI code run under LD_PRELOAD) can be told
 * so at MPI_Init instead of at MPI_Finalize: no object loaded in the process,
 * libtern.so aside, has tern_snapshot among the symbols it imports. A program
 * that finds it with dlsym() is not seen; it is told at MPI_Finalize, as
 * before.
 */
#ifndef TERN_COORD_APP_REFS_H
#define TERN_COORD_APP_REFS_H

#pragma GCC visibility push(hidden)

/* 1 when some loaded object other than libtern.so imports `name`, 0 when
 * none does, -1 when that cannot be told (then assume it does). */
int app_imports(const char *name);

#pragma GCC visibility pop
#endif
