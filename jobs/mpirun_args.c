/* Open MPI 4.1 mpirun command lines (mpirun_args.h). */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mpirun_args.h"

/* Open MPI 4.1 (orterun) options that take one argument; --mca & co take two. */
static const char *const opt1[] = {
    "np", "n", "c", "H", "host", "hostfile", "machinefile", "default-hostfile",
    "rf", "rankfile", "x", "am", "tune", "wdir", "wd", "path", "prefix",
    "map-by", "rank-by", "bind-to", "npernode", "N", "npersocket",
    "cpus-per-proc", "cpus-per-rank", "cpu-set", "output-filename",
    "report-uri", "ompi-server", "timeout", "app", "preload-files",
    "stdin", "launch-agent", "personality", "max-vm-size", "report-pid",
    "output", "xterm", "debugger", "preload-files-dest-dir",
    "report-state-on-timeout", "get-stack-traces-on-timeout", "tag-output-format",
    "hnp", "ompi-server-wait-time", "dvm-uri", "mapby", "rankby", "bindto",
    NULL};
static const char *const opt2[] = {"mca", "gmca", NULL};

static const char *optname(const char *a)
{
    if (a[0] != '-') return NULL;
    a++;
    if (a[0] == '-') a++;
    return a;
}

int mpi_opt_nargs(const char *opt)
{
    const char *n = optname(opt);
    if (!n || strchr(n, '=')) return 0;
    for (int i = 0; opt2[i]; i++)
        if (!strcmp(n, opt2[i])) return 2;
    for (int i = 0; opt1[i]; i++)
        if (!strcmp(n, opt1[i])) return 1;
    /* options that are flags in 4.1 but were mistaken above */
    return 0;
}

int mpi_is_launcher(const char *a)
{
    const char *b = strrchr(a, '/');
    b = b ? b + 1 : a;
    return !strcmp(b, "mpirun") || !strcmp(b, "mpiexec") || !strcmp(b, "orterun") ||
           !strncmp(b, "mpirun.", 7) || !strncmp(b, "mpiexec.", 8);
}

void mpi_split(int argc, char **argv, char **launcher, strv *opts, strv *prog)
{
    int i = 0;
    if (launcher) *launcher = NULL;
    if (argc > 0 && mpi_is_launcher(argv[0])) {
        if (launcher) *launcher = argv[0];
        i = 1;
    }
    for (; i < argc; i++) {
        if (argv[i][0] != '-' || !strcmp(argv[i], "--")) break;
        int k = mpi_opt_nargs(argv[i]);
        sv_push(opts, argv[i]);
        for (int j = 0; j < k && i + 1 < argc; j++) sv_push(opts, argv[++i]);
    }
    if (i < argc && !strcmp(argv[i], "--")) i++;
    for (; i < argc; i++) sv_push(prog, argv[i]);
}

static int optis(const char *a, const char *const *names)
{
    const char *n = optname(a);
    if (!n) return 0;
    for (int i = 0; names[i]; i++)
        if (!strcmp(n, names[i])) return 1;
    return 0;
}

static const char *const np_names[] = {"np", "n", "c", NULL};
static const char *const host_names[] = {"H", "host", NULL};
static const char *const hostfile_names[] = {"hostfile", "machinefile", "default-hostfile", NULL};
static const char *const placement_names[] = {
    "np", "n", "c", "H", "host", "hostfile", "machinefile", "default-hostfile",
    "rf", "rankfile", "map-by", "mapby", "rank-by", "rankby", "npernode", "N",
    "npersocket", "bynode", "byslot", "pernode", "nolocal", NULL};

int mpi_nranks(const strv *opts)
{
    for (int i = 0; i + 1 < opts->n; i++)
        if (optis(opts->v[i], np_names)) return atoi(opts->v[i + 1]);
    return 0;
}

int mpi_bad_nranks(const strv *opts, const char **opt, const char **val)
{
    for (int i = 0; i + 1 < opts->n; i++) {
        long n;
        if (!optis(opts->v[i], np_names)) continue;
        if (jobs_parse_int(opts->v[i + 1], &n) || n < 0 || n > INT_MAX) {
            *opt = opts->v[i];
            *val = opts->v[i + 1];
            return -1;
        }
        i++;
    }
    return 0;
}

