/* tern restart and tern migrate. */
#include <errno.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "jobs.h"
#include "verbs.h"
#include "tern_store.h"

int jobs_settings_opt(const char *verb, int argc, char **argv, int *i, jobs_settings *s,
                      int *mask);

/* ---- merging mpirun options ------------------------------------------------ */
static const char *oname(const char *a)
{
    if (a[0] != '-') return a;
    a++;
    return a[0] == '-' ? a + 1 : a;
}

/* saved options, then the user's: an --mca KEY or -x NAME the user gives
 * replaces the saved one; other repeated options are dropped. */
static void merge_opts(const strv *saved, const strv *user, strv *out)
{
    strv u = {0};
    for (int i = 0; i < user->n; i++) sv_push(&u, user->v[i]);
    for (int i = 0; i < saved->n; i++) {
        int k = mpi_opt_nargs(saved->v[i]);
        int drop = 0;
        const char *n = oname(saved->v[i]);
        for (int j = 0; j < u.n; j++) {
            int kj = mpi_opt_nargs(u.v[j]);
            if (!strcmp(oname(u.v[j]), n)) {
                if (k == 2 && kj == 2 && i + 1 < saved->n && j + 1 < u.n &&
                    !strcmp(saved->v[i + 1], u.v[j + 1]))
                    drop = 1;
                else if (k == 1 && !strcmp(n, "x") && i + 1 < saved->n && j + 1 < u.n &&
                         strcspn(saved->v[i + 1], "=") == strcspn(u.v[j + 1], "=") &&
                         !strncmp(saved->v[i + 1], u.v[j + 1], strcspn(u.v[j + 1], "=")))
                    drop = 1;
                else if (k == 0 || (k == 1 && strcmp(n, "x")))
                    drop = 1;
            }
            j += kj;
        }
        if (!drop) {
            sv_push(out, saved->v[i]);
            for (int j = 0; j < k && i + 1 < saved->n; j++) sv_push(out, saved->v[++i]);
        } else {
            i += k;
        }
    }
    for (int i = 0; i < u.n; i++) sv_push(out, u.v[i]);
    sv_free(&u);
}

/* ---- hosts ------------------------------------------------------------------- */
typedef struct host {
    char name[256];
    int slots;        /* from a hostfile, -1 none */
    int cores;        /* from hwloc, -1 unknown */
    int cap;          /* ranks it can hold */
    int load;
    strv ranks;
} host;

static int find_host(host *h, int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (!strcmp(h[i].name, name)) return i;
    return -1;
}

static int read_hostfile(const char *verb, const char *path, host **hs, int *n)
{
    FILE *f = fopen(path, "r");
    if (!f) return tern_cli_fail(verb, -1, "%s: %s", path, strerror(errno));
    char line[1024];
    while (fgets(line, sizeof line, f)) {
        char *p = line + strspn(line, " \t");
        p[strcspn(p, "#\n")] = 0;
        if (!*p) continue;
        char name[256];
        size_t k = strcspn(p, " \t");
        snprintf(name, sizeof name, "%.*s", (int)k, p);
        int slots = -1;
        char *s = strstr(p + k, "slots=");
        if (s && (s == p + k || s[-1] == ' ' || s[-1] == '\t')) slots = atoi(s + 6);
        if (find_host(*hs, *n, name) >= 0) continue;
        *hs = realloc(*hs, (size_t)(*n + 1) * sizeof **hs);
        host *h = &(*hs)[(*n)++];
        memset(h, 0, sizeof *h);
        snprintf(h->name, sizeof h->name, "%s", name);
        h->slots = slots;
        h->cores = -1;
    }
    fclose(f);
    if (!*n) return tern_cli_fail(verb, -1, "%s: no hosts in it", path);
    return 0;
}

static void split_csv(const char *s, strv *out)
{
    while (s && *s) {
        size_t k = strcspn(s, ",");
        if (k) sv_pushf(out, "%.*s", (int)k, s);
        s += k;
        if (*s) s++;
    }
}

