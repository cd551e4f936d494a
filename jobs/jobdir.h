/* jobdir.h: a job directory (./tern-ckpt/NAME or --dir): finding it, opening
 * it so that no one else can steer it (private_dir.h), its job file, and
 * the checkpoints an earlier run left in it. docs/runtime.md says what else
 * libtern keeps there (events, requests); docs/security.md what tern
 * refuses. */
#ifndef TERN_JOBS_JOBDIR_H
#define TERN_JOBS_JOBDIR_H

#include <stddef.h>
#include <sys/types.h>

#include "error.h"
#include "util.h"

/* ---- the directory ---------------------------------------------------- */
typedef struct jobdir {
    int fd;              /* O_DIRECTORY|O_NOFOLLOW, owner and mode checked; -1 none */
    char path[4096];     /* its absolute path (what TERN_DIR and messages name) */
} jobdir;

/* Opens want as the job directory for verb; tern_made: want is the
 * tern-ckpt/NAME tern picks by itself, so its tern-ckpt is checked too;
 * create: make what is missing (tern run). 0, or -1 with the one-line
 * error printed: a symbolic link, not a directory, owned by someone else,
 * writable by group or others. */
int jobdir_open(const char *verb, const char *want, int tern_made, int create, jobdir *d);
void jobdir_close(jobdir *d);

/* arg: the JOBDIR argument (may be NULL); job: --job (may be NULL); then
 * TERN_DIR; then the only directory in ./tern-ckpt. Opens it (jobdir_open),
 * or prints the one-line error for verb and returns -1. */
int jobs_resolve_dir(const char *verb, const char *arg, const char *job, jobdir *d);

/* Every file in d that tern, libtern or the store reads or writes (job,
 * events, rankfile, MANIFEST*, ckpt-*, request.*, .tmp-*): a regular file of
 * the user's that others cannot write, never a link (and, but for committed
 * checkpoints, with one link only). 0, or -1 with the error printed for
 * the first one refused: nothing is done in a directory holding such a
 * file, because libtern and the store would write through it. */
int jobdir_check_files(const char *verb, const jobdir *d);

/* A file of d read whole (checked as above; malloc'ed), or NULL with err
 * set (code ENOENT when it is missing). */
char *jobdir_read(const jobdir *d, const char *name, size_t max, tern_error *err);
/* A file of d written whole under a fresh name and renamed into place. */
int jobdir_write(const jobdir *d, const char *name, const char *text, tern_error *err);

/* ---- the job file d/job (key=value lines; arg= lines are the mpirun
 * arguments), written by tern run and tern restart --------------------- */
typedef struct jobfile {
    strv keys, vals;   /* every non-arg line, in order */
    strv args;         /* arg= lines */
} jobfile;
/* 0; -1 when there is none; -2 when it is refused (error printed for verb) */
int jobfile_read(const char *verb, const jobdir *d, jobfile *jf);
const char *jobfile_get(const jobfile *jf, const char *key);
void jobfile_free(jobfile *jf);
/* 1 when the job was started on this host (host= is this host and
 * mpirun_pid= is set; *pid is that pid, *start its mpirun_start= or 0),
 * else 0: only then can tern tell whether it still runs
 * (jobs_proc_running). */
int jobfile_local_mpirun(const jobfile *jf, pid_t *pid, unsigned long long *start);
/* 1 when the job of jf runs (started on this host, and its mpirun alive:
 * not a zombie, not another process with a recycled pid), 0 when it does
 * not, -1 when tern cannot tell (started on another host, or no pid). */
int jobfile_running(const jobfile *jf);

/* ---- what an earlier run left ----------------------------------------- */
int jobdir_has_checkpoints(const jobdir *d);
/* deletes the checkpoints, the manifest, events, requests and the job file */
void jobdir_clear(const jobdir *d);

#endif