static void add_host(char *buf, size_t len, const char *h, size_t hl)
{
    char name[256];
    snprintf(name, sizeof name, "%.*s", (int)hl, h);
    char *colon = strchr(name, ':');
    if (colon) *colon = 0;
    if (!name[0]) return;
    /* skip duplicates */
    size_t nl = strlen(name);
    for (const char *p = buf; (p = strstr(p, name)); p += nl)
        if ((p == buf || p[-1] == ',') && (p[nl] == ',' || p[nl] == 0)) return;
    if (buf[0]) strncat(buf, ",", len - strlen(buf) - 1);
    strncat(buf, name, len - strlen(buf) - 1);
}

void mpi_hosts(const strv *opts, char *buf, size_t len)
{
    buf[0] = 0;
    for (int i = 0; i + 1 < opts->n; i++) {
        if (optis(opts->v[i], host_names)) {
            const char *s = opts->v[i + 1];
            while (*s) {
                size_t k = strcspn(s, ",");
                add_host(buf, len, s, k);
                s += k;
                if (*s) s++;
            }
        } else if (optis(opts->v[i], hostfile_names)) {
            FILE *f = fopen(opts->v[i + 1], "r");
            if (!f) continue;
            char line[1024];
            while (fgets(line, sizeof line, f)) {
                char *p = line + strspn(line, " \t");
                if (*p == '#' || *p == '\n' || !*p) continue;
                add_host(buf, len, p, strcspn(p, " \t\n#"));
            }
            fclose(f);
        }
    }
}

void mpi_strip_placement(const strv *in, strv *out)
{
    for (int i = 0; i < in->n; i++) {
        int k = mpi_opt_nargs(in->v[i]);
        if (optis(in->v[i], placement_names)) {
            i += k;
            continue;
        }
        sv_push(out, in->v[i]);
        for (int j = 0; j < k && i + 1 < in->n; j++) sv_push(out, in->v[++i]);
    }
}

int mpi_oversubscribe(const strv *opts)
{
    for (int i = 0; i < opts->n; i++) {
        const char *n = optname(opts->v[i]);
        if (n && !strcmp(n, "oversubscribe")) return 1;
        if (strstr(opts->v[i], "OVERSUBSCRIBE") || strstr(opts->v[i], "oversubscribe")) return 1;
    }
    return 0;
}

/* the option's name without its dashes; a word that is no option, itself */
static const char *name_or_word(const char *a)
{
    const char *n = optname(a);
    return n ? n : a;
}

/* Whether the user's option u (with its values) replaces the saved s
 * (k values): the same --mca KEY, the same -x NAME, or any other option
 * given again. */
static int replaces(const strv *saved, int i, int k, const strv *user, int j)
{
    const char *n = name_or_word(saved->v[i]);
    if (strcmp(name_or_word(user->v[j]), n)) return 0;
    int kj = mpi_opt_nargs(user->v[j]);
    int both = i + 1 < saved->n && j + 1 < user->n;
    if (k == 2 && kj == 2 && both && !strcmp(saved->v[i + 1], user->v[j + 1])) return 1;
    if (k == 1 && !strcmp(n, "x") && both) {
        size_t l = strcspn(user->v[j + 1], "=");
        if (strcspn(saved->v[i + 1], "=") == l && !strncmp(saved->v[i + 1], user->v[j + 1], l))
            return 1;
    }
    return k == 0 || (k == 1 && strcmp(n, "x"));
}

void mpi_merge_opts(const strv *saved, const strv *user, strv *out)
{
    for (int i = 0; i < saved->n; i++) {
        int k = mpi_opt_nargs(saved->v[i]);
        int drop = 0;
        for (int j = 0; j < user->n; j += 1 + mpi_opt_nargs(user->v[j]))
            if (replaces(saved, i, k, user, j)) drop = 1;
        if (drop) {
            i += k;
            continue;
        }
        sv_push(out, saved->v[i]);
        for (int j = 0; j < k && i + 1 < saved->n; j++) sv_push(out, saved->v[++i]);
    }
    sv_push_all(out, user);
}
