/* tern run and tern checkpoint. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
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
#include "request.h"
#include "verbs.h"

/* ---- tern run ------------------------------------------------------------------ */
static void usage_run(FILE *f)
{
    fprintf(f,
"usage: tern run [options] -- [mpirun] [mpirun options] PROGRAM [ARGS...]\n"
"\n"
"Runs an MPI job under tern: libtern.so is preloaded into every rank\n"
"(-x LD_PRELOAD), the TERN_* settings are passed with -x, DIR/job records\n"
"the command, and one line is printed per checkpoint. Returns the job's\n"
"exit status.\n"
"\n"
"options:\n"
"  --job NAME        job id (default: the program's name)\n"
"  --dir DIR         job directory (default: ./tern-ckpt/NAME)\n"
"  --interval SEC    checkpoint every SEC seconds (default 0: none)\n"
"  --signal SIG      signal that asks for a checkpoint: USR1, USR2, HUP, TERM,\n"
"                    INT, ALRM, a number or none (default USR1; send it to\n"
"                    tern, mpirun or a rank)\n"
"  --compress LEVEL  zlib level 0..9, 0 = off (default 1)\n"
"  --keep N          committed checkpoints kept (default 2)\n"
"  --fresh           delete the checkpoints an earlier run left in DIR\n"
"  --no-preload      the program is linked with -ltern: no LD_PRELOAD\n"
"  --mode MODE       api (libtern.so in the program), transparent (an unmodified\n"
"                    binary under tern-proxy) or auto (default: transparent\n"
"                    unless the program calls tern_snapshot; docs/usage.md)\n"
"  --json            one JSON object per event, on stderr (or --events), never\n"
"                    mixed into the job's stdout; no progress lines\n"
"  --events FILE     JSON events into FILE (created or truncated)\n"
"  --events-fd N     JSON events into the open descriptor N (not passed to the job)\n"
"  --quiet           no progress lines (errors only)\n"
"  -v, --verbose     print the mpirun command line before running it\n"
"exit status: the job's (mpirun's; 128+N when killed by signal N); 127 the\n"
"program is not found, 126 it cannot be run; 2 tern refused to start it.\n"
"environment: TERN_LIB (libtern.so to preload), TERN_MPIRUN (launcher).\n"
"example: tern run --interval 30 -- -np 4 --oversubscribe ./cg 200\n");
}

typedef struct run_cmd {
    jobs_launch L;
    const char *job, *dir;      /* --job, --dir, or NULL */
    int fresh;
    int mode;                   /* --mode (mode.h) */
    const char *events_file;    /* --events */
    long events_fd;             /* --events-fd, -1 none */
} run_cmd;

/* The options before the command (which starts after "--", or at the first
 * argument that is no option: optind). JOBS_ARGS_OK, or the exit status. */
static int run_args(int argc, char **argv, run_cmd *r)
{
    static const struct option lo[] = {
        JOBS_SETTINGS_OPTIONS,
        {"job", required_argument, 0, 'j'},   {"dir", required_argument, 0, 'd'},
        {"fresh", no_argument, 0, 'f'},       {"no-preload", no_argument, 0, 'P'},
        {"json", no_argument, 0, 'J'},        {"quiet", no_argument, 0, 'q'},
        {"mode", required_argument, 0, 'M'},
        {"events", required_argument, 0, 'E'}, {"events-fd", required_argument, 0, 'F'},
        {"help", no_argument, 0, 'h'},        {0, 0, 0, 0}};
    jobs_opts p;
    jobs_opts_begin(&p, r->L.verb, argc, argv, lo);
    for (;;) {
        int c = jobs_opts_next(&p);
        switch (c) {
        case JOBS_OPT_END:
        case JOBS_OPT_OPERAND: return JOBS_ARGS_OK;
        case 'h': usage_run(stdout); return 0;
        case 'j': r->job = optarg; break;
        case 'd': r->dir = optarg; break;
        case 'f': r->fresh = 1; break;
        case 'P': r->L.set.no_preload = 1; break;
        case 'J': r->L.json = 1; break;
        case 'q': r->L.quiet = 1; break;
        case 'E': r->events_file = optarg; break;
        case 'F':
            if (jobs_parse_int(optarg, &r->events_fd) || r->events_fd < 0 || r->events_fd > 1 << 20)
                return tern_cli_fail(r->L.verb, 2, "--events-fd: expected a file descriptor number, got '%s'", optarg);
            break;
        case 'M':
            if ((r->mode = jobs_mode_parse(optarg)) < 0)
                return tern_cli_fail(r->L.verb, 2, "--mode: api, transparent or auto, not '%s'", optarg);
            break;
        case JOBS_OPT_NOVALUE: return jobs_opt_novalue(&p);
        case JOBS_OPT_UNKNOWN: return jobs_opt_unknown(&p);
        default: /* JOBS_OPT_INTERVAL ... */
            if (jobs_settings_option(r->L.verb, c, optarg, &r->L.set, NULL)) return 2;
        }
    }
}

