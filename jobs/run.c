/* tern run and tern checkpoint. */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "jobs.h"
#include "verbs.h"

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
"  --json            one JSON object per event on stdout\n"
"  --quiet           no progress lines\n"
"environment: TERN_LIB (libtern.so to preload), TERN_MPIRUN (launcher).\n"
"example: tern run --interval 30 -- -np 4 --oversubscribe ./cg 200\n");
}

static int check_level(const char *verb, const char *what, const char *v, long lo, long hi)
{
    long x;
    if (jobs_parse_int(v, &x) || x < lo || x > hi)
        return tern_cli_fail(verb, -1, "%s: expected an integer %ld..%ld, got '%s'", what, lo,
                             hi, v);
    return 0;
}

/* Parses the settings options shared by run and restart; returns 1 when argv[*i]
 * was one (and consumed), 0 when not, -1 on error. */
static int settings_opt(const char *verb, int argc, char **argv, int *i, jobs_settings *s,
                        int *set_mask)
{
    const char *a = argv[*i];
    char *dst = NULL;
    size_t dl = 0;
    int bit = 0;
    if (!strcmp(a, "--interval")) dst = s->interval, dl = sizeof s->interval, bit = 1;
    else if (!strcmp(a, "--signal")) dst = s->signal, dl = sizeof s->signal, bit = 2;
    else if (!strcmp(a, "--compress")) dst = s->compress, dl = sizeof s->compress, bit = 4;
    else if (!strcmp(a, "--keep")) dst = s->keep, dl = sizeof s->keep, bit = 8;
    else return 0;
    if (*i + 1 >= argc) return tern_cli_fail(verb, -1, "%s needs a value", a);
    const char *v = argv[++*i];
    if (bit == 1) {
        double d;
        if (jobs_parse_double(v, &d) || d < 0)
            return tern_cli_fail(verb, -1, "--interval: expected seconds >= 0, got '%s'", v);
    } else if (bit == 2) {
        static const char *const names[] = {"USR1", "USR2", "HUP", "TERM", "INT", "ALRM", NULL};
        const char *n = strncasecmp(v, "SIG", 3) ? v : v + 3;
        int ok = !strcasecmp(v, "none");
        for (int k = 0; names[k]; k++) ok |= !strcasecmp(n, names[k]);
        long num;
        if (!ok && (jobs_parse_int(v, &num) || num < 1 || num > 64))
            return tern_cli_fail(verb, -1, "--signal: expected USR1, USR2, HUP, TERM, INT, ALRM, a number 1..64 or none, got '%s'", v);
    } else if (bit == 4) {
        if (check_level(verb, "--compress", v, 0, 9)) return -1;
    } else if (check_level(verb, "--keep", v, 1, 1000000)) {
        return -1;
    }
    snprintf(dst, dl, "%s", v);
    if (set_mask) *set_mask |= bit;
    return 1;
}

int jobs_settings_opt(const char *verb, int argc, char **argv, int *i, jobs_settings *s,
                      int *mask)
{
    return settings_opt(verb, argc, argv, i, s, mask);
}

static int dir_has_checkpoints(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) return 0;
    struct dirent *e;
    int n = 0;
    while ((e = readdir(d))) {
        size_t l = strlen(e->d_name);
        if (!strncmp(e->d_name, "ckpt-", 5) && l > 3 && !strcmp(e->d_name + l - 3, ".h5")) n++;
    }
    closedir(d);
    return n;
}

static void clear_dir(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d))) {
        const char *n = e->d_name;
        if (!strncmp(n, "ckpt-", 5) || !strcmp(n, "MANIFEST") || !strcmp(n, "events") ||
            !strncmp(n, "request.", 8) || !strcmp(n, "job")) {
            char p[4400];
            snprintf(p, sizeof p, "%s/%s", dir, n);
            unlink(p);
        }
    }
    closedir(d);
}

