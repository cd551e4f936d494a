/* tern: the command. Dispatches to the verbs every part contributes. */
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

static void usage(FILE *f)
{
    fprintf(f, "usage: tern VERB [options] [args]\n\n"
               "Checkpoint/restart for MPI jobs. Verbs:\n");
    for (size_t i = 0; i < sizeof verbs / sizeof verbs[0]; i++)
        fprintf(f, "  %-12s %s\n", verbs[i].name, verbs[i].summary);
    fprintf(f, "\n'tern VERB --help' describes each verb.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
        !strcmp(argv[1], "help")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("tern " TERN_VERSION "\n");
        return 0;
    }
    for (size_t i = 0; i < sizeof verbs / sizeof verbs[0]; i++)
        if (!strcmp(argv[1], verbs[i].name))
            return verbs[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "tern: unknown verb '%s' (see 'tern --help')\n", argv[1]);
    return 2;
}
