/* launch.h: starting a job under tern (mpirun with libtern.so preloaded and
 * the TERN_* settings passed to every rank), writing its job file, and
 * following it: one line per event libtern appends to DIR/events
 * (docs/runtime.md), until mpirun exits. */
#ifndef TERN_JOBS_LAUNCH_H
#define TERN_JOBS_LAUNCH_H

#include <stddef.h>
#include <stdio.h>

#include "jobdir.h"
#include "settings.h"
#include "util.h"

typedef struct jobs_launch {
    const char *verb;
    const jobdir *jd;           /* the job directory, opened (set.dir is its path) */
    jobs_settings set;
    const char *launcher;       /* NULL = jobs_default_launcher() */
    strv opts;                  /* launcher options, placement included */
    strv prog;                  /* program and its arguments */
    strv saved_args;            /* what goes into the job file as arg= lines */
    const char *restart_from;   /* TERN_RESTART, or NULL */
    const char *hosts;          /* for the job file */
    int nranks;                 /* for the job file (0 unknown) */
    int json;                   /* events as JSON objects, no progress lines */
    FILE *events_out;           /* where JSON events go (NULL: stderr, never the
                                 * job's stdout); set: JSON events there even
                                 * without json, progress lines as well */
    int quiet;
    /* called for every event line seen while the job runs */
    void (*on_event)(void *ctx, const char *name, const char *line);
    void *ctx;
    /* tern's own */
    char launcher_path[4096];   /* the launcher run, made absolute */
    int events_refused;         /* DIR/events was refused: no more looks */
} jobs_launch;

/* Starts the job, writes DIR/job, prints one line per event, returns the
 * launcher's exit status (128+signal when killed), or -1 when it could not
 * start (error printed; a control character in a value that would go into
 * the job file is refused before anything runs). libtern.so is TERN_LIB, else the installed layout
 * next to the tern binary, else the build tree's, else the install libdir. */
int jobs_launch_and_follow(jobs_launch *L);

/* The job file is read back line by line as key=value: a value holding a
 * newline would add a key (--dir "x\nlauncher=/bin/evil"). 0 when value
 * (may be NULL) holds no control character, else -1 with the error
 * printed: "WHAT 'VALUE' holds a control character (0xNN): not supported".
 * Arguments of the program may hold any but a newline. */
int jobs_check_text(const char *verb, const char *what, const char *value);

/* The launcher tern runs when none is given: $TERN_MPIRUN, else mpirun,
 * made absolute through PATH when it is found there. */
void jobs_default_launcher(char *out, size_t len);

/* "key=" value of an event line into buf; 0 found, -1 not. */
int jobs_event_get(const char *line, const char *key, char *buf, size_t len);

#endif
