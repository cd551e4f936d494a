/* The dumper's verbs: tern exec, tern dump, tern restore. Only argument
 * handling and reporting live here; errors are reported once, here. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dmp_jobname.h"
#include "dumper.h"
#include "tern_store.h"
#include "cli.h"
#include "clock.h"
#include "private_dir.h"

#ifndef PR_SET_PTRACER
#define PR_SET_PTRACER 0x59616d61
#endif

static int unknown_option(const char *verb, const char *word)
{
    return tern_cli_fail(verb, 2, "unknown option '%s' (see 'tern %s --help')", word, verb);
}

/* getopt_long's '?' (unknown option) or ':' (no value): tern's one line
 * instead of getopt's own message (opterr is 0). */
static int bad_option(const char *verb, int c, char **argv)
{
    const char *word = argv[optind - 1];
    if (c == ':')
        return tern_cli_fail(verb, 2, "%s needs a value", word);
    /* a long option is its whole word ("--bogus", "--stop=1"); a letter may
     * sit inside a word ("-qx") that optind has not passed yet */
    if (!optopt || (!strncmp(word, "--", 2) && strchr(word, '=')))
        return unknown_option(verb, word);
    char letter[3] = {'-', (char)optopt, 0};
    return unknown_option(verb, letter);
}

/* An integer option's value, all of it a number in [lo, hi]. */
static int int_value(const char *verb, const char *opt, const char *v, long lo, long hi, int *out)
{
    char *end;
    errno = 0;
    long x = strtol(v, &end, 10);
    if (!*v || *end || errno || x < lo || x > hi)
        return tern_cli_fail(verb, 2, "%s: expected an integer %ld..%ld, got '%s'", opt, lo, hi, v);
    *out = (int)x;
    return 0;
}

int tern_verb_exec(int argc, char **argv)
{
    int i = 1;
    const char *job = NULL;
    if (i < argc && (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))) {
        printf("usage: tern exec [--job NAME] [--] PROGRAM [ARGS...]\n\n"
               "Runs PROGRAM in this process so that `tern dump PID` can checkpoint it\n"
               "later (the PID stays the same). With --job NAME, `tern dump NAME` finds\n"
               "it too (records live in $TERN_EXEC_DIR, else $XDG_RUNTIME_DIR/tern, else\n"
               "/tmp/tern-UID). With Yama ptrace restrictions on, it lets any process of\n"
               "the same user attach.\n");
        return 0;
    }
    if (i < argc && !strncmp(argv[i], "--job", 5) && (!argv[i][5] || argv[i][5] == '=')) {
        if (argv[i][5] == '=')
            job = argv[i] + 6;
        else if (i + 1 < argc)
            job = argv[++i];
        else
            return tern_cli_fail("exec", 2, "--job needs a name");
        i++;
    }
    if (i < argc && !strcmp(argv[i], "--"))
        i++;
    else if (i < argc && argv[i][0] == '-' && argv[i][1])
        return unknown_option("exec", argv[i]);
    if (i >= argc)
        return tern_cli_fail("exec", 2, "no program given (usage: tern exec -- PROGRAM ARGS)");
    tern_error jerr = {0};
    if (job && dmp_job_record(job, argv[i], &jerr))
        return tern_cli_fail_err("exec", 1, &jerr);
    prctl(PR_SET_PTRACER, (unsigned long)-1, 0, 0, 0);   /* PR_SET_PTRACER_ANY; harmless w/o Yama */
    execvp(argv[i], argv + i);
    return tern_cli_fail("exec", 127, "%s: %s", argv[i], strerror(errno));
}

static void rm_tree_shallow(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    char p[PATH_MAX];
    while (d && (de = readdir(d))) {
        if (de->d_name[0] == '.' && (!de->d_name[1] || (de->d_name[1] == '.' && !de->d_name[2])))
            continue;
        if (snprintf(p, sizeof p, "%.3800s/%.255s", dir, de->d_name) >= (int)sizeof p)
            continue;
        unlink(p);
    }
    if (d)
        closedir(d);
    rmdir(dir);
}

typedef struct dump_args {
    const char *target, *out;   /* PID|JOB, IMAGE */
    int stop, level, quiet;
} dump_args;

