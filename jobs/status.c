#define _GNU_SOURCE /* fstatat flags */
/* tern status: the jobs in a directory tree, as their job files and events
 * tell (docs/usage.md "tern status"). Read only: nothing is written. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "clock.h"
#include "jobdir.h"
#include "launch.h"
#include "options.h"
#include "units.h"
#include "verbs.h"

#define V "status"
/* one line per checkpoint and start (request.c reads as much) */
#define EVENTS_MAX (256u << 20)
/* how deep below JOBDIR job directories are looked for
 * (./tern-ckpt/NAME is 1; a tree of experiments a few more) */
#define MAX_DEPTH 4

static void usage_status(FILE *f)
{
    fprintf(f,
"usage: tern status [--json] [JOBDIR]\n"
"\n"
"Shows every job in the directory tree JOBDIR (default: $TERN_DIR, else\n"
"./tern-ckpt): whether it runs, its ranks and hosts, its last committed\n"
"checkpoint (epoch, age, size), the checkpoint interval and when the next\n"
"interval checkpoint is due, and its last failed checkpoint. A job directory\n"
"is one that holds a job file or events. Nothing is written.\n"
"\n"
"options:\n"
"  --json   one JSON object: {\"dir\":...,\"jobs\":[{...},...]}\n"
"exit status: 0 (also when the tree holds no job), 1 a job directory was\n"
"refused (error printed; the others are shown), 2 usage or no such directory.\n");
}

typedef struct job_status {
    char dir[4096];
    char job[4096], host[256], hosts[4096], pid[32];
    int has_jobfile;
    int running;                 /* 1, 0, -1 cannot tell */
    long nranks;                 /* -1 unknown */
    double interval;             /* 0 none */
    double started;              /* wall clock of the last start, 0 unknown */
    int stopped;                 /* a "stopped" event after the last start */
    /* last committed checkpoint */
    int has_ckpt;
    char epoch[32], path[4096];
    double bytes, stored, ckpt_time;  /* ckpt_time: the file's mtime, 0 unknown */
    /* last failure */
    int has_fail;
    char fail_epoch[32], fail_reason[1024];
} job_status;

/* The events of d, the last of each kind that status shows. */
static void read_events(const jobdir *d, job_status *s)
{
    tern_error err = {0};
    char *text = jobdir_read(d, "events", EVENTS_MAX, &err);
    if (!text) return;
    char v[64];
    for (char *line = text, *next; line && *line; line = next) {
        next = strchr(line, '\n');
        if (next) *next++ = 0;
        if (!strncmp(line, "committed ", 10)) {
            s->has_ckpt = 1;
            jobs_event_get(line, "epoch", s->epoch, sizeof s->epoch);
            jobs_event_get(line, "path", s->path, sizeof s->path);
            jobs_event_get(line, "bytes", v, sizeof v);
            s->bytes = atof(v);
            jobs_event_get(line, "stored", v, sizeof v);
            s->stored = atof(v);
        } else if (!strncmp(line, "failed ", 7)) {
            s->has_fail = 1;
            jobs_event_get(line, "epoch", s->fail_epoch, sizeof s->fail_epoch);
            jobs_event_get(line, "reason", s->fail_reason, sizeof s->fail_reason);
        } else if (!strncmp(line, "started ", 8) || !strncmp(line, "restarted ", 10)) {
            if (jobs_event_get(line, "time", v, sizeof v) == 0) s->started = atof(v);
            s->stopped = 0;
        } else if (!strncmp(line, "stopped ", 8)) {
            s->stopped = 1;
        }
    }
    free(text);
    /* the events say no time for a commit: the file's, while it is kept */
    const char *base = strrchr(s->path, '/');
    struct stat st;
    if (s->has_ckpt && base && fstatat(d->fd, base + 1, &st, AT_SYMLINK_NOFOLLOW) == 0)
        s->ckpt_time = (double)st.st_mtim.tv_sec + st.st_mtim.tv_nsec / 1e9;
}

/* What the job file and the events of the job directory at path say;
 * 0, or -1 when it is refused (error printed). */
