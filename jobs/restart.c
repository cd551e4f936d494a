/* tern restart (restart.h): a job from one of its checkpoints. */
#define _GNU_SOURCE /* AT_SYMLINK_NOFOLLOW */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "jobdir.h"
#include "launch.h"
#include "mode.h"
#include "mpirun_args.h"
#include "options.h"
#include "placement.h"
#include "private_dir.h"
#include "restart.h"
#include "tern_store.h"
#include "verbs.h"

/* One restart, stage by stage (jobs_restart). */
typedef struct restart_job {
    const jobs_restart_opts *o;
    const char *verb;
    char from[4096];                 /* --from made absolute, or "" */
    jobdir jd;                       /* the job directory (jd.path) */
    const char *dir;                 /* = jd.path */
    jobfile jf;                      /* its job file (empty when there is none) */
    int have_jf;
    jobs_settings set;               /* the job file's settings, then the options' */
    char ckpt[4096];                 /* the checkpoint restarted from */
    tern_ckpt *c;
    const tern_ckpt_info *info;
    char *launcher;                  /* given after --, or NULL */
    strv sopts, sprog, uopts, uprog; /* mpirun options and program: saved, user's */
    const strv *prog;                /* the user's program, else the saved one */
    strv opts;                       /* -np N --rankfile F, the merged options */
    int oversubscribe;
    char rankfile[4200];
    jobs_placement pl;
    char hosts[4096];                /* the hosts that got ranks */
} restart_job;

/* ---- the job and its checkpoint ---------------------------------------------- */
/* The job directory (from --from when only that is given), opened and its
 * files checked (jobdir.h), and its job file; a job still running on this
 * host is refused unless dry_run. */
static int read_job(restart_job *r)
{
    const jobs_restart_opts *o = r->o;
    if (o->from) {
        if (!jobs_is_file(o->from) && !jobs_is_dir(o->from))
            return tern_cli_fail(r->verb, -1, "no such checkpoint: %s", o->from);
        if (!realpath(o->from, r->from))
            return tern_cli_fail(r->verb, -1, "%s: %s", o->from, strerror(errno));
    }
    if (!o->dir_arg && !o->job && r->from[0]) {
        char tmp[4096];
        snprintf(tmp, sizeof tmp, "%s", r->from);
        if (jobdir_open(r->verb, jobs_is_dir(r->from) ? r->from : dirname(tmp), 0, 0, &r->jd))
            return -1;
    } else if (jobs_resolve_dir(r->verb, o->dir_arg, o->job, &r->jd)) {
        return -1;
    }
    r->dir = r->jd.path;
    if (jobdir_check_files(r->verb, &r->jd)) return -1;
    int rc = jobfile_read(r->verb, &r->jd, &r->jf);
    if (rc == -2) return -1;
    r->have_jf = rc == 0;
    pid_t pid;
    unsigned long long start;
    if (r->have_jf && !o->dry_run && jobfile_local_mpirun(&r->jf, &pid, &start) &&
        jobs_proc_running(pid, start))
        return tern_cli_fail(r->verb, -1, "%s: the job is still running (mpirun pid %s): stop it first, or use 'tern migrate'",
                             r->dir, jobfile_get(&r->jf, "mpirun_pid"));
    return 0;
}

/* The checkpoint file as every input of a restart: a regular file of the
 * user's, in a directory of the user's, neither writable by others (the
 * ranks read it after this check). 0, or -1 with the error printed. */
static int check_checkpoint(const restart_job *r)
{
    const char *slash = strrchr(r->ckpt, '/'), *name = slash ? slash + 1 : r->ckpt;
    char dir[4096];
    snprintf(dir, sizeof dir, "%.*s", !slash ? 1 : slash == r->ckpt ? 1 : (int)(slash - r->ckpt),
             slash ? r->ckpt : ".");
    tern_error err = {0};
    struct stat st;
    int fd = tern_pdir_open(dir, 0, 0, 1, &err), rc = fd < 0 ? -1 : 0;
    if (!rc && fstatat(fd, name, &st, AT_SYMLINK_NOFOLLOW))
        rc = tern_error_set(&err, errno, "%s: %s", r->ckpt, strerror(errno));
    if (!rc) rc = tern_pdir_check_stat(&st, S_IFREG, 0, r->ckpt, &err);
    if (fd >= 0) close(fd);
    return rc ? tern_cli_fail_err(r->verb, -1, &err) : 0;
}