int tern_verb_run(int argc, char **argv)
{
    const char *V = "run";
    jobs_launch L;
    memset(&L, 0, sizeof L);
    L.verb = V;
    strcpy(L.set.interval, "0");
    strcpy(L.set.signal, "USR1");
    strcpy(L.set.compress, "1");
    strcpy(L.set.keep, "2");
    const char *job = NULL, *dir = NULL;
    int fresh = 0, i;
    for (i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--")) { i++; break; }
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) { usage_run(stdout); return 0; }
        int r = settings_opt(V, argc, argv, &i, &L.set, NULL);
        if (r < 0) return 2;
        if (r) continue;
        if (!strcmp(a, "--job") || !strcmp(a, "--dir")) {
            if (i + 1 >= argc) return tern_cli_fail(V, 2, "%s needs a value", a);
            if (!strcmp(a, "--job")) job = argv[++i];
            else dir = argv[++i];
        } else if (!strcmp(a, "--fresh")) fresh = 1;
        else if (!strcmp(a, "--no-preload")) L.set.no_preload = 1;
        else if (!strcmp(a, "--json")) L.json = 1;
        else if (!strcmp(a, "--quiet")) L.quiet = 1;
        else if (a[0] == '-') return tern_cli_fail(V, 2, "unknown option '%s' (see 'tern run --help')", a);
        else break; /* no "--": the command starts here */
    }
    if (i >= argc) return tern_cli_fail(V, 2, "no program given (usage: tern run [options] -- [mpirun options] PROGRAM)");
    char *launcher = NULL;
    mpi_split(argc - i, argv + i, &launcher, &L.opts, &L.prog);
    if (!L.prog.n) return tern_cli_fail(V, 2, "no program given after the mpirun options");
    L.launcher = launcher;
    for (int k = 0; k < L.opts.n; k++) sv_push(&L.saved_args, L.opts.v[k]);
    for (int k = 0; k < L.prog.n; k++) sv_push(&L.saved_args, L.prog.v[k]);

    if (!job) {
        const char *b = strrchr(L.prog.v[0], '/');
        job = b ? b + 1 : L.prog.v[0];
    }
    if (strlen(job) >= sizeof L.set.job || !*job || strchr(job, '/') || strchr(job, '\n'))
        return tern_cli_fail(V, 2, "bad job name '%s'", job);
    snprintf(L.set.job, sizeof L.set.job, "%s", job);
    char want[4096];
    if (dir) snprintf(want, sizeof want, "%s", dir);
    else snprintf(want, sizeof want, "tern-ckpt/%s", job);
    if (jobs_mkdir_p(want))
        return tern_cli_fail(V, 2, "cannot create job directory %s: %s", want, strerror(errno));
    if (!realpath(want, L.set.dir))
        return tern_cli_fail(V, 2, "%s: %s", want, strerror(errno));
    /* a live job already uses this directory? */
    jobfile jf;
    if (jobfile_read(L.set.dir, &jf) == 0) {
        const char *h = jobfile_get(&jf, "host"), *mp = jobfile_get(&jf, "mpirun_pid");
        int live = h && mp && !strcmp(h, jobs_hostname()) && jobs_pid_alive((pid_t)atol(mp));
        long pid = mp ? atol(mp) : 0;
        jobfile_free(&jf);
        if (live)
            return tern_cli_fail(V, 2, "%s: a job is running there (mpirun pid %ld); use another --dir or --job",
                                 L.set.dir, pid);
    }
    if (dir_has_checkpoints(L.set.dir)) {
        if (!fresh)
            return tern_cli_fail(V, 2,
                "%s holds checkpoints of an earlier run: 'tern restart' resumes it, --fresh deletes them",
                L.set.dir);
        clear_dir(L.set.dir);
    }
    char hosts[4096];
    mpi_hosts(&L.opts, hosts, sizeof hosts);
    if (!hosts[0]) snprintf(hosts, sizeof hosts, "%s", jobs_hostname());
    L.hosts = hosts;
    L.nranks = mpi_nranks(&L.opts);
    int rc = jobs_launch_and_follow(&L);
    sv_free(&L.opts);
    sv_free(&L.prog);
    sv_free(&L.saved_args);
    return rc < 0 ? 2 : rc;
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
"  --json         print {\"status\":...,\"epoch\":...,\"path\":...}\n"
"exit status: 0 committed, 1 failed, 2 usage or no such job, 3 no answer in\n"
"time, 4 the job ended before answering.\n");
}

int tern_verb_checkpoint(int argc, char **argv)
{
    const char *V = "checkpoint";
    const char *dirarg = NULL;
    double timeout = 120;
    int json = 0, stop = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) { usage_ckpt(stdout); return 0; }
        else if (!strcmp(a, "--json")) json = 1;
        else if (!strcmp(a, "--stop")) stop = 1;
        else if (!strcmp(a, "--timeout")) {
            if (i + 1 >= argc || jobs_parse_double(argv[i + 1], &timeout) || timeout <= 0)
                return tern_cli_fail(V, 2, "--timeout needs a number of seconds > 0");
            i++;
        } else if (a[0] == '-') return tern_cli_fail(V, 2, "unknown option '%s' (see 'tern checkpoint --help')", a);
        else if (dirarg) return tern_cli_fail(V, 2, "one job directory only");
        else dirarg = a;
    }
    char dir[4096];
    if (jobs_resolve_dir(V, dirarg, NULL, dir, sizeof dir)) return 2;
    jobfile jf;
    if (jobfile_read(dir, &jf))
        return tern_cli_fail(V, 2, "%s: no job file: not a job started by tern run", dir);
    const char *h = jobfile_get(&jf, "host"), *mp = jobfile_get(&jf, "mpirun_pid");
    if (h && mp && !strcmp(h, jobs_hostname()) && !jobs_pid_alive((pid_t)atol(mp))) {
        int r = tern_cli_fail(V, 2, "%s: job is not running (mpirun pid %s has exited)", dir, mp);
        jobfile_free(&jf);
        return r;
    }
    jobs_request_result res;
    jobs_request(dir, &jf, stop ? "checkpoint-and-stop" : "checkpoint", timeout, &res);
    jobfile_free(&jf);
    if (json) {
        printf("{\"status\":\"%s\",\"job_dir\":",
               res.status == 0 ? "committed" : res.status == 1 ? "failed"
               : res.status == 3 ? "timeout" : res.status == 4 ? "job-ended" : "error");
        tern_json_str(stdout, dir);
        if (res.status == 0) {
            printf(",\"epoch\":%llu,\"path\":", (unsigned long long)res.epoch);
            tern_json_str(stdout, res.path);
        } else {
            printf(",\"reason\":");
            tern_json_str(stdout, res.reason);
        }
        printf("}\n");
        return res.status;
    }
    if (res.status == 0) {
        printf("%s\n", res.path);
        return 0;
    }
    if (res.status == 1)
        return tern_cli_fail(V, 1, "%s: checkpoint failed: %s", dir, res.reason);
    return tern_cli_fail(V, res.status, "%s: %s", dir, res.reason);
}
