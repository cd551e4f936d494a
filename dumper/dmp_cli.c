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
#include <time.h>
#include <unistd.h>

#include "dmp_capture.h"
#include "dmp_image.h"
#include "dmp_jobname.h"
#include "dmp_mem.h"
#include "dmp_restore.h"
#include "tern_store.h"
#include "cli.h"

#ifndef PR_SET_PTRACER
#define PR_SET_PTRACER 0x59616d61
#endif

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
    if (i < argc && !strncmp(argv[i], "--job", 5)) {
        if (argv[i][5] == '=')
            job = argv[i] + 6;
        else if (!argv[i][5] && i + 1 < argc)
            job = argv[++i];
        else
            return tern_cli_fail("exec", 2, "--job needs a name");
        i++;
    }
    if (i < argc && !strcmp(argv[i], "--"))
        i++;
    if (i >= argc)
        return tern_cli_fail("exec", 2, "no program given (usage: tern exec -- PROGRAM ARGS)");
    tern_error jerr = {0};
    if (job && dmp_job_record(job, &jerr))
        return tern_cli_fail_err("exec", 1, &jerr);
    prctl(PR_SET_PTRACER, (unsigned long)-1, 0, 0, 0);   /* PR_SET_PTRACER_ANY; harmless w/o Yama */
    execvp(argv[i], argv + i);
    return tern_cli_fail("exec", 127, "%s: %s", argv[i], strerror(errno));
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
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