/* The epoch: the --from file, or the latest committed checkpoint of the
 * --from directory or of the job directory. */
static int open_checkpoint(restart_job *r)
{
    tern_error err = {0};
    const char *src = r->from[0] ? r->from : r->dir;
    if (jobs_is_dir(src)) {
        uint64_t *ep = NULL;
        int n = 0;
        if (tern_store_list(src, &ep, &n, &err)) return tern_cli_fail_err(r->verb, -1, &err);
        if (n == 0) {
            free(ep);
            return tern_cli_fail(r->verb, -1, "no checkpoint to restart from in %s", src);
        }
        tern_store_path(src, ep[n - 1], r->ckpt, sizeof r->ckpt);
        free(ep);
    } else {
        snprintf(r->ckpt, sizeof r->ckpt, "%s", src);
    }
    if (check_checkpoint(r)) return -1;
    if (tern_ckpt_open(r->ckpt, &r->c, &err)) return tern_cli_fail_err(r->verb, -1, &err);
    r->info = tern_ckpt_get_info(r->c);
    return 0;
}

/* ---- what the job file says, checked: it is data, not a command ------------- */
/* The saved launcher is run only when it is one: an absolute path to an
 * executable file named like mpirun (mpi_is_launcher) that only root or
 * the user can change, or the launcher tern would run now by itself.
 * 0, or -1 with the error printed. */
static int check_saved_launcher(const restart_job *r, const char *l)
{
    char mine[4096];
    const char *dflt = getenv("TERN_MPIRUN") ? getenv("TERN_MPIRUN") : "mpirun";
    jobs_default_launcher(mine, sizeof mine);
    if (!l || !strcmp(l, dflt) || !strcmp(l, mine)) return 0;
    struct stat st;
    const char *why = NULL;
    if (l[0] != '/') why = "not an absolute path";
    else if (!mpi_is_launcher(l)) why = "not named mpirun, mpiexec or orterun";
    else if (stat(l, &st) || !S_ISREG(st.st_mode) || access(l, X_OK)) why = "not an executable file";
    else if ((st.st_uid != 0 && st.st_uid != geteuid()) || (st.st_mode & 022))
        why = "someone else could have changed it";
    if (!why) return 0;
    char shown[4096];
    jobs_printable(l, shown, sizeof shown);
    return tern_cli_fail(r->verb, -1, "%s/job: launcher=%s: %s: refusing to run it (give the launcher after --)",
                         r->dir, shown, why);
}

/* The settings (the job file's, checked, then the options') and the saved
 * launcher, unless one is given after --. */
static int check_jobfile(restart_job *r)
{
    char where[4200];
    snprintf(where, sizeof where, "%s/job", r->dir);
    jobs_settings_defaults(&r->set);
    if (jobs_settings_from_jobfile(r->verb, &r->set, &r->jf, where)) return -1;
    jobs_settings_override(&r->set, &r->o->set, r->o->set_given);
    return r->launcher ? 0 : check_saved_launcher(r, jobfile_get(&r->jf, "launcher"));
}

/* ---- the command ------------------------------------------------------------------- */
/* The saved command line with the user's over it: the rank count is the
 * checkpoint's, placement is the rankfile's. */