/* [mpirun] [mpirun options] PROGRAM [ARGS...]: what runs, and what the job
 * file keeps of it. A rank count mpirun cannot read is refused here, in one
 * line, not by mpirun's page of text. */
static int split_command(run_cmd *r, int argc, char **argv)
{
    jobs_launch *L = &r->L;
    if (argc <= 0)
        return tern_cli_fail(L->verb, -1, "no program given (usage: tern run [options] -- [mpirun options] PROGRAM)");
    char *launcher = NULL;
    mpi_split(argc, argv, &launcher, &L->opts, &L->prog);
    if (!L->prog.n) return tern_cli_fail(L->verb, -1, "no program given after the mpirun options");
    const char *opt, *val;
    if (mpi_bad_nranks(&L->opts, &opt, &val)) {
        char shown[256];
        jobs_printable(val, shown, sizeof shown);
        return tern_cli_fail(L->verb, -1, "%s: expected a number of ranks, got '%s'", opt, shown);
    }
    L->launcher = launcher;
    sv_push_all(&L->saved_args, &L->opts);
    sv_push_all(&L->saved_args, &L->prog);
    return 0;
}

/* Where the JSON events go (--events FILE, --events-fd N): opened here,
 * close-on-exec so that the job never writes into it. 0, or -1 with the
 * error printed. */
static int open_events_out(run_cmd *r)
{
    const char *V = r->L.verb;
    if (r->events_file && r->events_fd >= 0)
        return tern_cli_fail(V, -1, "--events and --events-fd: give one");
    int fd = -1;
    if (r->events_file) {
        fd = open(r->events_file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOCTTY, 0644);
        if (fd < 0) return tern_cli_fail(V, -1, "--events %s: %s", r->events_file, strerror(errno));
    } else if (r->events_fd >= 0) {
        int fl = fcntl((int)r->events_fd, F_GETFL);
        if (fl < 0 || (fl & O_ACCMODE) == O_RDONLY)
            return tern_cli_fail(V, -1, "--events-fd %ld: not a descriptor open for writing",
                                 r->events_fd);
        if (r->events_fd <= 2)
            return tern_cli_fail(V, -1, "--events-fd %ld: the job's own stdin, stdout or stderr", r->events_fd);
        fd = (int)r->events_fd;
        fcntl(fd, F_SETFD, FD_CLOEXEC);
    } else {
        return 0;
    }
    r->L.events_out = fdopen(fd, "w");
    if (!r->L.events_out) {
        close(fd);
        return tern_cli_fail(V, -1, "events stream: %s", strerror(errno));
    }
    return 0;
}

/* Whether the job runs on this host only (no --host/--hostfile naming
 * another, no working directory of mpirun's): only then does a program
 * missing here mean it is missing. */