int tern_verb_dump(int argc, char **argv)
{
    static const struct option lo[] = {
        {"output", required_argument, 0, 'o'}, {"stop", no_argument, 0, 's'},
        {"compress", required_argument, 0, 'z'}, {"quiet", no_argument, 0, 'q'},
        {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    const char *out = NULL;
    int stop = 0, level = 0, quiet = 0, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:z:qh", lo, NULL)) != -1) {
        switch (c) {
        case 'o': out = optarg; break;
        case 's': stop = 1; break;
        case 'z': level = atoi(optarg); break;
        case 'q': quiet = 1; break;
        case 'h':
            printf("usage: tern dump PID|JOB -o IMAGE [--stop] [--compress N] [-q]\n\n"
                   "Checkpoints process PID (or the process started with `tern exec --job\n"
                   "JOB`; any process of yours will do) into IMAGE, a tern checkpoint file\n"
                   "(or, if IMAGE is a directory, its next epoch). The process runs on\n"
                   "afterwards; with --stop it is killed once the image is committed.\n"
                   "--compress N: zlib level (0 = off, the default).\n");
            return 0;
        default:
            return 2;
        }
    }
    if (optind != argc - 1 || !out)
        return tern_cli_fail("dump", 2, "usage: tern dump PID|JOB -o IMAGE [--stop]");
    tern_error err = {0};
    pid_t jpid;
    if (dmp_job_resolve(argv[optind], &jpid, &err))
        return tern_cli_fail_err("dump", 2, &err);
    long pid = jpid;
    double t0 = now();
    dmp_state s;
    dmp_proc p;
    memset(&p, 0, sizeof p);
    p.memfd = -1;
    if (dmp_capture((pid_t)pid, &s, &p, &err)) {
        dmp_proc_release(&p, 0, NULL);
        dmp_state_free(&s);
        return tern_cli_fail_err("dump", 1, &err);
    }
    double t_cap = now();

    /* IMAGE: a directory gets the next epoch; a file name is written as a
     * one-checkpoint directory beside it, then renamed into place. */
    struct stat st;
    int is_dir = stat(out, &st) == 0 && S_ISDIR(st.st_mode);
    char dir[PATH_MAX];
    uint64_t epoch = 1;
    if (is_dir) {
        snprintf(dir, sizeof dir, "%s", out);
        uint64_t *ep = NULL;
        int n = 0;
        if (tern_store_list(dir, &ep, &n, &err) == 0 && n > 0)
            epoch = ep[n - 1] + 1;
        free(ep);
        tern_error_clear(&err);
    } else {
        /* A fresh directory of our own (never a leftover of a crashed dump),
         * so the image is always written into a new file; rename() then
         * swaps the name over. An existing IMAGE's inode is never written
         * into: a process restored from it maps its pages MAP_PRIVATE and
         * keeps seeing the old contents (docs/dumper.md). */
        if (snprintf(dir, sizeof dir, "%s.tmp-XXXXXX", out) >= (int)sizeof dir || !mkdtemp(dir)) {
            tern_error_set(&err, errno ? errno : ENAMETOOLONG, "pid %ld: writing %s: %s", pid,
                           out, strerror(errno ? errno : ENAMETOOLONG));
            dmp_proc_release(&p, 0, NULL);
            dmp_state_free(&s);
            return tern_cli_fail_err("dump", 1, &err);
        }
    }
    tern_store_opts o;
    tern_store_opts_default(&o);
    o.compress_level = level;
    o.keep = 1000000;
    o.job = "dump";
    tern_ckpt_writer *w = NULL;
    void *meta = NULL;
    dmp_mem_ctx mc = {&p, &s, 0, 0, 0};
    tern_ckpt_stats stats;
    memset(&stats, 0, sizeof stats);
    int rc = tern_ckpt_begin(MPI_COMM_NULL, dir, epoch, &o, &w, &err);
    if (!rc) {
        char pid_s[32];
        snprintf(pid_s, sizeof pid_s, "%ld", pid);
        rc = tern_ckpt_set_attr(w, "dumper.pid", pid_s, &err);
        if (!rc)
            rc = dmp_image_put(w, "dumper", &s, dmp_mem_fill, &mc, &meta, &err);
        if (rc)
            tern_ckpt_abort(w);
        else
            rc = tern_ckpt_commit(w, &stats, &err);
    }
    free(meta);
    if (!rc && !is_dir) {
        if (rename(stats.path, out) < 0) {
            rc = tern_error_set(&err, errno, "%s: %s", out, strerror(errno));
        } else {
            snprintf(stats.path, sizeof stats.path, "%s", out);
        }
    }
    if (!is_dir)
        rm_tree_shallow(dir);
    if (rc) {
        tern_error_prefix(&err, "pid %ld: writing %s: ", pid, out);
        dmp_proc_release(&p, 0, NULL);
        dmp_state_free(&s);
        return tern_cli_fail_err("dump", 1, &err);
    }
    tern_error rerr = {0};
    if (dmp_proc_release(&p, stop, &rerr)) {
        dmp_state_free(&s);
        return tern_cli_fail_err("dump", 1, &rerr);
    }
    double t1 = now();
    if (!quiet)
        fprintf(stderr, "tern dump: pid %ld: %u threads, %u regions, %.1f MiB of pages -> %s "
                "(%.3f s: capture %.3f s, write %.3f s)%s\n", pid, s.h.nthreads, s.h.nregions,
                s.h.data_bytes / 1048576.0, stats.path, t1 - t0, t_cap - t0, t1 - t_cap,
                stop ? ", process ended" : "");
    dmp_state_free(&s);
    return 0;
}

int tern_verb_restore(int argc, char **argv)
{
    static const struct option lo[] = {
        {"rank", required_argument, 0, 'r'}, {"prefix", required_argument, 0, 'p'},
        {"check", no_argument, 0, 'c'}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    int rank = 0, check = 0, c;
    const char *prefix = "dumper";
    optind = 1;
    while ((c = getopt_long(argc, argv, "+r:p:ch", lo, NULL)) != -1) {
        switch (c) {
        case 'r': rank = atoi(optarg); break;
        case 'p': prefix = optarg; break;
        case 'c': check = 1; break;
        case 'h':
            printf("usage: tern restore IMAGE [--check] [--rank N] [--prefix P]\n\n"
                   "Turns this process into the process saved in IMAGE, which carries on\n"
                   "where it was dumped (with a new pid). Files the image maps must be\n"
                   "unchanged and the kernel the same. --check only verifies that the\n"
                   "image could be restored here.\n");
            return 0;
        default:
            return 2;
        }
    }
    if (optind != argc - 1)
        return tern_cli_fail("restore", 2, "usage: tern restore IMAGE");
    const char *path = argv[optind];
    tern_error err = {0};
    tern_ckpt *ck = NULL;
    if (tern_ckpt_open(path, &ck, &err))
        return tern_cli_fail_err("restore", 1, &err);
    if (check) {
        dmp_state s;
        int rc = dmp_image_load(ck, rank, prefix, &s, &err);
        if (!rc)
            rc = dmp_restore_check(&s, &err);
        if (!rc)
            dmp_state_free(&s);
        tern_ckpt_close(ck);
        if (rc) {
            if (strncmp(err.msg, path, strlen(path)))
                tern_error_prefix(&err, "%s: ", path);
            return tern_cli_fail_err("restore", 1, &err);
        }
        printf("%s: can be restored here\n", path);
        return 0;
    }
    dmp_restore(ck, rank, prefix, &err);
    tern_ckpt_close(ck);
    if (strncmp(err.msg, path, strlen(path)))   /* store errors name the file already */
        tern_error_prefix(&err, "%s: ", path);
    return tern_cli_fail_err("restore", 1, &err);
}