static int plan_command(restart_job *r)
{
    int nranks = r->info->nranks;
    mpi_split(r->jf.args.n, r->jf.args.v, NULL, &r->sopts, &r->sprog);
    mpi_split(r->o->user_args.n, r->o->user_args.v, &r->launcher, &r->uopts, &r->uprog);
    r->prog = r->uprog.n ? &r->uprog : &r->sprog;
    if (!r->prog->n)
        return tern_cli_fail(r->verb, -1, "%s: no job file and no program given after --", r->dir);
    const char *opt, *val;
    if (mpi_bad_nranks(&r->uopts, &opt, &val)) {
        char shown[256];
        jobs_printable(val, shown, sizeof shown);
        return tern_cli_fail(r->verb, -1, "%s: expected a number of ranks, got '%s'", opt, shown);
    }
    int asked = mpi_nranks(&r->uopts);
    if (asked && asked != nranks)
        return tern_cli_fail(r->verb, -1, "rank count mismatch: the checkpoint has %d ranks, -np asks for %d",
                             nranks, asked);
    strv saved = {0}, user = {0}, merged = {0};
    mpi_strip_placement(&r->sopts, &saved);
    mpi_strip_placement(&r->uopts, &user);
    mpi_merge_opts(&saved, &user, &merged);
    r->oversubscribe = mpi_oversubscribe(&merged);
    snprintf(r->rankfile, sizeof r->rankfile, "%s/rankfile", r->dir);
    sv_push(&r->opts, "-np");
    sv_pushf(&r->opts, "%d", nranks);
    sv_push(&r->opts, "--rankfile");
    sv_push(&r->opts, r->rankfile);
    sv_push_all(&r->opts, &merged);
    sv_free(&saved);
    sv_free(&user);
    sv_free(&merged);
    return 0;
}

/* Where the ranks go, and the rankfile that says so (not written by a dry
 * run). */
static int plan_placement(restart_job *r)
{
    const jobs_restart_opts *o = r->o;
    if (jobs_place(r->verb, r->info, o->hostfile, &o->exclude, r->oversubscribe, &r->pl))
        return -1;
    char *text = jobs_rankfile(r->info, &r->pl);
    int rc = 0;
    tern_error err = {0};
    if (!o->dry_run && jobdir_write(&r->jd, "rankfile", text, &err))
        rc = tern_cli_fail_err(r->verb, -1, &err);
    free(text);
    jobs_placement_hosts(&r->pl, r->hosts, sizeof r->hosts);
    return rc;
}

/* ---- the plan, for --dry-run -------------------------------------------------------- */
static void print_plan_json(const restart_job *r)
{
    printf("{\"checkpoint\":");
    tern_json_str(stdout, r->ckpt);
    printf(",\"epoch\":%llu,\"nranks\":%d,\"placement\":[", (unsigned long long)r->info->epoch,
           r->info->nranks);
    int first = 1;
    for (int h = 0; h < r->pl.nhosts; h++) {
        const jobs_host *x = &r->pl.hosts[h];
        if (!x->load) continue;
        printf("%s{\"host\":", first ? "" : ",");
        first = 0;
        tern_json_str(stdout, x->name);
        printf(",\"cores\":%d,\"slots\":%d,\"ranks\":[", x->cores, x->slots);
        for (int k = 0; k < x->ranks.n; k++) printf("%s%s", k ? "," : "", x->ranks.v[k]);
        printf("]}");
    }
    printf("],\"command\":[");
    for (int i = 0; i < r->opts.n; i++) {
        if (i) printf(",");
        tern_json_str(stdout, r->opts.v[i]);
    }
    for (int i = 0; i < r->prog->n; i++) {
        printf(",");
        tern_json_str(stdout, r->prog->v[i]);
    }
    printf("]}\n");
}

static void print_plan_text(const restart_job *r)
{
    printf("checkpoint %s (epoch %llu, %d ranks)\n", r->ckpt,
           (unsigned long long)r->info->epoch, r->info->nranks);
    for (int h = 0; h < r->pl.nhosts; h++) {
        const jobs_host *x = &r->pl.hosts[h];
        if (!x->load) continue;
        char *rl = sv_join(&x->ranks, ",");
        printf("%s: ranks %s (%d on %d %s%s)\n", x->name, rl, x->load, x->cap,
               x->slots >= 0 ? "slots" : "cores", x->load > x->cap ? ", oversubscribed" : "");
        free(rl);
    }
    char *c1 = sv_join(&r->opts, " "), *c2 = sv_join(r->prog, " ");
    printf("command: %s %s\n", c1, c2);
    free(c1);
    free(c2);
}

static int print_plan(const restart_job *r)
{
    if (r->o->json) print_plan_json(r);
    else print_plan_text(r);
    return 0;
}

/* ---- the launch ----------------------------------------------------------------------- */
/* As tern run would start it: the settings are the job file's, then the
 * options'; the launcher the user's, then the saved one. */