static int runs_here_only(const jobs_launch *L, const char *hosts)
{
    static const char *const wd[] = {"-wdir", "--wdir", "-wd", "--wd", "--preload-binary", "-s"};
    for (size_t i = 0; i < sizeof wd / sizeof wd[0]; i++)
        if (sv_has(&L->opts, wd[i])) return 0;
    strv h = {0};
    sv_push_csv(&h, hosts);
    int here = 1;
    for (int i = 0; i < h.n; i++) {
        const char *x = h.v[i];
        size_t n = strcspn(x, ":");  /* host:slots */
        if (!(strlen(jobs_hostname()) == n && !strncmp(x, jobs_hostname(), n)) &&
            strncmp(x, "localhost", n) && n)
            here = 0;
    }
    sv_free(&h);
    return here;
}

/* A program that is not there is said in one line, as a shell says it
 * (127; 126 when it is there but cannot be run), not by mpirun's page and
 * its own exit status. The exit status, or 0 when the program is fine. */
static int check_program(const jobs_launch *L, const char *hosts)
{
    if (!runs_here_only(L, hosts)) return 0;
    const char *prog = L->prog.v[0];
    char found[4096], shown[4096];
    jobs_printable(prog, shown, sizeof shown);
    if (!strchr(prog, '/')) {
        if (jobs_find_exe(prog, found, sizeof found))
            return tern_cli_fail(L->verb, 127, "%s: program not found (not in PATH)", shown);
        return 0;
    }
    struct stat st;
    if (stat(prog, &st)) return tern_cli_fail(L->verb, 127, "%s: program not found", shown);
    if (S_ISDIR(st.st_mode)) return tern_cli_fail(L->verb, 126, "%s: is a directory", shown);
    if (access(prog, X_OK)) return tern_cli_fail(L->verb, 126, "%s: not executable", shown);
    return 0;
}

/* 1 when a job runs in d (its job file says so and its mpirun, on this
 * host, is alive: not a zombie, not another process with a recycled pid),
 * 0 when none does, -1 when the job file is refused (error printed). */
static int job_running(const char *verb, const jobdir *d, long *shown)
{
    jobfile jf;
    int rc = jobfile_read(verb, d, &jf);
    if (rc == -1) return 0;
    if (rc) return -1;
    const char *mp = jobfile_get(&jf, "mpirun_pid");
    *shown = mp ? atol(mp) : 0;
    int live = jobfile_running(&jf) == 1;
    jobfile_free(&jf);
    return live;
}

/* The job's name (--job, else the program's) and its directory (--dir,
 * else ./tern-ckpt/NAME), created and opened (jobdir_open: the user's, no
 * one else may write to it, no link); refused when a job runs there, or
 * when an earlier run's checkpoints are there and not --fresh. */
static int prepare_dir(run_cmd *r, jobdir *d)
{
    jobs_launch *L = &r->L;
    const char *job = r->job;
    if (!job) {
        const char *b = strrchr(L->prog.v[0], '/');
        job = b ? b + 1 : L->prog.v[0];
    }
    /* refused before anything is made: these go into the job file */
    char cwd[4096];
    if (jobs_check_text(L->verb, "the job name", job) ||
        (r->dir && jobs_check_text(L->verb, "the job directory", r->dir)) ||
        (getcwd(cwd, sizeof cwd) && jobs_check_text(L->verb, "the working directory", cwd)))
        return -1;
    if (strlen(job) >= sizeof L->set.job || !*job || strchr(job, '/'))
        return tern_cli_fail(L->verb, -1, "bad job name '%s'", job);
    snprintf(L->set.job, sizeof L->set.job, "%s", job);
    char want[4096];
    if (r->dir) snprintf(want, sizeof want, "%s", r->dir);
    else snprintf(want, sizeof want, "tern-ckpt/%s", job);
    if (jobdir_open(L->verb, want, !r->dir, 1, d) || jobdir_check_files(L->verb, d)) return -1;
    snprintf(L->set.dir, sizeof L->set.dir, "%s", d->path);
    long shown_pid = 0;
    int live = job_running(L->verb, d, &shown_pid);
    if (live < 0) return -1;
    if (live)
        return tern_cli_fail(L->verb, -1, "%s: a job is running there (mpirun pid %ld); use another --dir or --job",
                             L->set.dir, shown_pid);
    if (jobdir_has_checkpoints(d)) {
        if (!r->fresh)
            return tern_cli_fail(L->verb, -1,
                "%s holds checkpoints of an earlier run: 'tern restart' resumes it, --fresh deletes them",
                L->set.dir);
        jobdir_clear(d);
    }
    return 0;
}