/* -1 to go on, else the exit status (--help, a bad option). */
static int dump_parse(int argc, char **argv, dump_args *a)
{
    static const struct option lo[] = {
        {"output", required_argument, 0, 'o'}, {"stop", no_argument, 0, 's'},
        {"compress", required_argument, 0, 'z'}, {"quiet", no_argument, 0, 'q'},
        {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    int c;
    memset(a, 0, sizeof *a);
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":o:z:qh", lo, NULL)) != -1) {
        switch (c) {
        case 'o': a->out = optarg; break;
        case 's': a->stop = 1; break;
        case 'z':
            if (int_value("dump", "--compress", optarg, 0, 9, &a->level))
                return 2;
            break;
        case 'q': a->quiet = 1; break;
        case 'h':
            printf("usage: tern dump PID|JOB -o IMAGE [--stop] [--compress N] [-q]\n\n"
                   "Checkpoints process PID (or the process started with `tern exec --job\n"
                   "JOB`; any process of yours will do) into IMAGE, a tern checkpoint file\n"
                   "(or, if IMAGE is a directory, its next epoch). The process runs on\n"
                   "afterwards; with --stop it is killed once the image is committed.\n"
                   "--compress N: zlib level (0 = off, the default).\n");
            return 0;
        default:
            return bad_option("dump", c, argv);
        }
    }
    if (optind != argc - 1 || !a->out)
        return tern_cli_fail("dump", 2, "usage: tern dump PID|JOB -o IMAGE [--stop]");
    a->target = argv[optind];
    return -1;
}

/* Where the checkpoint is written: IMAGE itself if it is a directory (its
 * next epoch), else a fresh directory beside it. */
typedef struct dump_dest {
    int is_dir;
    char dir[PATH_MAX];
    uint64_t epoch;
} dump_dest;

static int dest_prepare(const char *out, long pid, dump_dest *d, tern_error *err)
{
    struct stat st;
    d->is_dir = stat(out, &st) == 0 && S_ISDIR(st.st_mode);
    d->epoch = 1;
    if (d->is_dir) {
        snprintf(d->dir, sizeof d->dir, "%s", out);
        uint64_t *ep = NULL;
        int n = 0;
        if (tern_store_list(d->dir, &ep, &n, err) == 0 && n > 0)
            d->epoch = ep[n - 1] + 1;
        free(ep);
        tern_error_clear(err);
        return 0;
    }
    /* A fresh directory of our own (never a leftover of a crashed dump),
     * so the image is always written into a new file; rename() then
     * swaps the name over. An existing IMAGE's inode is never written
     * into: a process restored from it maps its pages MAP_PRIVATE and
     * keeps seeing the old contents (docs/dumper.md). */
    if (snprintf(d->dir, sizeof d->dir, "%s.tmp-XXXXXX", out) >= (int)sizeof d->dir ||
        !mkdtemp(d->dir))
        return tern_error_set(err, errno ? errno : ENAMETOOLONG, "pid %ld: writing %s: %s",
                              pid, out, strerror(errno ? errno : ENAMETOOLONG));
    return 0;
}

/* One serial checkpoint holding the image as rank 0, prefix "dumper". */
static int write_image(tern_dump *d, long pid, const dump_dest *dst, int level,
                       tern_ckpt_stats *stats, tern_error *err)
{
    tern_store_opts o;
    tern_store_opts_default(&o);
    o.compress_level = level;
    o.keep = 1000000;
    o.job = "dump";
    tern_ckpt_writer *w = NULL;
    memset(stats, 0, sizeof *stats);
    if (tern_ckpt_begin(MPI_COMM_NULL, dst->dir, dst->epoch, &o, &w, err))
        return -1;
    char pid_s[32];
    snprintf(pid_s, sizeof pid_s, "%ld", pid);
    int rc = tern_ckpt_set_attr(w, "dumper.pid", pid_s, err);
    if (!rc)
        rc = tern_dump_put(d, w, "dumper", err);
    if (rc) {
        tern_ckpt_abort(w);
        return -1;
    }
    return tern_ckpt_commit(w, stats, err);
}

/* The captured process into IMAGE; stats->path names the file written. */
static int save_image(tern_dump *d, long pid, const dump_args *a, tern_ckpt_stats *stats,
                      tern_error *err)
{
    dump_dest dst;
    if (dest_prepare(a->out, pid, &dst, err))
        return -1;
    int rc = write_image(d, pid, &dst, a->level, stats, err);
    if (!rc && !dst.is_dir) {
        if (rename(stats->path, a->out) < 0)
            rc = tern_error_set(err, errno, "%s: %s", a->out, strerror(errno));
        else
            snprintf(stats->path, sizeof stats->path, "%s", a->out);
    }
    if (!dst.is_dir)
        rm_tree_shallow(dst.dir);
    if (rc)
        tern_error_prefix(err, "pid %ld: writing %s: ", pid, a->out);
    return rc;
}