static void prepare_launch(const restart_job *r, jobs_launch *L)
{
    const jobs_restart_opts *o = r->o;
    memset(L, 0, sizeof *L);
    L->verb = r->verb;
    L->jd = &r->jd;
    L->set = r->set;
    const char *job = jobfile_get(&r->jf, "job");
    snprintf(L->set.job, sizeof L->set.job, "%s",
             r->info->job[0] ? r->info->job : job ? job : "unnamed");
    snprintf(L->set.dir, sizeof L->set.dir, "%s", r->dir);
    const char *lib = jobfile_get(&r->jf, "lib");
    if (r->have_jf && lib && !*lib) L->set.no_preload = 1;
    L->launcher = r->launcher ? r->launcher : jobfile_get(&r->jf, "launcher");
    L->opts = r->opts;
    L->prog = *r->prog;
    sv_push_all(&L->saved_args, &r->opts);
    sv_push_all(&L->saved_args, r->prog);
    L->restart_from = r->ckpt;
    L->nranks = r->info->nranks;
    L->hosts = r->hosts;
    L->json = o->json;
    L->quiet = o->quiet;
    L->on_event = o->on_event;
    L->ctx = o->ctx;
}

/* A transparent checkpoint (its ranks saved the proxy's state): the
 * restart runs under tern-proxy, which restores each application image. */
static int transparent_ckpt(const restart_job *r)
{
    tern_segment_info *segs = NULL;
    int n = 0, found = 0;
    tern_error err = {0};
    if (tern_ckpt_segments(r->c, 0, &segs, &n, &err)) return 0;
    for (int i = 0; i < n; i++)
        if (!strcmp(segs[i].name, "px.state")) found = 1;
    free(segs);
    return found;
}

/* Runs the job in the directory it was started from; its exit status. */
static int launch(const restart_job *r)
{
    if (!r->o->quiet && !r->o->json) {
        fprintf(stderr, "tern %s: from %s (epoch %llu, %d ranks) on", r->verb, r->ckpt,
                (unsigned long long)r->info->epoch, r->info->nranks);
        for (int h = 0; h < r->pl.nhosts; h++) {
            const jobs_host *x = &r->pl.hosts[h];
            if (x->load) fprintf(stderr, " %s:%d", x->name, x->load);
        }
        fprintf(stderr, "\n");
    }
    jobs_launch L;
    prepare_launch(r, &L);
    strv prog = {0};
    sv_push_all(&prog, r->prog);
    L.prog = prog;
    if (transparent_ckpt(r) && jobs_mode_setup(&L, JOBS_MODE_TRANSPARENT) < 0) {
        sv_free(&L.prog);
        sv_free(&L.saved_args);
        return 2;
    }
    const char *cwd = jobfile_get(&r->jf, "cwd");
    if (cwd && jobs_is_dir(cwd) && chdir(cwd)) {}
    int rc = jobs_launch_and_follow(&L);
    sv_free(&L.prog);
    sv_free(&L.saved_args);
    return rc < 0 ? 2 : rc;
}

int jobs_restart(const jobs_restart_opts *o)
{
    restart_job r;
    memset(&r, 0, sizeof r);
    r.o = o;
    r.verb = o->verb;
    r.jd.fd = -1;
    int rc = 2;
    if (!read_job(&r) && !open_checkpoint(&r) && !plan_command(&r) && !check_jobfile(&r) &&
        !plan_placement(&r)) {
        if (!o->dry_run) rc = launch(&r);
        else rc = o->check_only ? 0 : print_plan(&r);
    }
    jobs_placement_free(&r.pl);
    sv_free(&r.sopts);
    sv_free(&r.sprog);
    sv_free(&r.uopts);
    sv_free(&r.uprog);
    sv_free(&r.opts);
    if (r.c) tern_ckpt_close(r.c);
    jobfile_free(&r.jf);
    jobdir_close(&r.jd);
    return rc;
}

