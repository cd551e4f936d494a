/* launch.h: starting a job under tern (mpirun with libtern.so preloaded and
 * the TERN_* settings passed to every rank), writing its job file, and
 * following it: one line per event libtern appends to DIR/events
 * (docs/runtime.md), until mpirun exits. */
#ifndef TERN_JOBS_LAUNCH_H
#define TERN_JOBS_LAUNCH_H

#include <stddef.h>

#include "settings.h"
#include "util.h"

typedef struct jobs_launch {
    const char *verb;
    jobs_settings set;
    const char *launcher;       /* NULL = "mpirun" (env TERN_MPIRUN) */
    strv opts;                  /* launcher options, placement included */
    strv prog;                  /* program and its arguments */
    strv saved_args;            /* what goes into the job file as arg= lines */
    const char *restart_from;   /* TERN_RESTART, or NULL */
    const char *hosts;          /* for the job file */
    int nranks;                 /* for the job file (0 unknown) */
    int json;
    int quiet;
    /* called for every event line seen while the job runs */
    void (*on_event)(void *ctx, const char *name, const char *line);
    void *ctx;
} jobs_launch;

/* Starts the job, writes DIR/job, prints one line per event, returns the
 * launcher's exit status (128+signal when killed), or -1 when it could not
 * start (error printed). libtern.so is TERN_LIB, else the installed layout
 * next to the tern binary, else the build tree's, else the install libdir. */
int jobs_launch_and_follow(jobs_launch *L);

/* "key=" value of an event line into buf; 0 found, -1 not. */
int jobs_event_get(const char *line, const char *key, char *buf, size_t len);

#endif