int tern_verb_run(int argc, char **argv)
{
    run_cmd r;
    memset(&r, 0, sizeof r);
    r.L.verb = "run";
    r.events_fd = -1;
    jobs_settings_defaults(&r.L.set);
    jobdir d = {.fd = -1};
    char hosts[4096] = "";
    int rc = run_args(argc, argv, &r);
    if (tern_cli_quiet()) r.L.quiet = 1;
    if (rc == JOBS_ARGS_OK) {
        rc = 2;
        int bad = split_command(&r, argc - optind, argv + optind);
        if (!bad) {
            mpi_hosts(&r.L.opts, hosts, sizeof hosts);
            bad = check_program(&r.L, hosts);
            if (bad > 0) rc = bad;
        }
        if (!bad && !open_events_out(&r) && !prepare_dir(&r, &d) &&
            jobs_mode_setup(&r.L, r.mode) >= 0) {
            if (!hosts[0]) snprintf(hosts, sizeof hosts, "%s", jobs_hostname());
            r.L.hosts = hosts;
            r.L.nranks = mpi_nranks(&r.L.opts);
            r.L.jd = &d;
            rc = jobs_launch_and_follow(&r.L);
            if (rc < 0) rc = 2;
        }
    }
    jobdir_close(&d);
    if (r.L.events_out) fclose(r.L.events_out);
    sv_free(&r.L.opts);
    sv_free(&r.L.prog);
    sv_free(&r.L.saved_args);
    return rc;
}

/* ---- tern checkpoint ------------------------------------------------------- */
static void usage_ckpt(FILE *f)
{
    fprintf(f,
"usage: tern checkpoint [--stop] [--timeout SEC] [--json] [JOBDIR]\n"
"\n"
"Asks a running job for a checkpoint (a request file in JOBDIR, served at the\n"
"job's next snapshot point), waits until it is committed or has failed, and\n"
"prints the checkpoint's path. JOBDIR defaults to the only job in ./tern-ckpt.\n"
"\n"
"options:\n"
"  --stop         checkpoint, then every rank exits with status 0\n"
"  --timeout SEC  give up after SEC seconds (default 120)\n"
"  --json         print {\"status\":...,\"epoch\":...,\"path\":...} on every outcome:\n"
"                 status committed, failed, timeout, job-ended, no-job,\n"
"                 not-running or error (with \"reason\"; the error line is on\n"
"                 stderr as well)\n"
"exit status: 0 committed, 1 failed, 2 usage or no such job, 3 no answer in\n"
"time, 4 the job ended before answering.\n");
}

typedef struct ckpt_cmd {
    const char *dirarg;
    double timeout;
    int json, stop;
} ckpt_cmd;

