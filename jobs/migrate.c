/* tern migrate: a running job off some of its hosts (a checkpoint-and-stop,
 * then a restart elsewhere), and how long it was down. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "clock.h"
#include "jobdir.h"
#include "launch.h"
#include "options.h"
#include "request.h"
#include "restart.h"
#include "tern_store.h"
#include "verbs.h"

static const char *const V = "migrate";

static void usage_migrate(FILE *f)
{
    fprintf(f,
"usage: tern migrate --off HOST[,HOST...] [options] [JOBDIR] [-- mpirun options]\n"
"\n"
"Moves a running job off HOST: asks for a checkpoint-and-stop, waits until\n"
"the job has stopped, then restarts it from that checkpoint on its other\n"
"hosts (as 'tern restart --exclude HOST') and prints the downtime: from the\n"
"request to the restarted job's MPI_Init. Stays in the foreground as the\n"
"restarted job's 'tern run' and returns its exit status.\n"
"\n"
"options:\n"
"  --off HOSTS      the hosts to leave (required)\n"
"  --hostfile FILE  restart on these hosts instead (HOSTS still excluded)\n"
"  --timeout SEC    for the checkpoint and the stop (default 120)\n"
"  --json           print the downtime (and events) as JSON\n"
"  --quiet          no progress lines (errors only)\n"
"  -v, --verbose    print the mpirun command line before running it\n");
}

typedef struct migrate_cmd {
    const char *off, *dirarg, *hostfile;
    double timeout;
    int json, quiet;
    strv user_args;             /* after --, for the restart */
    jobdir jd;
    const char *dir;            /* = jd.path */
    jobfile jf;
    int local;                  /* started on this host: pid is its mpirun */
    pid_t pid;
    unsigned long long start;   /* and start its start time (0 unknown) */
    strv offs;                  /* the hosts in --off */
} migrate_cmd;

/* The times of the move, for the line that reports the downtime. */
struct mig {
    double t0, t_committed, t_stopped, t_restarted;
    int json;
    const char *off;
    uint64_t epoch;
};

