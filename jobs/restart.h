/* restart.h: restarting a job from one of its checkpoints, on the same or
 * other hosts: what tern restart does, and tern migrate after its stop. */
#ifndef TERN_JOBS_RESTART_H
#define TERN_JOBS_RESTART_H

#include "settings.h"
#include "util.h"

typedef struct jobs_restart_opts {
    const char *verb;
    const char *dir_arg, *job, *from, *hostfile;
    strv exclude;
    strv user_args;             /* after --: [mpirun] [mpirun options] [PROGRAM ARGS] */
    jobs_settings set;          /* --interval, --signal, ... given: */
    int set_given;              /*   their bits (jobs_settings_option) */
    int dry_run, json, quiet;
    int check_only;             /* with dry_run: print nothing, only check */
    void (*on_event)(void *ctx, const char *name, const char *line);
    void *ctx;
} jobs_restart_opts;

/* Reads the job and its checkpoint (--from, else the latest), places the
 * ranks, and runs the job as tern run would (or, with dry_run, prints the
 * plan). The exit status: the job's, or 2 with the error printed. */
int jobs_restart(const jobs_restart_opts *o);

#endif
