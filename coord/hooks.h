/* hooks.h: the proxy's hooks in transparent mode (tern_tm.h), below every
 * module that calls them.
 *
 * Owner: hooks.c writes tm_hooks once, in tern_tm_enable() (before
 * MPI_Init); checkpoint.c calls them at DRAIN's end, DUMP and after COMMIT;
 * cut.c and coord.c read whether they are set (transparent mode).
 */
#ifndef TERN_COORD_HOOKS_H
#define TERN_COORD_HOOKS_H

#include "tern_tm.h"

#pragma GCC visibility push(hidden)
extern const tern_tm_hooks *tm_hooks;   /* non-NULL: this process is a proxy */
#pragma GCC visibility pop
#endif
