/* options.h: how every jobs verb reads its options: getopt_long, held to the
 * rules tern's command lines have always had.
 *
 *  - a long option only by its whole name, its value the next argument:
 *    "--inter" and "--interval=5" are unknown options, not "--interval 5";
 *  - -h is the only short option (--help's); "-" and any other word that
 *    starts with '-' is an unknown option;
 *  - parsing stops at "--" (everything after it is the verb's, e.g. the
 *    mpirun command line) and hands each other argument to the verb, which
 *    either takes it (a JOBDIR) and goes on, or stops there (tern run: the
 *    command starts at the first argument that is no option).
 *
 * getopt_long prints nothing (opterr = 0): the verb prints tern's one-line
 * errors, jobs_opt_unknown() and jobs_opt_novalue() the common ones. */
#ifndef TERN_JOBS_OPTIONS_H
#define TERN_JOBS_OPTIONS_H

#include <getopt.h>

typedef struct jobs_opts {
    const char *verb;
    int argc;
    char **argv;
    const struct option *longopts;   /* must hold {"help", no_argument, 0, 'h'} */
    const char *word;                /* the argument just read, for messages */
    int dashdash;                    /* the end was "--" (optind is past it) */
} jobs_opts;

enum {
    JOBS_OPT_END = -1,       /* no more options: optind is the first argument after them */
    JOBS_OPT_OPERAND = -2,   /* argv[optind] (word) is no option; optind++ takes it */
    JOBS_OPT_UNKNOWN = '?',  /* word is no option of this verb */
    JOBS_OPT_NOVALUE = ':',  /* word is the last argument and needs a value */
};

/* What a verb's argument parser returns when the verb goes on (else the
 * exit status: 0 after --help, 2 after an error). */
#define JOBS_ARGS_OK (-1)

/* Starts reading argv[1..argc-1] (argv[0] is the verb's name). */
void jobs_opts_begin(jobs_opts *p, const char *verb, int argc, char **argv,
                     const struct option *longopts);
/* The next option's val (optarg holds its value), or one of JOBS_OPT_*. */
int jobs_opts_next(jobs_opts *p);

/* "tern VERB: unknown option 'WORD' (see 'tern VERB --help')"; returns 2 */
int jobs_opt_unknown(const jobs_opts *p);
/* "tern VERB: WORD needs a value"; returns 2 */
int jobs_opt_novalue(const jobs_opts *p);

#endif