int jobs_restart(jobs_restart_opts *o)
{
    const char *V = o->verb;
    int rc = 2;
    char dir[4096];
    char from_abs[4096] = "";
    if (o->from) {
        if (!jobs_is_file(o->from) && !jobs_is_dir(o->from))
            return tern_cli_fail(V, 2, "no such checkpoint: %s", o->from);
        if (!realpath(o->from, from_abs)) return tern_cli_fail(V, 2, "%s: %s", o->from, strerror(errno));
    }
    if (!o->dir_arg && !o->job && from_abs[0]) {
        if (jobs_is_dir(from_abs)) snprintf(dir, sizeof dir, "%s", from_abs);
        else {
            char tmp[4096];
            snprintf(tmp, sizeof tmp, "%s", from_abs);
            snprintf(dir, sizeof dir, "%s", dirname(tmp));
        }
    } else if (jobs_resolve_dir(V, o->dir_arg, o->job, dir, sizeof dir)) {
        return 2;
    }
    jobfile jf;
    int have_jf = jobfile_read(dir, &jf) == 0;
    if (!have_jf) memset(&jf, 0, sizeof jf);
    if (have_jf && !o->dry_run) {
        const char *h = jobfile_get(&jf, "host"), *mp = jobfile_get(&jf, "mpirun_pid");
        if (h && mp && !strcmp(h, jobs_hostname()) && jobs_pid_alive((pid_t)atol(mp))) {
            tern_cli_fail(V, 2, "%s: the job is still running (mpirun pid %s): stop it first, or use 'tern migrate'",
                          dir, mp);
            goto out_jf;
        }
    }

    /* the checkpoint */
    char ckpt[4096];
    tern_error err = {0};
    const char *src = from_abs[0] ? from_abs : dir;
    if (jobs_is_dir(src)) {
        uint64_t *ep = NULL;
        int n = 0;
        if (tern_store_list(src, &ep, &n, &err)) {
            tern_cli_fail_err(V, 2, &err);
            goto out_jf;
        }
        if (n == 0) {
            free(ep);
            tern_cli_fail(V, 2, "no checkpoint to restart from in %s", src);
            goto out_jf;
        }
        tern_store_path(src, ep[n - 1], ckpt, sizeof ckpt);
        free(ep);
    } else {
        snprintf(ckpt, sizeof ckpt, "%s", src);
    }
    tern_ckpt *c = NULL;
    if (tern_ckpt_open(ckpt, &c, &err)) {
        tern_cli_fail_err(V, 2, &err);
        goto out_jf;
    }
    const tern_ckpt_info *info = tern_ckpt_get_info(c);
    int nranks = info->nranks;

    /* the command */
    strv sopts = {0}, sprog = {0}, uopts = {0}, uprog = {0}, opts = {0}, merged = {0};
    char *launcher = NULL;
    mpi_split(jf.args.n, jf.args.v, NULL, &sopts, &sprog);
    mpi_split(o->user_args.n, o->user_args.v, &launcher, &uopts, &uprog);
    strv *prog = uprog.n ? &uprog : &sprog;
    host *hs = NULL;
    int nh = 0;
    int *where = NULL;
    if (!prog->n) {
        tern_cli_fail(V, 2, "%s: no job file and no program given after --", dir);
        goto out;
    }
    int un = mpi_nranks(&uopts);
    if (un && un != nranks) {
        tern_cli_fail(V, 2, "rank count mismatch: the checkpoint has %d ranks, -np asks for %d",
                      nranks, un);
        goto out;
    }
    {
        strv s1 = {0}, s2 = {0};
        mpi_strip_placement(&sopts, &s1);
        mpi_strip_placement(&uopts, &s2);
        merge_opts(&s1, &s2, &merged);
        sv_free(&s1);
        sv_free(&s2);
    }
    int oversub = mpi_oversubscribe(&merged);

    /* the hosts */
    strv used = {0};
    for (int i = 0; i < info->nnodes; i++) sv_push(&used, info->nodes[i].host);
    if (o->hostfile) {
        if (read_hostfile(V, o->hostfile, &hs, &nh)) goto out;
    } else {
        for (int i = 0; i < info->nnodes; i++) {
            hs = realloc(hs, (size_t)(nh + 1) * sizeof *hs);
            memset(&hs[nh], 0, sizeof *hs);
            snprintf(hs[nh].name, sizeof hs[nh].name, "%s", info->nodes[i].host);
            hs[nh].slots = -1;
            hs[nh].cores = -1;
            nh++;
        }
    }
    for (int e = 0; e < o->exclude.n; e++) {
        const char *x = o->exclude.v[e];
        int k = find_host(hs, nh, x);
        if (!sv_has(&used, x) && k < 0) {
            char *all = sv_join(&used, ", ");
            tern_cli_fail(V, 2, "host %s in --exclude was not used by the job (it ran on %s)", x, all);
            free(all);
            sv_free(&used);
            goto out;
        }
        if (k >= 0) {
            memmove(&hs[k], &hs[k + 1], (size_t)(nh - k - 1) * sizeof *hs);
            nh--;
        }
    }
    sv_free(&used);
    if (nh == 0) {
        tern_cli_fail(V, 2, "no host left to restart on (all are excluded)");
        goto out;
    }
    int local_cores = -2;
    long total = 0;
    for (int i = 0; i < nh; i++) {
        for (int k = 0; k < info->nnodes; k++)
            if (!strcmp(info->nodes[k].host, hs[i].name))
                hs[i].cores = jobs_cores_of_xml(info->nodes[k].topology_xml);
        if (hs[i].cores < 0 && !strcmp(hs[i].name, jobs_hostname())) {
            if (local_cores == -2) local_cores = jobs_local_cores();
            hs[i].cores = local_cores;
        }
        hs[i].cap = hs[i].slots >= 0 ? hs[i].slots : hs[i].cores;
        if (hs[i].cap < 0) {
            tern_cli_fail(V, 2, "cannot tell how many ranks %s can hold: give 'slots=N' for it in the hostfile",
                          hs[i].name);
            goto out;
        }
        total += hs[i].cap;
    }
    if (total < nranks && !oversub) {
        char list[4096] = "";
        for (int i = 0; i < nh; i++) {
            char one[400];
            snprintf(one, sizeof one, "%s%s: %d", i ? ", " : "", hs[i].name, hs[i].cap);
            strncat(list, one, sizeof list - strlen(list) - 1);
        }
        tern_cli_fail(V, 2,
            "cannot place %d ranks: the hosts hold %ld (%s); add hosts with --hostfile, or pass --oversubscribe to mpirun",
            nranks, total, list);
        goto out;
    }
    /* placement: ranks stay where they ran when that host is still there and
     * has room; the others go to the host with the most room left */
    where = malloc(sizeof(int) * (size_t)(nranks > 0 ? nranks : 1));
    for (int r = 0; r < nranks; r++) where[r] = -1;
    for (int k = 0; k < info->nnodes; k++) {
        int h = find_host(hs, nh, info->nodes[k].host);
        if (h < 0) continue;
        for (int j = 0; j < info->nodes[k].nranks; j++) {
            int r = info->nodes[k].ranks[j];
            if (r >= 0 && r < nranks && where[r] < 0 && hs[h].load < hs[h].cap) {
                where[r] = h;
                hs[h].load++;
            }
        }
    }
    for (int r = 0; r < nranks; r++) {
        if (where[r] >= 0) continue;
        int best = -1;
        double bestv = 0;
        for (int h = 0; h < nh; h++) {
            /* room left, or (oversubscribing) the smallest load per core */
            double v = hs[h].load < hs[h].cap ? 1e9 + hs[h].cap - hs[h].load
                       : -(double)(hs[h].load + 1) / (hs[h].cap > 0 ? hs[h].cap : 1);
            if (best < 0 || v > bestv) best = h, bestv = v;
        }
        where[r] = best;
        hs[best].load++;
    }
    /* rankfile: slot = index on the host modulo its cores. A host the job
     * never ran on has no topology in the checkpoint: assume it is like the
     * smallest node the job ran on (a slot number past its cores would make
     * mpirun fail). */
    int guess = -1;
    for (int k = 0; k < info->nnodes; k++) {
        int cc = jobs_cores_of_xml(info->nodes[k].topology_xml);
        if (cc > 0 && (guess < 0 || cc < guess)) guess = cc;
    }
    if (guess < 0) guess = jobs_local_cores();
    if (guess < 1) guess = 1;
    char rankfile[4200];
    snprintf(rankfile, sizeof rankfile, "%s/rankfile", dir);
    {
        strv lines = {0};
        int *idx = calloc((size_t)nh, sizeof(int));
        for (int r = 0; r < nranks; r++) {
            host *h = &hs[where[r]];
            int cores = h->cores > 0 ? h->cores
                        : (h->cap > 0 && h->cap < guess ? h->cap : guess);
            sv_pushf(&lines, "rank %d=%s slot=%d", r, h->name, idx[where[r]]++ % cores);
            sv_pushf(&h->ranks, "%d", r);
        }
        free(idx);
        char *text = sv_join(&lines, "\n");
        size_t tl = strlen(text);
        text = realloc(text, tl + 2);
        strcpy(text + tl, "\n");
        if (!o->dry_run && jobs_write_file_atomic(rankfile, text)) {
            tern_cli_fail(V, 2, "%s: cannot write: %s", rankfile, strerror(errno));
            free(text);
            sv_free(&lines);
            goto out;
        }
        free(text);
        sv_free(&lines);
    }
    sv_pushf(&opts, "-np");
    sv_pushf(&opts, "%d", nranks);
    sv_push(&opts, "--rankfile");
    sv_push(&opts, rankfile);
    for (int i = 0; i < merged.n; i++) sv_push(&opts, merged.v[i]);

    /* settings: the job file's, then the options */
    jobs_launch L;
    memset(&L, 0, sizeof L);
    L.verb = V;
    const char *d;
    snprintf(L.set.interval, sizeof L.set.interval, "%s", (d = jobfile_get(&jf, "interval")) ? d : "0");
    snprintf(L.set.signal, sizeof L.set.signal, "%s", (d = jobfile_get(&jf, "signal")) ? d : "USR1");
    snprintf(L.set.compress, sizeof L.set.compress, "%s", (d = jobfile_get(&jf, "compress")) ? d : "1");
    snprintf(L.set.keep, sizeof L.set.keep, "%s", (d = jobfile_get(&jf, "keep")) ? d : "2");
    if (o->interval) snprintf(L.set.interval, sizeof L.set.interval, "%s", o->interval);
    if (o->signal) snprintf(L.set.signal, sizeof L.set.signal, "%s", o->signal);
    if (o->compress) snprintf(L.set.compress, sizeof L.set.compress, "%s", o->compress);
    if (o->keep) snprintf(L.set.keep, sizeof L.set.keep, "%s", o->keep);
    snprintf(L.set.job, sizeof L.set.job, "%s",
             info->job[0] ? info->job : (d = jobfile_get(&jf, "job")) ? d : "unnamed");
    snprintf(L.set.dir, sizeof L.set.dir, "%s", dir);
    const char *lib = jobfile_get(&jf, "lib");
    if (have_jf && lib && !*lib) L.set.no_preload = 1;
    L.launcher = launcher ? launcher : jobfile_get(&jf, "launcher");
    L.opts = opts;
    L.prog = *prog;
    for (int i = 0; i < opts.n; i++) sv_push(&L.saved_args, opts.v[i]);
    for (int i = 0; i < prog->n; i++) sv_push(&L.saved_args, prog->v[i]);
    L.restart_from = ckpt;
    L.nranks = nranks;
    L.json = o->json;
    L.quiet = o->quiet;
    L.on_event = o->on_event;
    L.ctx = o->ctx;
    char hostlist[4096] = "";
    for (int h = 0; h < nh; h++) {
        if (!hs[h].load) continue;
        if (hostlist[0]) strncat(hostlist, ",", sizeof hostlist - strlen(hostlist) - 1);
        strncat(hostlist, hs[h].name, sizeof hostlist - strlen(hostlist) - 1);
    }
    L.hosts = hostlist;

    if (o->dry_run && o->check_only) {
        rc = 0;
    } else if (o->dry_run) {
        if (o->json) {
            printf("{\"checkpoint\":");
            tern_json_str(stdout, ckpt);
            printf(",\"epoch\":%llu,\"nranks\":%d,\"placement\":[",
                   (unsigned long long)info->epoch, nranks);
            int first = 1;
            for (int h = 0; h < nh; h++) {
                if (!hs[h].load) continue;
                printf("%s{\"host\":", first ? "" : ",");
                first = 0;
                tern_json_str(stdout, hs[h].name);
                printf(",\"cores\":%d,\"slots\":%d,\"ranks\":[", hs[h].cores, hs[h].slots);
                for (int k = 0; k < hs[h].ranks.n; k++) printf("%s%s", k ? "," : "", hs[h].ranks.v[k]);
                printf("]}");
            }
            printf("],\"command\":[");
            for (int i = 0; i < opts.n; i++) {
                if (i) printf(",");
                tern_json_str(stdout, opts.v[i]);
            }
            for (int i = 0; i < prog->n; i++) {
                printf(",");
                tern_json_str(stdout, prog->v[i]);
            }
            printf("]}\n");
        } else {
            printf("checkpoint %s (epoch %llu, %d ranks)\n", ckpt,
                   (unsigned long long)info->epoch, nranks);
            for (int h = 0; h < nh; h++) {
                if (!hs[h].load) continue;
                char *rl = sv_join(&hs[h].ranks, ",");
                printf("%s: ranks %s (%d on %d %s%s)\n", hs[h].name, rl, hs[h].load, hs[h].cap,
                       hs[h].slots >= 0 ? "slots" : "cores",
                       hs[h].load > hs[h].cap ? ", oversubscribed" : "");
                free(rl);
            }
            char *c1 = sv_join(&opts, " "), *c2 = sv_join(prog, " ");
            printf("command: %s %s\n", c1, c2);
            free(c1);
            free(c2);
        }
        rc = 0;
    } else {
        if (!o->quiet && !o->json) {
            fprintf(stderr, "tern %s: from %s (epoch %llu, %d ranks) on", V, ckpt,
                    (unsigned long long)info->epoch, nranks);
            for (int h = 0; h < nh; h++)
                if (hs[h].load) fprintf(stderr, " %s:%d", hs[h].name, hs[h].load);
            fprintf(stderr, "\n");
        }
        const char *cwd = jobfile_get(&jf, "cwd");
        if (cwd && jobs_is_dir(cwd) && chdir(cwd)) {}
        rc = jobs_launch_and_follow(&L);
        if (rc < 0) rc = 2;
    }
    sv_free(&L.saved_args);
out:
    for (int h = 0; h < nh; h++) sv_free(&hs[h].ranks);
    free(hs);
    free(where);
    sv_free(&sopts); sv_free(&sprog); sv_free(&uopts); sv_free(&uprog);
    sv_free(&opts); sv_free(&merged);
    tern_ckpt_close(c);
out_jf:
    jobfile_free(&jf);
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
"  --json               JSON: events while running; the plan with --dry-run\n"
"  --quiet              no progress lines\n"
"example: tern restart --exclude node3 --dir tern-ckpt/cg\n");
}

