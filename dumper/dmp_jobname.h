/* Job names for processes started with `tern exec --job NAME`.
 *
 * `tern exec` records "PID STARTTIME" under a per-user run directory before it
 * execs the program (the pid does not change), so `tern dump NAME` can find
 * the process without the user keeping its pid. The start time (field 22 of
 * /proc/PID/stat) guards against a recycled pid: a record whose process is
 * gone, or whose pid now belongs to another process, is reported as not
 * running rather than dumping a stranger.
 *
 * Run directory: $TERN_EXEC_DIR, else $XDG_RUNTIME_DIR/tern, else
 * /tmp/tern-<uid>.
 */
#ifndef TERN_DUMPER_JOBNAME_H
#define TERN_DUMPER_JOBNAME_H

#include <sys/types.h>

#include "error.h"

/* Record the calling process under NAME ([A-Za-z0-9_.-]+). Fails if NAME is
 * taken by a live process. */
int dmp_job_record(const char *name, tern_error *err);

/* Resolve a `tern dump` argument: a pid, or a job name recorded above. */
int dmp_job_resolve(const char *arg, pid_t *pid, tern_error *err);

#endif