/* ---- tern restart ------------------------------------------------------------- */
static void usage_restart(FILE *f)
{
    fprintf(f,
"usage: tern restart [options] [-- [mpirun] [mpirun options] [PROGRAM ARGS...]]\n"
"\n"
"Restarts a job from its latest committed checkpoint (or --from) with the\n"
"same rank count, on the hosts it ran on less --exclude, or on the hosts of\n"
"--hostfile. Ranks stay on their host when it is still there; the others go\n"
"where there is room (cores from the hwloc topologies in the checkpoint, or\n"
"slots= in the hostfile); tern refuses when the hosts cannot hold the ranks,\n"
"unless mpirun is given --oversubscribe. Placement is a rankfile in the job\n"
"directory. The program, its arguments and the mpirun options come from the\n"
"job file; options given after -- are added (an --mca KEY or -x NAME given\n"
"replaces the saved one), a program given there replaces the saved one.\n"
"\n"
"options:\n"
"  --dir DIR            job directory (default: the only one in ./tern-ckpt)\n"
"  --job NAME           job directory ./tern-ckpt/NAME\n"
"  --from CKPT          checkpoint file, or a directory (its latest)\n"
"  --exclude H1,H2      do not use these hosts (they must be the job's)\n"
"  --hostfile FILE      hosts to use: 'host [slots=N]' lines\n"
"  --interval/--signal/--compress/--keep   as for tern run (default: as saved)\n"
"  --dry-run            print the placement and the command, run nothing\n"
"  --json               JSON: events while running (on stderr); the plan with --dry-run\n"
"  --quiet              no progress lines (errors only)\n"
"  -v, --verbose        print the mpirun command line before running it\n"
"example: tern restart --exclude node3 --dir tern-ckpt/cg\n");
}

/* The options before "--" into o; what follows it is o->user_args.
 * JOBS_ARGS_OK, or the exit status (--help, an error). */
static int restart_args(int argc, char **argv, jobs_restart_opts *o)
{
    static const struct option lo[] = {
        JOBS_SETTINGS_OPTIONS,
        {"dir", required_argument, 0, 'd'},   {"job", required_argument, 0, 'j'},
        {"from", required_argument, 0, 'f'},  {"hostfile", required_argument, 0, 'H'},
        {"exclude", required_argument, 0, 'x'}, {"dry-run", no_argument, 0, 'n'},
        {"json", no_argument, 0, 'J'},        {"quiet", no_argument, 0, 'q'},
        {"help", no_argument, 0, 'h'},        {0, 0, 0, 0}};
    jobs_opts p;
    jobs_opts_begin(&p, o->verb, argc, argv, lo);
    int c;
    while ((c = jobs_opts_next(&p)) != JOBS_OPT_END) {
        switch (c) {
        case 'h': usage_restart(stdout); return 0;
        case 'd': o->dir_arg = optarg; break;
        case 'j': o->job = optarg; break;
        case 'f': o->from = optarg; break;
        case 'H': o->hostfile = optarg; break;
        case 'x': sv_push_csv(&o->exclude, optarg); break;
        case 'n': o->dry_run = 1; break;
        case 'J': o->json = 1; break;
        case 'q': o->quiet = 1; break;
        case JOBS_OPT_OPERAND:
            if (o->dir_arg) return tern_cli_fail(o->verb, 2, "unexpected argument '%s'", p.word);
            o->dir_arg = argv[optind++];
            break;
        case JOBS_OPT_NOVALUE: return jobs_opt_novalue(&p);
        case JOBS_OPT_UNKNOWN: return jobs_opt_unknown(&p);
        default: /* JOBS_OPT_INTERVAL ... */
            if (jobs_settings_option(o->verb, c, optarg, &o->set, &o->set_given)) return 2;
        }
    }
    for (int k = optind; k < argc; k++) sv_push(&o->user_args, argv[k]);
    return JOBS_ARGS_OK;
}

int tern_verb_restart(int argc, char **argv)
{
    jobs_restart_opts o;
    memset(&o, 0, sizeof o);
    o.verb = "restart";
    int rc = restart_args(argc, argv, &o);
    if (tern_cli_quiet()) o.quiet = 1;
    if (rc == JOBS_ARGS_OK) rc = jobs_restart(&o);
    sv_free(&o.exclude);
    sv_free(&o.user_args);
    return rc;
}
