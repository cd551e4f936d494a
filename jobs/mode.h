/* mode.h: API mode or transparent mode for `tern run` (docs/usage.md,
 * docs/transparent.md). An unmodified MPI binary (it needs libmpi.so and
 * does not import tern_snapshot) runs under tern-proxy, one per rank; any
 * other program -- one built against tern.h, a script, a program that is no
 * MPI program -- runs as before, with libtern.so preloaded.
 * --mode=api|transparent forces either. */
#ifndef TERN_JOBS_MODE_H
#define TERN_JOBS_MODE_H

#include "launch.h"

enum { JOBS_MODE_AUTO = 0, JOBS_MODE_API, JOBS_MODE_TRANSPARENT };

/* "api", "transparent" or "auto"; -1 for anything else. */
int jobs_mode_parse(const char *s);

/* Chooses the mode for L's program (auto: from the binary) and, for
 * transparent mode, puts tern-proxy before it and preloads nothing (the
 * proxy links libtern itself). The mode, or -1 with the error printed. */
int jobs_mode_setup(jobs_launch *L, int forced);

#endif
