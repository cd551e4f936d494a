/* Job names for processes started with `tern exec --job NAME`.
 *
 * `tern exec` records "PID STARTTIME DEV INO" under a per-user run directory
 * before it execs the program (the pid does not change), so `tern dump NAME`
 * can find the process without the user keeping its pid. The start time
 * (field 22 of /proc/PID/stat) guards against a recycled pid, the device and
 * inode of the program tern exec runs (the interpreter, for a "#!" script)
 * against a record that names some other live process: a record whose
 * process is gone, or whose pid now belongs to another process, is reported
 * as not running; one whose process runs another program is refused.
 *
 * Run directory: $TERN_EXEC_DIR, else $XDG_RUNTIME_DIR/tern, else
 * /tmp/tern-<uid>. It, and every record read from it, must be the user's and
 * not writable by group or others (private_dir.h); it is made 0700 (with
 * its missing parents), records (0600) are written under a fresh name and
 * renamed into place, and read relative to it without following symbolic
 * links.
 */
#ifndef TERN_DUMPER_JOBNAME_H
#define TERN_DUMPER_JOBNAME_H

#include <sys/types.h>

#include "error.h"

/* The process a `tern dump` argument names. */
typedef struct dmp_job {
    pid_t pid;
    int named;                         /* from a record (else a plain pid) */
    char name[256];
    unsigned long long start;          /* the record's start time */
    unsigned long long dev, ino;       /* the record's program */
} dmp_job;

/* Record the calling process under NAME ([A-Za-z0-9_.-]+), about to exec
 * PROG (found in $PATH as execvp would). Fails if NAME is taken by a live
 * process. When PROG cannot be found nothing is recorded (the exec fails). */
int dmp_job_record(const char *name, const char *prog, tern_error *err);

/* Resolve a `tern dump` argument: a pid, or a job name recorded above whose
 * process still has the recorded start time and program. */
int dmp_job_resolve(const char *arg, dmp_job *job, tern_error *err);

/* For a named job: whether job->pid still has the recorded start time and
 * program (call it again once the process is held stopped, before anything
 * is done to it). 0 for a plain pid. */
int dmp_job_check(const dmp_job *job, tern_error *err);

#endif
