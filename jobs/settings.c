/* What a job runs with (settings.h). */
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "cli.h"
#include "settings.h"

#define SET(field, value) snprintf(field, sizeof field, "%s", value)

void jobs_settings_defaults(jobs_settings *s)
{
    SET(s->interval, "0");
    SET(s->signal, "USR1");
    SET(s->compress, "1");
    SET(s->keep, "2");
}

void jobs_settings_override(jobs_settings *s, const jobs_settings *from, int given)
{
    if (given & 1) SET(s->interval, from->interval);
    if (given & 2) SET(s->signal, from->signal);
    if (given & 4) SET(s->compress, from->compress);
    if (given & 8) SET(s->keep, from->keep);
}

/* ---- the checks: NULL, or what is wrong with v (into why) ------------------ */
static const char *check_level(const char *v, long lo, long hi, char *why, size_t len)
{
    long x;
    char shown[256];
    if (!jobs_parse_int(v, &x) && x >= lo && x <= hi) return NULL;
    jobs_printable(v, shown, sizeof shown);
    snprintf(why, len, "expected an integer %ld..%ld, got '%s'", lo, hi, shown);
    return why;
}

/* the signals libtern accepts by name (docs/runtime.md), or a number of a
 * signal a handler can catch */
static const char *check_signal(const char *v, char *why, size_t len)
{
    static const char *const names[] = {"USR1", "USR2", "HUP", "TERM", "INT", "ALRM", NULL};
    const char *n = strncasecmp(v, "SIG", 3) ? v : v + 3;
    int ok = !strcasecmp(v, "none");
    for (int k = 0; names[k]; k++) ok |= !strcasecmp(n, names[k]);
    long num;
    char shown[256];
    jobs_printable(v, shown, sizeof shown);
    if (!ok && (jobs_parse_int(v, &num) || num < 1 || num > 64)) {
        snprintf(why, len, "expected USR1, USR2, HUP, TERM, INT, ALRM, a number 1..64 or none, got '%s'", shown);
        return why;
    }
    /* KILL and STOP never reach a handler; glibc keeps 32 and 33 (below
     * SIGRTMIN) for its threads */
    const char *never = ok ? NULL : num == SIGKILL ? "SIGKILL" : num == SIGSTOP ? "SIGSTOP"
                        : num > 31 && num < SIGRTMIN ? "reserved by the C library" : NULL;
    if (!never) return NULL;
    snprintf(why, len, "signal %ld (%s) cannot be caught: use another one", num, never);
    return why;
}

static const char *check_interval(const char *v, char *why, size_t len)
{
    double d;
    char shown[256];
    /* nan passes every comparison, inf never comes: both are no interval */
    if (!jobs_parse_double(v, &d) && isfinite(d) && d >= 0) return NULL;
    jobs_printable(v, shown, sizeof shown);
    snprintf(why, len, "expected seconds >= 0, got '%s'", shown);
    return why;
}

/* What is wrong with the value of setting opt (JOBS_OPT_*), or NULL. */
static const char *check(int opt, const char *v, char *why, size_t len)
{
    switch (opt) {
    case JOBS_OPT_INTERVAL: return check_interval(v, why, len);
    case JOBS_OPT_SIGNAL: return check_signal(v, why, len);
    case JOBS_OPT_COMPRESS: return check_level(v, 0, 9, why, len);
    default: return check_level(v, 1, 1000000, why, len);
    }
}

static const char *const option_names[] = {"interval", "signal", "compress", "keep"};

/* v into the field of s that holds setting opt */
static void store(jobs_settings *s, int opt, const char *v)
{
    char *f[] = {s->interval, s->signal, s->compress, s->keep};
    snprintf(f[opt - JOBS_OPT_INTERVAL], sizeof s->interval, "%s", v);
}

int jobs_settings_option(const char *verb, int opt, const char *v, jobs_settings *s,
                         int *given)
{
    char why[512];
    if (check(opt, v, why, sizeof why))
        return tern_cli_fail(verb, -1, "--%s: %s", option_names[opt - JOBS_OPT_INTERVAL], why);
    store(s, opt, v);
    if (given) *given |= 1 << (opt - JOBS_OPT_INTERVAL);
    return 0;
}

int jobs_settings_from_jobfile(const char *verb, jobs_settings *s, const jobfile *jf,
                               const char *where)
{
    for (int opt = JOBS_OPT_INTERVAL; opt <= JOBS_OPT_KEEP; opt++) {
        const char *name = option_names[opt - JOBS_OPT_INTERVAL], *v = jobfile_get(jf, name);
        char why[512];
        if (!v) continue;
        if (check(opt, v, why, sizeof why))
            return tern_cli_fail(verb, -1, "%s: %s: %s", where, name, why);
        store(s, opt, v);
    }
    return 0;
}