static int migrate_args(int argc, char **argv, migrate_cmd *m)
{
    static const struct option lo[] = {
        {"off", required_argument, 0, 'o'},  {"hostfile", required_argument, 0, 'H'},
        {"timeout", required_argument, 0, 't'}, {"json", no_argument, 0, 'J'},
        {"quiet", no_argument, 0, 'q'},      {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    jobs_opts p;
    jobs_opts_begin(&p, V, argc, argv, lo);
    int c;
    while ((c = jobs_opts_next(&p)) != JOBS_OPT_END) {
        switch (c) {
        case 'h': usage_migrate(stdout); return 0;
        case 'o': m->off = optarg; break;
        case 'H': m->hostfile = optarg; break;
        case 't':
            if (jobs_parse_double(optarg, &m->timeout) || !isfinite(m->timeout) || m->timeout <= 0)
                return tern_cli_fail(V, 2, "--timeout needs a number of seconds > 0");
            break;
        case 'J': m->json = 1; break;
        case 'q': m->quiet = 1; break;
        case JOBS_OPT_OPERAND:
            if (m->dirarg) return tern_cli_fail(V, 2, "unexpected argument '%s'", p.word);
            m->dirarg = argv[optind++];
            break;
        case JOBS_OPT_NOVALUE: return jobs_opt_novalue(&p);
        default: return jobs_opt_unknown(&p);
        }
    }
    for (int k = optind; k < argc; k++) sv_push(&m->user_args, argv[k]);
    if (!m->off || !*m->off) return tern_cli_fail(V, 2, "--off HOST is required");
    return JOBS_ARGS_OK;
}

/* ---- before the stop: can the job move? ------------------------------------------ */
/* The job directory and its job file; a job started here must still run. */
static int read_job(migrate_cmd *m)
{
    if (jobs_resolve_dir(V, m->dirarg, NULL, &m->jd)) return -1;
    m->dir = m->jd.path;
    if (jobdir_check_files(V, &m->jd)) return -1;
    int rc = jobfile_read(V, &m->jd, &m->jf);
    if (rc == -2) return -1;
    if (rc) return tern_cli_fail(V, -1, "%s: no job file: not a job started by tern run", m->dir);
    m->local = jobfile_local_mpirun(&m->jf, &m->pid, &m->start);
    if (m->local && !jobs_proc_running(m->pid, m->start))
        return tern_cli_fail(V, -1, "%s: job is not running (mpirun pid %ld has exited)", m->dir,
                             (long)m->pid);
    return 0;
}

/* The hosts the job runs on: the job file's, and those of its latest
 * checkpoint (a job started without --host, e.g. under Slurm, names only
 * the local host). */
static void job_hosts(const migrate_cmd *m, strv *hosts)
{
    sv_push_csv(hosts, jobfile_get(&m->jf, "hosts"));
    tern_ckpt *c = NULL;
    tern_error err = {0};
    uint64_t *ep = NULL;
    int n = 0;
    if (tern_store_list(m->dir, &ep, &n, &err) == 0 && n > 0 && tern_ckpt_open(m->dir, &c, &err) == 0) {
        const tern_ckpt_info *ci = tern_ckpt_get_info(c);
        for (int k = 0; k < ci->nnodes; k++)
            if (!sv_has(hosts, ci->nodes[k].host)) sv_push(hosts, ci->nodes[k].host);
        tern_ckpt_close(c);
    }
    free(ep);
}

/* Every host of --off must be the job's, and some host must be left. */
static int check_hosts(migrate_cmd *m)
{
    strv jh = {0};
    job_hosts(m, &jh);
    sv_push_csv(&m->offs, m->off);
    int rc = 0;
    for (int k = 0; k < m->offs.n && !rc; k++)
        if (!sv_has(&jh, m->offs.v[k])) {
            char *all = sv_join(&jh, ", ");
            rc = tern_cli_fail(V, -1, "host %s is not used by the job (it runs on %s)", m->offs.v[k], all);
            free(all);
        }
    if (!rc && !m->hostfile && m->offs.n >= jh.n)
        rc = tern_cli_fail(V, -1, "cannot move the job off all its hosts: give other hosts with --hostfile");
    sv_free(&jh);
    return rc;
}

/* What both restarts (the check, the real one) are given: the job
 * directory, the hosts, the user's mpirun arguments. */
static void restart_opts(const migrate_cmd *m, jobs_restart_opts *o)
{
    memset(o, 0, sizeof *o);
    o->verb = V;
    o->dir_arg = m->dir;
    o->hostfile = m->hostfile;
    o->exclude = m->offs;
    o->user_args = m->user_args;
}

/* Whether the job can be placed without those hosts, checked now: after
 * the stop it would be too late. Needs a checkpoint (for the rank count and
 * the topologies); without one there is nothing to check. 0, or the exit
 * status of the failed check. */
static int check_placement(const migrate_cmd *m)
{
    uint64_t *ep = NULL;
    int n = 0;
    tern_error err = {0};
    int rc = 0;
    if (tern_store_list(m->dir, &ep, &n, &err) == 0 && n > 0) {
        jobs_restart_opts c;
        restart_opts(m, &c);
        c.dry_run = c.check_only = 1;
        rc = jobs_restart(&c);
    }
    free(ep);
    return rc;
}

/* ---- the stop ------------------------------------------------------------------------ */
/* Until the job has stopped: its mpirun gone (local), else a stopped event
 * for the epoch. 0, or -1 after the timeout (error printed). */
static int wait_stopped(const migrate_cmd *m, const struct mig *t, uint64_t epoch)
{
    for (;;) {
        if (m->local && !jobs_proc_running(m->pid, m->start)) break;
        if (!m->local) {
            char want[64];
            snprintf(want, sizeof want, "stopped epoch=%llu", (unsigned long long)epoch);
            tern_error err = {0};
            char *ev = jobdir_read(&m->jd, "events", 256u << 20, &err);
            int stopped = ev && strstr(ev, want);
            free(ev);
            if (stopped) {
                jobs_sleep(1.0);
                break;
            }
        }
        if (tern_now_wall() - t->t_committed > m->timeout)
            return tern_cli_fail(V, -1, "%s: the job did not stop within %g s after checkpoint %llu",
                                 m->dir, m->timeout, (unsigned long long)epoch);
        jobs_sleep(0.02);
    }
    /* the old tern run may still be writing the job file: wait for it */
    const char *tp = jobfile_get(&m->jf, "tern_pid");
    if (m->local && tp) {
        double t0 = tern_now_wall();
        while (jobs_proc_running((pid_t)atol(tp), 0) && tern_now_wall() - t0 < 5) jobs_sleep(0.02);
    }
    return 0;
}

/* A checkpoint-and-stop, and the wait for the stop. 0, or the exit status. */
static int stop_job(const migrate_cmd *m, struct mig *t, jobs_request_result *res)
{
    t->t0 = tern_now_wall();
    if (!m->quiet && !m->json)
        fprintf(stderr, "tern migrate: asking %s for a checkpoint-and-stop\n", m->dir);
    jobs_request(&m->jd, &m->jf, "checkpoint-and-stop", m->timeout, res);
    if (res->status == 1)
        return tern_cli_fail(V, 1, "%s: checkpoint failed, the job goes on where it is: %s", m->dir,
                             res->reason);
    if (res->status && res->reason_names_path) return tern_cli_fail(V, res->status, "%s", res->reason);
    if (res->status)
        return tern_cli_fail(V, res->status, "%s: %s", m->dir, res->reason);
    t->t_committed = tern_now_wall();
    t->epoch = res->epoch;
    if (!m->quiet && !m->json)
        fprintf(stderr, "tern migrate: checkpoint epoch %llu committed in %.3f s: %s\n",
                (unsigned long long)res->epoch, t->t_committed - t->t0, res->path);
    if (wait_stopped(m, t, res->epoch)) return 3;
    t->t_stopped = tern_now_wall();
    return 0;
}

/* ---- the restart --------------------------------------------------------------------- */
/* on the restarted job's 'restarted' event: the downtime line */
static void mig_event(void *ctx, const char *name, const char *line)
{
    struct mig *m = ctx;
    if (strcmp(name, "restarted") || m->t_restarted > 0) return;
    char t[64];
    if (jobs_event_get(line, "time", t, sizeof t) || jobs_parse_double(t, &m->t_restarted))
        m->t_restarted = tern_now_wall();
    double down = m->t_restarted - m->t0;
    if (m->json) {
        printf("{\"event\":\"migrated\",\"off\":");
        tern_json_str(stdout, m->off);
        printf(",\"epoch\":%llu,\"downtime\":%.3f,\"checkpoint_seconds\":%.3f,"
               "\"stop_seconds\":%.3f,\"restart_seconds\":%.3f}\n",
               (unsigned long long)m->epoch, down, m->t_committed - m->t0,
               m->t_stopped - m->t_committed, m->t_restarted - m->t_stopped);
        fflush(stdout);
    } else {
        fprintf(stderr,
                "tern migrate: job moved off %s: downtime %.3f s (checkpoint %.3f s, stop %.3f s, restart %.3f s)\n",
                m->off, down, m->t_committed - m->t0, m->t_stopped - m->t_committed,
                m->t_restarted - m->t_stopped);
    }
}

/* From the checkpoint of the stop, without the --off hosts; the restarted
 * job's exit status. */
static int restart_elsewhere(const migrate_cmd *m, struct mig *t, const jobs_request_result *res)
{
    jobs_restart_opts o;
    restart_opts(m, &o);
    o.from = res->path;
    o.json = m->json;
    o.quiet = m->quiet;
    o.on_event = mig_event;
    o.ctx = t;
    int rc = jobs_restart(&o);
    if (t->t_stopped > 0 && t->t_restarted == 0 && rc != 0)
        fprintf(stderr, "tern migrate: the job is stopped at checkpoint %llu (%s); restart it with 'tern restart --dir %s'\n",
                (unsigned long long)res->epoch, res->path, m->dir);
    if (t->t_restarted == 0 && rc == 0)
        fprintf(stderr, "tern migrate: the restarted job wrote no 'restarted' event: downtime unknown\n");
    return rc;
}

static int migrate(migrate_cmd *m)
{
    if (read_job(m) || check_hosts(m)) return 2;
    int rc = check_placement(m);
    if (rc) return rc;
    struct mig t = {0};
    t.json = m->json;
    t.off = m->off;
    jobs_request_result res;
    rc = stop_job(m, &t, &res);
    return rc ? rc : restart_elsewhere(m, &t, &res);
}

int tern_verb_migrate(int argc, char **argv)
{
    migrate_cmd m;
    memset(&m, 0, sizeof m);
    m.jd.fd = -1;
    m.timeout = 120;
    int rc = migrate_args(argc, argv, &m);
    if (tern_cli_quiet()) m.quiet = 1;
    if (rc == JOBS_ARGS_OK) rc = migrate(&m);
    jobfile_free(&m.jf);
    jobdir_close(&m.jd);
    sv_free(&m.offs);
    sv_free(&m.user_args);
    return rc;
}
