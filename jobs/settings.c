/* What a job runs with (settings.h). */
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

void jobs_settings_from_jobfile(jobs_settings *s, const jobfile *jf)
{
    const char *v;
    if ((v = jobfile_get(jf, "interval"))) SET(s->interval, v);
    if ((v = jobfile_get(jf, "signal"))) SET(s->signal, v);
    if ((v = jobfile_get(jf, "compress"))) SET(s->compress, v);
    if ((v = jobfile_get(jf, "keep"))) SET(s->keep, v);
}

void jobs_settings_override(jobs_settings *s, const jobs_settings *from, int given)
{
    if (given & 1) SET(s->interval, from->interval);
    if (given & 2) SET(s->signal, from->signal);
    if (given & 4) SET(s->compress, from->compress);
    if (given & 8) SET(s->keep, from->keep);
}

static int check_level(const char *verb, const char *what, const char *v, long lo, long hi)
{
    long x;
    if (jobs_parse_int(v, &x) || x < lo || x > hi)
        return tern_cli_fail(verb, -1, "%s: expected an integer %ld..%ld, got '%s'", what, lo,
                             hi, v);
    return 0;
}

/* the signals libtern accepts by name (docs/runtime.md), or a number */
static int check_signal(const char *verb, const char *v)
{
    static const char *const names[] = {"USR1", "USR2", "HUP", "TERM", "INT", "ALRM", NULL};
    const char *n = strncasecmp(v, "SIG", 3) ? v : v + 3;
    int ok = !strcasecmp(v, "none");
    for (int k = 0; names[k]; k++) ok |= !strcasecmp(n, names[k]);
    long num;
    if (!ok && (jobs_parse_int(v, &num) || num < 1 || num > 64))
        return tern_cli_fail(verb, -1, "--signal: expected USR1, USR2, HUP, TERM, INT, ALRM, a number 1..64 or none, got '%s'", v);
    return 0;
}

int jobs_settings_option(const char *verb, int opt, const char *v, jobs_settings *s,
                         int *given)
{
    double d;
    switch (opt) {
    case JOBS_OPT_INTERVAL:
        if (jobs_parse_double(v, &d) || d < 0)
            return tern_cli_fail(verb, -1, "--interval: expected seconds >= 0, got '%s'", v);
        SET(s->interval, v);
        break;
    case JOBS_OPT_SIGNAL:
        if (check_signal(verb, v)) return -1;
        SET(s->signal, v);
        break;
    case JOBS_OPT_COMPRESS:
        if (check_level(verb, "--compress", v, 0, 9)) return -1;
        SET(s->compress, v);
        break;
    default:
        if (check_level(verb, "--keep", v, 1, 1000000)) return -1;
        SET(s->keep, v);
        break;
    }
    if (given) *given |= 1 << (opt - JOBS_OPT_INTERVAL);
    return 0;
}