int tern_verb_restart(int argc, char **argv)
{
    const char *V = "restart";
    jobs_restart_opts o;
    memset(&o, 0, sizeof o);
    o.verb = V;
    jobs_settings s;
    memset(&s, 0, sizeof s);
    int mask = 0, i;
    for (i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--")) { i++; break; }
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) { usage_restart(stdout); return 0; }
        int r = jobs_settings_opt(V, argc, argv, &i, &s, &mask);
        if (r < 0) return 2;
        if (r) continue;
        const char **dst = !strcmp(a, "--dir") ? &o.dir_arg : !strcmp(a, "--job") ? &o.job
                         : !strcmp(a, "--from") ? &o.from : !strcmp(a, "--hostfile") ? &o.hostfile
                         : NULL;
        if (dst || !strcmp(a, "--exclude")) {
            if (i + 1 >= argc) return tern_cli_fail(V, 2, "%s needs a value", a);
            if (dst) *dst = argv[++i];
            else split_csv(argv[++i], &o.exclude);
        } else if (!strcmp(a, "--dry-run")) o.dry_run = 1;
        else if (!strcmp(a, "--json")) o.json = 1;
        else if (!strcmp(a, "--quiet")) o.quiet = 1;
        else if (a[0] == '-') return tern_cli_fail(V, 2, "unknown option '%s' (see 'tern restart --help')", a);
        else if (!o.dir_arg) o.dir_arg = a;
        else return tern_cli_fail(V, 2, "unexpected argument '%s'", a);
    }
    for (; i < argc; i++) sv_push(&o.user_args, argv[i]);
    if (mask & 1) o.interval = s.interval;
    if (mask & 2) o.signal = s.signal;
    if (mask & 4) o.compress = s.compress;
    if (mask & 8) o.keep = s.keep;
    int rc = jobs_restart(&o);
    sv_free(&o.exclude);
    sv_free(&o.user_args);
    return rc;
}

