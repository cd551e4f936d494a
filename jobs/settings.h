/* settings.h: what a job runs with (its name and directory, the TERN_*
 * checkpoint settings libtern reads, docs/runtime.md): the defaults, the
 * options tern run and tern restart share to set them, and the values the
 * job file keeps for a restart. */
#ifndef TERN_JOBS_SETTINGS_H
#define TERN_JOBS_SETTINGS_H

#include <getopt.h>

#include "jobdir.h"

typedef struct jobs_settings {
    char job[256];
    char dir[4096];
    char interval[32], signal[32], compress[32], keep[32];
    int no_preload;
} jobs_settings;

/* interval 0 (no periodic checkpoints), signal USR1, compress 1, keep 2 */
void jobs_settings_defaults(jobs_settings *s);
/* The interval, signal, compress and keep= lines of a job file over s,
 * checked as the options are (the job file is data: a value tern run would
 * refuse is refused). where: the job file, for the message. 0, or -1 with
 * the error printed. */
int jobs_settings_from_jobfile(const char *verb, jobs_settings *s, const jobfile *jf,
                               const char *where);

/* ---- --interval SEC, --signal SIG, --compress LEVEL, --keep N ------------ */
enum {
    JOBS_OPT_INTERVAL = 0x100,
    JOBS_OPT_SIGNAL,
    JOBS_OPT_COMPRESS,
    JOBS_OPT_KEEP,
};
#define JOBS_SETTINGS_OPTIONS                                    \
    {"interval", required_argument, 0, JOBS_OPT_INTERVAL},       \
    {"signal", required_argument, 0, JOBS_OPT_SIGNAL},           \
    {"compress", required_argument, 0, JOBS_OPT_COMPRESS},       \
    {"keep", required_argument, 0, JOBS_OPT_KEEP}

/* Option opt (one of JOBS_OPT_*) with its value: checked, stored in s, and
 * its bit set in *given (when not NULL). 0, or -1 with the error printed. */
int jobs_settings_option(const char *verb, int opt, const char *value, jobs_settings *s,
                         int *given);
/* The checkpoint settings whose bit is in given, from `from` into s. */
void jobs_settings_override(jobs_settings *s, const jobs_settings *from, int given);

#endif
