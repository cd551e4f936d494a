/* Reading a verb's options (options.h). */
#include <stdio.h>
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

/* Whether the verb has a long option named name. */
static int has_option(const jobs_opts *p, const char *name)
{
    for (const struct option *o = p->longopts; o->name; o++)
        if (!strcmp(o->name, name)) return 1;
    return 0;
}

/* -v, --verbose, --quiet (every verb's, common/cli.h) at argv[optind]:
 * taken (1), or not one of them, or the verb's own (0). --quiet sets the
 * verbosity even when the verb reads it itself. */
static int common_option(const jobs_opts *p)
{
    if (optind >= p->argc) return 0;
    const char *w = p->argv[optind];
    if (!strcmp(w, "--quiet")) {
        tern_cli_verbosity = -1;
        return !has_option(p, "quiet");
    }
    if (!strcmp(w, "-v") || (!strcmp(w, "--verbose") && !has_option(p, "verbose"))) {
        tern_cli_verbosity = 1;
        return 1;
    }
    return 0;
}

int jobs_opts_next(jobs_opts *p)
{
    while (common_option(p)) optind++;
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
    /* --jsn: did you mean --json? (only a word that looks like a long option) */
    if (p->word && !strncmp(p->word, "--", 2) && p->word[2] && !strchr(p->word, '=')) {
        const char *cand[64];
        char spelled[64][64];
        int n = 0;
        for (const struct option *o = p->longopts; o->name && n < 62; o++, n++) {
            snprintf(spelled[n], sizeof spelled[n], "--%s", o->name);
            cand[n] = spelled[n];
        }
        cand[n++] = "--verbose";
        cand[n++] = "--quiet";
        const char *near = tern_cli_nearest(p->word, cand, n);
        if (near)
            return tern_cli_fail(p->verb, 2, "unknown option '%s'; did you mean '%s'?", p->word,
                                 near);
    }
    return tern_cli_fail(p->verb, 2, "unknown option '%s' (see 'tern %s --help')", p->word,
                         p->verb);
}

int jobs_opt_novalue(const jobs_opts *p)
{
    return tern_cli_fail(p->verb, 2, "%s needs a value", p->word);
}
