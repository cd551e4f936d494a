/* jobdir.h: a job directory (./tern-ckpt/NAME or --dir): finding it, its job
 * file, and the checkpoints an earlier run left in it. docs/runtime.md says
 * what else libtern keeps there (events, requests). */
#ifndef TERN_JOBS_JOBDIR_H
#define TERN_JOBS_JOBDIR_H

#include <stddef.h>
#include <sys/types.h>

#include "util.h"

/* ---- the job file DIR/job (key=value lines; arg= lines are the mpirun
 * arguments), written by tern run and tern restart --------------------- */
typedef struct jobfile {
    strv keys, vals;   /* every non-arg line, in order */
    strv args;         /* arg= lines */
} jobfile;
int jobfile_read(const char *dir, jobfile *jf);   /* 0, or -1 when missing */
const char *jobfile_get(const jobfile *jf, const char *key);
void jobfile_free(jobfile *jf);
/* 1 when the job was started on this host (host= is this host and
 * mpirun_pid= is set; *pid is that pid), else 0: only then can tern tell
 * whether it still runs. */
int jobfile_local_mpirun(const jobfile *jf, pid_t *pid);

/* ---- finding the directory ------------------------------------------- */
/* arg: the JOBDIR argument (may be NULL); job: --job (may be NULL); then
 * TERN_DIR; then the only directory in ./tern-ckpt.
 * Fills out with an absolute path of an existing directory, or prints the
 * one-line error for verb and returns -1. */
int jobs_resolve_dir(const char *verb, const char *arg, const char *job,
                     char *out, size_t len);

/* ---- what an earlier run left ----------------------------------------- */
int jobdir_has_checkpoints(const char *dir);
/* deletes the checkpoints, the manifest, events, requests and the job file */
void jobdir_clear(const char *dir);

#endif
