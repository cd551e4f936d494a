/* tern: the command. Dispatches to the verbs every part contributes, and
 * reads what every verb takes: -v/--verbose, --quiet (common/cli.h). */
#include <stdio.h>
#include <string.h>

#include "verbs.h"

struct verb {
    const char *name;
    tern_verb_fn fn;
    const char *summary;
};

static const struct verb verbs[] = {
#define TERN_VERB(name, fn, summary) {name, fn, summary},
#include "verbs_all.def"
#undef TERN_VERB
};
#define NVERBS ((int)(sizeof verbs / sizeof verbs[0]))

/* The verbs of jobs/: they read -v and --quiet with their own options
 * (jobs/options.c); the command takes them out for the others. */
static const char *const jobs_verbs[] = {
#define TERN_VERB(name, fn, summary) name,
#include "jobs/verbs.def"
#undef TERN_VERB
};

static void usage(FILE *f)
{
    fprintf(f, "usage: tern VERB [options] [args]\n\n"
               "Checkpoint/restart for MPI jobs. Verbs:\n");
    for (int i = 0; i < NVERBS; i++)
        fprintf(f, "  %-12s %s\n", verbs[i].name, verbs[i].summary);
    fprintf(f, "  %-12s %s\n", "help VERB", "what VERB does and its options (= tern VERB --help)");
    fprintf(f, "\noptions every verb takes:\n"
               "  -v, --verbose  say more (e.g. the mpirun command line run)\n"
               "  --quiet        print nothing but errors and the verb's answer\n"
               "  -h, --help     the verb's help\n"
               "\n'tern VERB --help' describes each verb; 'tern --version' prints the version.\n");
}

static const struct verb *find_verb(const char *name)
{
    for (int i = 0; i < NVERBS; i++)
        if (!strcmp(name, verbs[i].name)) return &verbs[i];
    return NULL;
}

/* "tern: unknown verb 'X'; did you mean 'Y'?" (or "see 'tern --help'"). */
static int unknown_verb(const char *word)
{
    const char *cand[NVERBS + 1];
    for (int i = 0; i < NVERBS; i++) cand[i] = verbs[i].name;
    cand[NVERBS] = "help";
    const char *near = tern_cli_nearest(word, cand, NVERBS + 1);
    if (near)
        fprintf(stderr, "tern: unknown verb '%s'; did you mean '%s'?\n", word, near);
    else
        fprintf(stderr, "tern: unknown verb '%s' (see 'tern --help')\n", word);
    return 2;
}

static int is_jobs_verb(const char *name)
{
    for (size_t i = 0; i < sizeof jobs_verbs / sizeof jobs_verbs[0]; i++)
        if (!strcmp(name, jobs_verbs[i])) return 1;
    return 0;
}

/* -v, --verbose, --quiet out of the options of a verb of storage/ or
 * dumper/, which know nothing of them: only before the first word that is
 * no option (tern exec PROGRAM ARGS: the program's arguments are its own)
 * and before "--". argc after. */
static int take_common_options(int argc, char **argv)
{
    int out = 1, i = 1;
    for (; i < argc; i++) {
        const char *w = argv[i];
        if (w[0] != '-' || !strcmp(w, "--")) break;
        if (!strcmp(w, "-v") || !strcmp(w, "--verbose")) tern_cli_verbosity = 1;
        else if (!strcmp(w, "--quiet")) tern_cli_verbosity = -1;
        else argv[out++] = argv[i];
    }
    for (; i < argc; i++) argv[out++] = argv[i];
    argv[out] = NULL;
    return out;
}

int main(int argc, char **argv)
{
    /* tern -v VERB ... is tern VERB -v ... */
    while (argc > 1 && (!strcmp(argv[1], "-v") || !strcmp(argv[1], "--verbose") ||
                        !strcmp(argv[1], "--quiet"))) {
        tern_cli_verbosity = argv[1][2] == 'q' ? -1 : 1;
        argv[1] = argv[0];
        argv++;
        argc--;
    }
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
        (!strcmp(argv[1], "help") && argc == 2)) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("tern " TERN_VERSION "\n");
        return 0;
    }
    if (!strcmp(argv[1], "help")) { /* tern help VERB = tern VERB --help */
        const struct verb *v = find_verb(argv[2]);
        if (!v) return unknown_verb(argv[2]);
        char *hv[] = {argv[2], "--help", NULL};
        return v->fn(2, hv);
    }
    const struct verb *v = find_verb(argv[1]);
    if (!v) return unknown_verb(argv[1]);
    int n = argc - 1;
    if (!is_jobs_verb(v->name)) n = take_common_options(n, argv + 1);
    return v->fn(n, argv + 1);
}