static int read_job(const char *path, job_status *s)
{
    memset(s, 0, sizeof *s);
    s->nranks = -1;
    s->running = -1;
    jobdir d;
    if (jobdir_open(V, path, 0, 0, &d)) return -1;
    snprintf(s->dir, sizeof s->dir, "%s", d.path);
    jobfile jf;
    int rc = jobfile_read(V, &d, &jf);
    if (rc == -2) {
        jobdir_close(&d);
        return -1;
    }
    if (rc == 0) {
        s->has_jobfile = 1;
        const char *v;
        snprintf(s->job, sizeof s->job, "%s", (v = jobfile_get(&jf, "job")) ? v : "");
        snprintf(s->host, sizeof s->host, "%s", (v = jobfile_get(&jf, "host")) ? v : "");
        snprintf(s->hosts, sizeof s->hosts, "%s", (v = jobfile_get(&jf, "hosts")) ? v : "");
        snprintf(s->pid, sizeof s->pid, "%s", (v = jobfile_get(&jf, "mpirun_pid")) ? v : "");
        long n;
        if ((v = jobfile_get(&jf, "nranks")) && !jobs_parse_int(v, &n) && n > 0) s->nranks = n;
        double x;
        if ((v = jobfile_get(&jf, "interval")) && !jobs_parse_double(v, &x) && x > 0)
            s->interval = x;
        if ((v = jobfile_get(&jf, "started")) && !jobs_parse_double(v, &x)) s->started = x;
        s->running = jobfile_running(&jf);
        jobfile_free(&jf);
    }
    if (!s->job[0]) {
        const char *b = strrchr(s->dir, '/');
        snprintf(s->job, sizeof s->job, "%s", b ? b + 1 : s->dir);
    }
    read_events(&d, s);
    jobdir_close(&d);
    return 0;
}

/* When the next interval checkpoint is due (wall clock), 0 when none is:
 * the interval runs from the last commit of this run, else its start. */
static double next_due(const job_status *s)
{
    if (s->interval <= 0 || s->running != 1) return 0;
    double from = s->ckpt_time > s->started ? s->ckpt_time : s->started;
    return from > 0 ? from + s->interval : 0;
}

static const char *state_name(const job_status *s)
{
    if (!s->has_jobfile) return "unknown";
    if (s->running == 1) return "running";
    if (s->running == 0) return s->stopped ? "stopped" : "exited";
    return "unknown";
}

/* ---- printing ----------------------------------------------------------- */
static void fmt_age(double secs, char *out, size_t len)
{
    if (secs < 0) secs = 0;
    if (secs < 120) snprintf(out, len, "%.0f s", secs);
    else if (secs < 7200) snprintf(out, len, "%.0f min", secs / 60);
    else if (secs < 172800) snprintf(out, len, "%.1f h", secs / 3600);
    else snprintf(out, len, "%.1f days", secs / 86400);
}

static void print_text(const job_status *s, double now)
{
    printf("%s: job %s, ", s->dir, s->job);
    if (!s->has_jobfile) printf("no job file (not started by tern run)");
    else if (s->running == 1) printf("running (mpirun pid %s)", s->pid);
    else if (s->running == 0 && s->stopped) printf("stopped after a checkpoint (mpirun pid %s has exited)", s->pid);
    else if (s->running == 0) printf("not running (mpirun pid %s has exited)", s->pid);
    else if (s->host[0]) printf("started on %s: cannot tell from here whether it runs", s->host);
    else printf("cannot tell whether it runs");
    printf("\n");
    if (s->has_jobfile) {
        char n[32] = "?";
        if (s->nranks >= 0) snprintf(n, sizeof n, "%ld", s->nranks);
        printf("  ranks: %s on %s\n", n, s->hosts[0] ? s->hosts : "?");
    }
    if (s->has_ckpt) {
        char hb[32], hs[32], age[32] = "";
        tern_fmt_bytes(s->bytes, hb, sizeof hb);
        tern_fmt_bytes(s->stored, hs, sizeof hs);
        if (s->ckpt_time > 0) {
            char a[24];
            fmt_age(now - s->ckpt_time, a, sizeof a);
            snprintf(age, sizeof age, ", %s ago", a);
        }
        printf("  last checkpoint: epoch %s%s, %s stored as %s: %s\n", s->epoch, age, hb, hs, s->path);
    } else {
        printf("  last checkpoint: none\n");
    }
    double due = next_due(s);
    if (s->interval <= 0) printf("  interval: none\n");
    else if (due <= 0) printf("  interval: %g s\n", s->interval);
    else if (due <= now) printf("  interval: %g s, next checkpoint due now (at the next snapshot point)\n", s->interval);
    else printf("  interval: %g s, next checkpoint due in %.0f s\n", s->interval, due - now);
    if (s->has_fail) printf("  last failure: epoch %s: %s\n", s->fail_epoch, s->fail_reason);
}

static void json_key(const char *k, int first)
{
    if (!first) printf(",");
    tern_json_str(stdout, k);
    printf(":");
}

