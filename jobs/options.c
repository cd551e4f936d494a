/* Reading a verb's options (options.h). */
#include <string.h>

#include "cli.h"
#include "options.h"

void jobs_opts_begin(jobs_opts *p, const char *verb, int argc, char **argv,
                     const struct option *longopts)
{
    memset(p, 0, sizeof *p);
    p->verb = verb;
    p->argc = argc;
    p->argv = argv;
    p->longopts = longopts;
    opterr = 0;
    optind = 1;
}

/* Whether word is, letter for letter, the option getopt_long took it for
 * (val c): "-h", or "--" and the whole name of a long option. */
static int spelled_out(const jobs_opts *p, const char *word, int c)
{
    if (!strcmp(word, "-h")) return c == 'h';
    if (strncmp(word, "--", 2)) return 0;
    for (const struct option *o = p->longopts; o->name; o++)
        if (!strcmp(word + 2, o->name)) return o->val == c;
    return 0;
}

int jobs_opts_next(jobs_opts *p)
{
    int at = optind;
    p->word = at < p->argc ? p->argv[at] : NULL;
    p->dashdash = 0;
    /* '+': stop at the first argument that is no option; ':': a missing
     * value is ':', not '?' */
    int c = getopt_long(p->argc, p->argv, "+:h", p->longopts, NULL);
    if (c == -1) {
        if (optind > at) { /* getopt_long took "--" */
            p->dashdash = 1;
            return JOBS_OPT_END;
        }
        if (!p->word) return JOBS_OPT_END;
        return strcmp(p->word, "-") ? JOBS_OPT_OPERAND : JOBS_OPT_UNKNOWN;
    }
    if (c == ':') return spelled_out(p, p->word, optopt) ? JOBS_OPT_NOVALUE : JOBS_OPT_UNKNOWN;
    if (c == '?' || !spelled_out(p, p->word, c)) return JOBS_OPT_UNKNOWN;
    return c;
}

int jobs_opt_unknown(const jobs_opts *p)
{
    return tern_cli_fail(p->verb, 2, "unknown option '%s' (see 'tern %s --help')", p->word,
                         p->verb);
}

int jobs_opt_novalue(const jobs_opts *p)
{
    return tern_cli_fail(p->verb, 2, "%s needs a value", p->word);
}