int tern_verb_dump(int argc, char **argv)
{
    dump_args a;
    int st = dump_parse(argc, argv, &a);
    if (st >= 0)
        return st;
    tern_error err = {0};
    dmp_job job;
    if (dmp_job_resolve(a.target, &job, &err))
        return tern_cli_fail_err("dump", 2, &err);
    long pid = job.pid;
    double t0 = tern_now_mono();
    tern_dump *d;
    tern_dump_info info;
    if (tern_dump_capture(job.pid, &d, &info, &err))
        return tern_cli_fail_err("dump", 1, &err);
    /* held stopped now: still the job's process (it may have exec'd another
     * program since the record was read), before anything is written or
     * killed */
    if (dmp_job_check(&job, &err)) {
        tern_dump_release(d, 0, NULL);
        return tern_cli_fail_err("dump", 2, &err);
    }
    double t_cap = tern_now_mono();
    tern_ckpt_stats stats;
    if (save_image(d, pid, &a, &stats, &err)) {
        tern_dump_release(d, 0, NULL);
        return tern_cli_fail_err("dump", 1, &err);
    }
    tern_error rerr = {0};
    if (tern_dump_release(d, a.stop, &rerr))
        return tern_cli_fail_err("dump", 1, &rerr);
    double t1 = tern_now_mono();
    if (!a.quiet)
        fprintf(stderr, "tern dump: pid %ld: %u threads, %u regions, %.1f MiB of pages -> %s "
                "(%.3f s: capture %.3f s, write %.3f s)%s\n", pid, info.nthreads, info.nregions,
                info.data_bytes / 1048576.0, stats.path, t1 - t0, t_cap - t0, t1 - t_cap,
                a.stop ? ", process ended" : "");
    return 0;
}

/* IMAGE as named: a checkpoint directory (which says which file is the
 * latest) or an image file must be the user's and not writable by others,
 * checked before the store reads anything of it. The library checks the
 * file again on the descriptor it reads and maps (dmp_restore_trusted). */
static int restore_input_trusted(const char *path, tern_error *err)
{
    struct stat st;
    if (stat(path, &st) < 0)
        return 0;   /* the store says what is wrong with it */
    mode_t type = S_ISDIR(st.st_mode) ? S_IFDIR : S_IFREG;
    return tern_pdir_check_stat(&st, type, 0, path, err) ? -1 : 0;
}

int tern_verb_restore(int argc, char **argv)
{
    static const struct option lo[] = {
        {"rank", required_argument, 0, 'r'}, {"prefix", required_argument, 0, 'p'},
        {"check", no_argument, 0, 'c'}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    int rank = 0, check = 0, c;
    const char *prefix = "dumper";
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "+:r:p:ch", lo, NULL)) != -1) {
        switch (c) {
        case 'r':
            if (int_value("restore", "--rank", optarg, 0, INT_MAX, &rank))
                return 2;
            break;
        case 'p': prefix = optarg; break;
        case 'c': check = 1; break;
        case 'h':
            printf("usage: tern restore IMAGE [--check] [--rank N] [--prefix P]\n\n"
                   "Turns this process into the process saved in IMAGE, which carries on\n"
                   "where it was dumped (with a new pid). Files the image maps must be\n"
                   "unchanged and the kernel the same. --check only verifies that the\n"
                   "image could be restored here (and reads it whole: every page's CRC).\n");
            return 0;
        default:
            return bad_option("restore", c, argv);
        }
    }
    if (optind != argc - 1)
        return tern_cli_fail("restore", 2, "usage: tern restore IMAGE");
    const char *path = argv[optind];
    tern_error err = {0};
    tern_ckpt *ck = NULL;
    if (restore_input_trusted(path, &err) || tern_ckpt_open(path, &ck, &err))
        return tern_cli_fail_err("restore", 1, &err);
    if (check) {
        int rc = tern_restore_check(ck, rank, prefix, &err);
        tern_ckpt_close(ck);
        if (rc) {
            if (strncmp(err.msg, path, strlen(path)))
                tern_error_prefix(&err, "%s: ", path);
            return tern_cli_fail_err("restore", 1, &err);
        }
        printf("%s: can be restored here\n", path);
        return 0;
    }
    tern_restore(ck, rank, prefix, &err);
    tern_ckpt_close(ck);
    if (strncmp(err.msg, path, strlen(path)))   /* store errors name the file already */
        tern_error_prefix(&err, "%s: ", path);
    return tern_cli_fail_err("restore", 1, &err);
}