/* ---- tern migrate -------------------------------------------------------------- */
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
"  --quiet          no progress lines\n");
}

struct mig {
    double t0, t_committed, t_stopped, t_restarted;
    int json;
    const char *off;
    uint64_t epoch;
};

static void mig_event(void *ctx, const char *name, const char *line)
{
    struct mig *m = ctx;
    if (strcmp(name, "restarted") || m->t_restarted > 0) return;
    char t[64];
    if (jobs_event_get(line, "time", t, sizeof t) || jobs_parse_double(t, &m->t_restarted))
        m->t_restarted = jobs_now();
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

int tern_verb_migrate(int argc, char **argv)
{
    const char *V = "migrate";
    const char *off = NULL, *dirarg = NULL, *hostfile = NULL;
    double timeout = 120;
    int json = 0, quiet = 0, i;
    for (i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--")) { i++; break; }
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) { usage_migrate(stdout); return 0; }
        if (!strcmp(a, "--off") || !strcmp(a, "--hostfile") || !strcmp(a, "--timeout")) {
            if (i + 1 >= argc) return tern_cli_fail(V, 2, "%s needs a value", a);
            const char *v = argv[++i];
            if (!strcmp(a, "--off")) off = v;
            else if (!strcmp(a, "--hostfile")) hostfile = v;
            else if (jobs_parse_double(v, &timeout) || timeout <= 0)
                return tern_cli_fail(V, 2, "--timeout needs a number of seconds > 0");
        } else if (!strcmp(a, "--json")) json = 1;
        else if (!strcmp(a, "--quiet")) quiet = 1;
        else if (a[0] == '-') return tern_cli_fail(V, 2, "unknown option '%s' (see 'tern migrate --help')", a);
        else if (!dirarg) dirarg = a;
        else return tern_cli_fail(V, 2, "unexpected argument '%s'", a);
    }
    if (!off || !*off) return tern_cli_fail(V, 2, "--off HOST is required");
    char dir[4096];
    if (jobs_resolve_dir(V, dirarg, NULL, dir, sizeof dir)) return 2;
    jobfile jf;
    if (jobfile_read(dir, &jf))
        return tern_cli_fail(V, 2, "%s: no job file: not a job started by tern run", dir);
    const char *h = jobfile_get(&jf, "host"), *mp = jobfile_get(&jf, "mpirun_pid");
    int local = h && mp && !strcmp(h, jobs_hostname());
    pid_t pid = local ? (pid_t)atol(mp) : 0;
    if (local && !jobs_pid_alive(pid)) {
        jobfile_free(&jf);
        return tern_cli_fail(V, 2, "%s: job is not running (mpirun pid %ld has exited)", dir, (long)pid);
    }
    /* HOST must be one the job runs on */
    strv jh = {0}, offs = {0};
    split_csv(jobfile_get(&jf, "hosts"), &jh);
    { /* and the hosts of its latest checkpoint (a job started without
       * --host, e.g. under Slurm, names only the local host) */
        tern_ckpt *c = NULL;
        tern_error e2 = {0};
        uint64_t *ep = NULL;
        int n = 0;
        if (tern_store_list(dir, &ep, &n, &e2) == 0 && n > 0 && tern_ckpt_open(dir, &c, &e2) == 0) {
            const tern_ckpt_info *ci = tern_ckpt_get_info(c);
            for (int k = 0; k < ci->nnodes; k++)
                if (!sv_has(&jh, ci->nodes[k].host)) sv_push(&jh, ci->nodes[k].host);
            tern_ckpt_close(c);
        }
        free(ep);
    }
    split_csv(off, &offs);
    for (int k = 0; k < offs.n; k++)
        if (!sv_has(&jh, offs.v[k])) {
            char *all = sv_join(&jh, ", ");
            tern_cli_fail(V, 2, "host %s is not used by the job (it runs on %s)", offs.v[k], all);
            free(all);
            sv_free(&jh);
            sv_free(&offs);
            jobfile_free(&jf);
            return 2;
        }

    /* check now that the job can be placed without HOST: after the stop it
     * would be too late (needs a checkpoint to read ranks and topologies) */
    {
        uint64_t *ep = NULL;
        int n = 0;
        tern_error err = {0};
        if (!hostfile && offs.n >= jh.n) {
            sv_free(&jh);
            sv_free(&offs);
            jobfile_free(&jf);
            return tern_cli_fail(V, 2, "cannot move the job off all its hosts: give other hosts with --hostfile");
        }
        if (tern_store_list(dir, &ep, &n, &err) == 0 && n > 0) {
            jobs_restart_opts c;
            memset(&c, 0, sizeof c);
            c.verb = V;
            c.dir_arg = dir;
            c.hostfile = hostfile;
            c.exclude = offs;
            c.dry_run = c.check_only = 1;
            for (int k = i; k < argc; k++) sv_push(&c.user_args, argv[k]);
            int r = jobs_restart(&c);
            sv_free(&c.user_args);
            if (r) {
                free(ep);
                sv_free(&jh);
                sv_free(&offs);
                jobfile_free(&jf);
                return r;
            }
        }
        free(ep);
    }
    sv_free(&jh);

    struct mig m = {0};
    m.json = json;
    m.off = off;
    m.t0 = jobs_now();
    if (!quiet && !json) fprintf(stderr, "tern migrate: asking %s for a checkpoint-and-stop\n", dir);
    jobs_request_result res;
    jobs_request(dir, &jf, "checkpoint-and-stop", timeout, &res);
    if (res.status) {
        jobfile_free(&jf);
        sv_free(&offs);
        if (res.status == 1)
            return tern_cli_fail(V, 1, "%s: checkpoint failed, the job goes on where it is: %s", dir,
                                 res.reason);
        return tern_cli_fail(V, res.status, "%s: %s", dir, res.reason);
    }
    m.t_committed = jobs_now();
    m.epoch = res.epoch;
    if (!quiet && !json)
        fprintf(stderr, "tern migrate: checkpoint epoch %llu committed in %.3f s: %s\n",
                (unsigned long long)res.epoch, m.t_committed - m.t0, res.path);
    /* wait until the job has stopped: mpirun gone (local), else a stopped event */
    long evoff = 0;
    (void)evoff;
    for (;;) {
        if (local && !jobs_pid_alive(pid)) break;
        if (!local) {
            char p[4200];
            snprintf(p, sizeof p, "%s/events", dir);
            char *ev = jobs_read_file(p);
            int stopped = 0;
            if (ev) {
                char want[64];
                snprintf(want, sizeof want, "stopped epoch=%llu", (unsigned long long)res.epoch);
                stopped = strstr(ev, want) != NULL;
                free(ev);
            }
            if (stopped) { jobs_sleep(1.0); break; }
        }
        if (jobs_now() - m.t_committed > timeout) {
            jobfile_free(&jf);
            sv_free(&offs);
            return tern_cli_fail(V, 3, "%s: the job did not stop within %g s after checkpoint %llu",
                                 dir, timeout, (unsigned long long)res.epoch);
        }
        jobs_sleep(0.02);
    }
    /* the old tern run may still be writing the job file: wait for it */
    const char *tp = jobfile_get(&jf, "tern_pid");
    if (local && tp) {
        double t = jobs_now();
        while (jobs_pid_alive((pid_t)atol(tp)) && jobs_now() - t < 5) jobs_sleep(0.02);
    }
    m.t_stopped = jobs_now();
    jobfile_free(&jf);

    jobs_restart_opts o;
    memset(&o, 0, sizeof o);
    o.verb = V;
    o.dir_arg = dir;
    o.from = res.path;
    o.hostfile = hostfile;
    o.exclude = offs;
    for (; i < argc; i++) sv_push(&o.user_args, argv[i]);
    o.json = json;
    o.quiet = quiet;
    o.on_event = mig_event;
    o.ctx = &m;
    int rc = jobs_restart(&o);
    if (m.t_stopped > 0 && m.t_restarted == 0 && rc != 0)
        fprintf(stderr, "tern migrate: the job is stopped at checkpoint %llu (%s); restart it with 'tern restart --dir %s'\n",
                (unsigned long long)res.epoch, res.path, dir);
    if (m.t_restarted == 0 && rc == 0)
        fprintf(stderr, "tern migrate: the restarted job wrote no 'restarted' event: downtime unknown\n");
    sv_free(&o.exclude);
    sv_free(&o.user_args);
    return rc;
}
