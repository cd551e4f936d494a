/* jobs/: internal helpers shared by tern run / checkpoint / restart / migrate.
 * docs/runtime.md is the contract with libtern; docs/usage.md the user side. */
#ifndef TERN_JOBS_JOBS_H
#define TERN_JOBS_JOBS_H

#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

/* ---- growable string vector ------------------------------------------ */
typedef struct strv {
    char **v;
    int n, cap;
} strv;
void sv_push(strv *s, const char *x);
void sv_pushf(strv *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sv_free(strv *s);
int sv_has(const strv *s, const char *x);
char *sv_join(const strv *s, const char *sep); /* malloc'ed */

/* ---- small utilities --------------------------------------------------- */
double jobs_now(void);                            /* wall clock, seconds */
void jobs_sleep(double seconds);
int jobs_pid_alive(pid_t pid);                    /* 1 alive (or zombie), 0 gone */
const char *jobs_hostname(void);
int jobs_is_dir(const char *p);
int jobs_is_file(const char *p);
int jobs_mkdir_p(const char *path);
int jobs_write_file_atomic(const char *path, const char *text);
char *jobs_read_file(const char *path);           /* malloc'ed or NULL */
int jobs_parse_double(const char *s, double *out);
int jobs_parse_int(const char *s, long *out);
void jobs_human_bytes(double b, char *buf, size_t len);

/* ---- the job file (key=value lines; arg= lines are the mpirun arguments) */
typedef struct jobfile {
    strv keys, vals;   /* every non-arg line, in order */
    strv args;         /* arg= lines */
} jobfile;
int jobfile_read(const char *dir, jobfile *jf);   /* 0, or -1 when missing */
const char *jobfile_get(const jobfile *jf, const char *key);
void jobfile_free(jobfile *jf);

/* ---- job directory resolution ----------------------------------------- */
/* arg: the JOBDIR argument (may be NULL); job: --job (may be NULL).
 * Fills out with an absolute path of an existing directory, or prints the
 * one-line error for verb and returns -1. */
int jobs_resolve_dir(const char *verb, const char *arg, const char *job,
                     char *out, size_t len);

/* ---- mpirun command lines --------------------------------------------- */
/* Splits mpirun arguments into launcher options and program+args. The
 * launcher itself (mpirun/mpiexec/orterun path as first word) goes to
 * *launcher when present. */
void mpi_split(int argc, char **argv, char **launcher, strv *opts, strv *prog);
/* Number of arguments an mpirun option consumes (0, 1 or 2). */
int mpi_opt_nargs(const char *opt);
/* -np/-n/-c value in opts, or 0. */
int mpi_nranks(const strv *opts);
/* Hosts named by --host/-H or a hostfile in opts, comma-separated, or "". */
void mpi_hosts(const strv *opts, char *buf, size_t len);
/* Options with everything about placement removed (-np, --host, --hostfile,
 * --rankfile, --map-by, --npernode ...). */
void mpi_strip_placement(const strv *in, strv *out);
int mpi_oversubscribe(const strv *opts);

/* ---- libtern.so -------------------------------------------------------- */
/* TERN_LIB, then the build tree next to the tern binary, then the install
 * libdir. Returns 0 and fills out, or -1 with a description of where it looked. */
int jobs_find_libtern(char *out, size_t len, char *looked, size_t looked_len);

/* ---- launching and following a job ------------------------------------ */
typedef struct jobs_settings {
    char job[256];
    char dir[4096];
    char interval[32], signal[32], compress[32], keep[32];
    int no_preload;
} jobs_settings;

struct jobs_event {
    char name[32];
    const char *line;           /* the whole line */
};
/* "key=" value of an event line into buf; 0 found, -1 not. */
int jobs_event_get(const char *line, const char *key, char *buf, size_t len);

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
 * start (error printed). */
int jobs_launch_and_follow(jobs_launch *L);

/* Events file offset (its current size) and reading new lines from it. */
long jobs_events_size(const char *dir);

/* ---- checkpoint requests ------------------------------------------------ */
typedef struct jobs_request_result {
    int status;                 /* 0 committed, 1 failed, 3 timeout, 4 job gone */
    uint64_t epoch;
    char path[4096];
    char reason[1024];
} jobs_request_result;
int jobs_request(const char *dir, const jobfile *jf, const char *what,
                 double timeout, jobs_request_result *res);

/* ---- restart (shared by restart and migrate) ---------------------------- */
typedef struct jobs_restart_opts {
    const char *verb;
    const char *dir_arg, *job, *from, *hostfile;
    strv exclude;
    strv user_args;             /* after -- */
    const char *interval, *signal, *compress, *keep;
    int dry_run, json, quiet;
    int check_only;             /* with dry_run: print nothing, only check */
    void (*on_event)(void *ctx, const char *name, const char *line);
    void *ctx;
} jobs_restart_opts;
int jobs_restart(jobs_restart_opts *o);

/* ---- placement (placement.c) ------------------------------------------- */
int jobs_cores_of_xml(const char *xml);           /* -1 when unreadable */
int jobs_local_cores(void);

#endif