static int checkpoint_args(int argc, char **argv, ckpt_cmd *k)
{
    static const struct option lo[] = {
        {"json", no_argument, 0, 'J'}, {"stop", no_argument, 0, 's'},
        {"timeout", required_argument, 0, 't'}, {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    const char *V = "checkpoint";
    jobs_opts p;
    jobs_opts_begin(&p, V, argc, argv, lo);
    for (;;) {
        int c = jobs_opts_next(&p);
        if (c == JOBS_OPT_END && !p.dashdash) break;
        switch (c) {
        case 'h': usage_ckpt(stdout); return 0;
        case 'J': k->json = 1; break;
        case 's': k->stop = 1; break;
        case 't':
            if (jobs_parse_double(optarg, &k->timeout) || !isfinite(k->timeout) || k->timeout <= 0)
                return tern_cli_fail(V, 2, "--timeout needs a number of seconds > 0");
            break;
        case JOBS_OPT_NOVALUE: return tern_cli_fail(V, 2, "--timeout needs a number of seconds > 0");
        case JOBS_OPT_OPERAND:
            if (k->dirarg) return tern_cli_fail(V, 2, "one job directory only");
            k->dirarg = argv[optind++];
            break;
        default: /* unknown, or "--": tern checkpoint passes nothing on */
            return jobs_opt_unknown(&p);
        }
    }
    return JOBS_ARGS_OK;
}

/* The answer, as JSON or the checkpoint's path; the exit status. */
static int report(const ckpt_cmd *k, const char *dir, const jobs_request_result *res)
{
    const char *V = "checkpoint";
    if (k->json) {
        printf("{\"status\":\"%s\",\"job_dir\":",
               res->status == 0 ? "committed" : res->status == 1 ? "failed"
               : res->status == 3 ? "timeout" : res->status == 4 ? "job-ended" : "error");
        tern_json_str(stdout, dir);
        if (res->status == 0) {
            printf(",\"epoch\":%llu,\"path\":", (unsigned long long)res->epoch);
            tern_json_str(stdout, res->path);
        } else {
            printf(",\"reason\":");
            tern_json_str(stdout, res->reason);
        }
        printf("}\n");
        return res->status;
    }
    if (res->status == 0) {
        printf("%s\n", res->path);
        return 0;
    }
    if (res->status == 1)
        return tern_cli_fail(V, 1, "%s: checkpoint failed: %s", dir, res->reason);
    if (res->reason_names_path) return tern_cli_fail(V, res->status, "%s", res->reason);
    return tern_cli_fail(V, res->status, "%s: %s", dir, res->reason);
}

/* --json: an answer that never reached the job (no such job, not running,
 * a refused directory) as JSON too; the error line is on stderr already.
 * Returns status. */
static int json_refusal(const ckpt_cmd *k, int status, const char *what, const char *dir)
{
    if (!k->json) return status;
    printf("{\"status\":\"%s\",\"job_dir\":", what);
    if (dir) tern_json_str(stdout, dir);
    else printf("null");
    printf(",\"reason\":");
    tern_json_str(stdout, tern_cli_last_error());
    printf("}\n");
    return status;
}

/* The job in d, asked; the exit status. */
static int ask(const ckpt_cmd *k, const jobdir *d)
{
    const char *V = "checkpoint";
    jobfile jf;
    int rc = jobfile_read(V, d, &jf);
    if (rc == -2) return json_refusal(k, 2, "error", d->path);
    if (rc) {
        tern_cli_fail(V, 2, "%s: no job file: not a job started by tern run", d->path);
        return json_refusal(k, 2, "no-job", d->path);
    }
    if (jobfile_running(&jf) == 0) {
        tern_cli_fail(V, 2, "%s: job is not running (mpirun pid %s has exited)", d->path,
                      jobfile_get(&jf, "mpirun_pid"));
        jobfile_free(&jf);
        return json_refusal(k, 2, "not-running", d->path);
    }
    jobs_request_result res;
    jobs_request(d, &jf, k->stop ? "checkpoint-and-stop" : "checkpoint", k->timeout, &res);
    jobfile_free(&jf);
    return report(k, d->path, &res);
}

int tern_verb_checkpoint(int argc, char **argv)
{
    const char *V = "checkpoint";
    ckpt_cmd k = {.timeout = 120};
    int rc = checkpoint_args(argc, argv, &k);
    if (rc != JOBS_ARGS_OK) return rc;
    jobdir d;
    if (jobs_resolve_dir(V, k.dirarg, NULL, &d)) {
        /* no such directory, none in ./tern-ckpt: no job; refused: error */
        const char *e = tern_cli_last_error();
        int none = strstr(e, "no such job directory") || strstr(e, "no job directory given") ||
                   strstr(e, "holds none");
        return json_refusal(&k, 2, none ? "no-job" : "error", k.dirarg);
    }
    /* the job writes its answer and checkpoints there: no file may be a link */
    rc = jobdir_check_files(V, &d) ? json_refusal(&k, 2, "error", d.path) : ask(&k, &d);
    jobdir_close(&d);
    return rc;
}