static void print_json(const job_status *s, double now, int first)
{
    printf("%s{", first ? "" : ",");
    json_key("dir", 1);
    tern_json_str(stdout, s->dir);
    json_key("job", 0);
    tern_json_str(stdout, s->job);
    json_key("state", 0);
    tern_json_str(stdout, state_name(s));
    json_key("running", 0);
    printf("%s", s->running == 1 ? "true" : s->running == 0 ? "false" : "null");
    json_key("host", 0);
    tern_json_str(stdout, s->host);
    json_key("mpirun_pid", 0);
    printf("%s", s->pid[0] ? s->pid : "null");
    json_key("nranks", 0);
    if (s->nranks < 0) printf("null");
    else printf("%ld", s->nranks);
    json_key("hosts", 0);
    tern_json_str(stdout, s->hosts);
    json_key("last_checkpoint", 0);
    if (s->has_ckpt) {
        printf("{\"epoch\":%s,\"path\":", s->epoch[0] ? s->epoch : "null");
        tern_json_str(stdout, s->path);
        printf(",\"bytes\":%.0f,\"stored\":%.0f,\"age\":", s->bytes, s->stored);
        if (s->ckpt_time > 0) printf("%.3f}", now - s->ckpt_time);
        else printf("null}");
    } else {
        printf("null");
    }
    json_key("interval", 0);
    printf("%g", s->interval);
    json_key("next_due_in", 0);
    double due = next_due(s);
    if (due > 0) printf("%.3f", due > now ? due - now : 0.0);
    else printf("null");
    json_key("last_failure", 0);
    if (s->has_fail) {
        printf("{\"epoch\":%s,\"reason\":", s->fail_epoch[0] ? s->fail_epoch : "null");
        tern_json_str(stdout, s->fail_reason);
        printf("}");
    } else {
        printf("null");
    }
    printf("}");
}

/* ---- the tree ------------------------------------------------------------- */
typedef struct walk {
    int json, shown, refused;
    double now;
} walk;

static int is_job_dir(const char *path)
{
    char p[4200];
    struct stat st;
    snprintf(p, sizeof p, "%s/job", path);
    if (lstat(p, &st) == 0) return 1;
    snprintf(p, sizeof p, "%s/events", path);
    return lstat(p, &st) == 0;
}

static void show(walk *w, const char *path)
{
    job_status s;
    if (read_job(path, &s)) {
        w->refused = 1;
        return;
    }
    if (w->json) print_json(&s, w->now, !w->shown);
    else print_text(&s, w->now);
    w->shown++;
}

/* Job directories under path, in name order; never through a link. */
static void walk_tree(walk *w, const char *path, int depth)
{
    if (is_job_dir(path)) {
        show(w, path);
        return;
    }
    if (depth >= MAX_DEPTH) return;
    struct dirent **names;
    int n = scandir(path, &names, NULL, alphasort);
    for (int i = 0; i < n; i++) {
        const char *nm = names[i]->d_name;
        char sub[4200];
        struct stat st;
        snprintf(sub, sizeof sub, "%s/%s", path, nm);
        if (nm[0] != '.' && lstat(sub, &st) == 0 && S_ISDIR(st.st_mode))
            walk_tree(w, sub, depth + 1);
        free(names[i]);
    }
    if (n >= 0) free(names);
}

int tern_verb_status(int argc, char **argv)
{
    static const struct option lo[] = {
        {"json", no_argument, 0, 'J'}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    walk w = {0};
    const char *dirarg = NULL;
    jobs_opts p;
    jobs_opts_begin(&p, V, argc, argv, lo);
    for (;;) {
        int c = jobs_opts_next(&p);
        if (c == JOBS_OPT_END && !p.dashdash) break;
        switch (c) {
        case 'h': usage_status(stdout); return 0;
        case 'J': w.json = 1; break;
        case JOBS_OPT_OPERAND:
            if (dirarg) return tern_cli_fail(V, 2, "one directory only");
            dirarg = argv[optind++];
            break;
        default: return jobs_opt_unknown(&p);
        }
    }
    const char *env = getenv("TERN_DIR");
    const char *top = dirarg ? dirarg : env && *env ? env : "tern-ckpt";
    struct stat st;
    if (stat(top, &st) != 0)
        return tern_cli_fail(V, 2, "no such directory: %s", top);
    if (!S_ISDIR(st.st_mode)) return tern_cli_fail(V, 2, "%s: not a directory", top);
    w.now = tern_now_wall();
    if (w.json) {
        printf("{\"dir\":");
        tern_json_str(stdout, top);
        printf(",\"jobs\":[");
    }
    walk_tree(&w, top, 0);
    if (w.json) printf("]}\n");
    else if (!w.shown && !w.refused) printf("%s: no jobs\n", top);
    return w.refused ? 1 : 0;
}
