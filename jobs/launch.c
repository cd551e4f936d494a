#define _GNU_SOURCE /* pipe2 */
/* Starting a job under tern, following its events, and checkpoint requests
 * (docs/runtime.md is the contract with libtern). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "jobs.h"
#include "verbs.h"

extern char **environ;

int jobs_event_get(const char *line, const char *key, char *buf, size_t len)
{
    size_t kl = strlen(key);
    const char *p = line;
    while ((p = strstr(p, key))) {
        if ((p == line || p[-1] == ' ') && p[kl] == '=') {
            const char *v = p + kl + 1;
            /* reason= is the rest of the line (docs/runtime.md); path= may
             * hold blanks: it runs to the next " key=" or the end */
            size_t n = strcspn(v, " \n");
            if (!strcmp(key, "reason")) {
                n = strcspn(v, "\n");
            } else if (!strcmp(key, "path")) {
                n = strcspn(v, "\n");
                for (const char *q = v; *q && *q != '\n'; q++) {
                    if (*q != ' ') continue;
                    const char *k = q + 1;
                    while ((*k >= 'a' && *k <= 'z') || *k == '_') k++;
                    if (k > q + 1 && *k == '=') {
                        n = (size_t)(q - v);
                        break;
                    }
                }
            }
            snprintf(buf, len, "%.*s", (int)n, v);
            return 0;
        }
        p += kl;
    }
    buf[0] = 0;
    return -1;
}

long jobs_events_size(const char *dir)
{
    char p[4200];
    struct stat st;
    snprintf(p, sizeof p, "%s/events", dir);
    return stat(p, &st) == 0 ? (long)st.st_size : 0;
}

/* ---- printing events ---------------------------------------------------- */
static void print_event(const jobs_launch *L, const char *line)
{
    char name[32];
    snprintf(name, sizeof name, "%.*s", (int)strcspn(line, " \n"), line);
    if (L->json) {
        /* {"event":"committed","epoch":"3",...}: every key=value as a string,
         * numbers as numbers */
        printf("{\"event\":");
        tern_json_str(stdout, name);
        const char *p = line + strlen(name);
        while (*p == ' ') p++;
        while (*p) {
            size_t kl = strcspn(p, "=");
            if (!p[kl]) break;
            char key[64], val[4200];
            snprintf(key, sizeof key, "%.*s", (int)kl, p);
            jobs_event_get(line, key, val, sizeof val);
            printf(",");
            tern_json_str(stdout, key);
            printf(":");
            char *e;
            strtod(val, &e);
            if (val[0] && !*e && strcmp(key, "path") && strcmp(key, "reason"))
                printf("%s", val);
            else
                tern_json_str(stdout, val);
            p += kl + 1 + strlen(val);
            while (*p == ' ') p++;
        }
        if (!strcmp(name, "committed")) {
            char b[64], s[64], t[64];
            jobs_event_get(line, "bytes", b, sizeof b);
            jobs_event_get(line, "stored", s, sizeof s);
            jobs_event_get(line, "seconds", t, sizeof t);
            double bytes = atof(b), stored = atof(s), secs = atof(t);
            printf(",\"ratio\":%.6g,\"gbps\":%.6g", stored > 0 ? bytes / stored : 0.0,
                   secs > 0 ? bytes / secs / 1e9 : 0.0);
        }
        printf("}\n");
        fflush(stdout);
        return;
    }
    if (L->quiet) return;
    char epoch[32], v1[64], v2[64], v3[64], path[4200];
    jobs_event_get(line, "epoch", epoch, sizeof epoch);
    if (!strcmp(name, "committed")) {
        jobs_event_get(line, "bytes", v1, sizeof v1);
        jobs_event_get(line, "stored", v2, sizeof v2);
        jobs_event_get(line, "seconds", v3, sizeof v3);
        jobs_event_get(line, "path", path, sizeof path);
        double bytes = atof(v1), stored = atof(v2), secs = atof(v3);
        char hb[32], hs[32];
        jobs_human_bytes(bytes, hb, sizeof hb);
        jobs_human_bytes(stored, hs, sizeof hs);
        double gbps = secs > 0 ? bytes / secs / 1e9 : 0.0;
        fprintf(stderr,
                "tern: checkpoint epoch %s: %s stored as %s (ratio %.2f) in %.3f s, %.*f GB/s: %s\n",
                epoch, hb, hs, stored > 0 ? bytes / stored : 0.0, secs,
                gbps >= 0.01 || gbps == 0 ? 3 : 6, gbps, path);
    } else if (!strcmp(name, "failed")) {
        jobs_event_get(line, "reason", path, sizeof path);
        fprintf(stderr, "tern: checkpoint epoch %s failed: %s\n", epoch, path);
    } else if (!strcmp(name, "restarted")) {
        fprintf(stderr, "tern: job restarted from checkpoint epoch %s\n", epoch);
    } else if (!strcmp(name, "started")) {
        jobs_event_get(line, "nranks", v1, sizeof v1);
        fprintf(stderr, "tern: job started (%s ranks)\n", v1[0] ? v1 : "?");
    } else if (!strcmp(name, "stopped")) {
        fprintf(stderr, "tern: job stopped after checkpoint epoch %s\n", epoch);
    } else {
        fprintf(stderr, "tern: event: %s\n", line);
    }
}

/* Reads the lines appended to DIR/events since *off. */
static void follow_events(jobs_launch *L, long *off, char *partial, size_t plen)
{
    char p[4200];
    snprintf(p, sizeof p, "%s/events", L->set.dir);
    FILE *f = fopen(p, "r");
    if (!f) return;
    struct stat st;
    if (fstat(fileno(f), &st) == 0 && st.st_size < *off) *off = 0; /* replaced */
    fseek(f, *off, SEEK_SET);
    char buf[8192];
    while (fgets(buf, sizeof buf, f)) {
        size_t n = strlen(buf);
        if (buf[n - 1] != '\n') { /* incomplete line: read it again next time */
            (void)partial; (void)plen;
            break;
        }
        *off += (long)n;
        buf[n - 1] = 0;
        if (!buf[0]) continue;
        print_event(L, buf);
        if (L->on_event) {
            char name[32];
            snprintf(name, sizeof name, "%.*s", (int)strcspn(buf, " "), buf);
            L->on_event(L->ctx, name, buf);
        }
    }
    fclose(f);
}

/* ---- signals --------------------------------------------------------------- */
static volatile pid_t child_pid;

static void forward(int sig, siginfo_t *si, void *uc)
{
    (void)uc;
    /* a terminal's ^C already reached mpirun (same process group): don't
     * send it twice, mpirun would take that as "abort now" */
    if (sig == SIGINT && si && si->si_code == SI_KERNEL) return;
    if (child_pid > 0) kill(child_pid, sig);
}

static void write_jobfile(jobs_launch *L, pid_t pid, const char *lib, double started)
{
    strv t = {0};
    sv_pushf(&t, "job=%s", L->set.job);
    sv_pushf(&t, "dir=%s", L->set.dir);
    char cwd[4096];
    if (getcwd(cwd, sizeof cwd)) sv_pushf(&t, "cwd=%s", cwd);
    sv_pushf(&t, "host=%s", jobs_hostname());
    sv_pushf(&t, "tern_pid=%d", (int)getpid());
    sv_pushf(&t, "mpirun_pid=%d", (int)pid);
    sv_pushf(&t, "launcher=%s", L->launcher);
    sv_pushf(&t, "nranks=%d", L->nranks);
    sv_pushf(&t, "hosts=%s", L->hosts ? L->hosts : "");
    sv_pushf(&t, "interval=%s", L->set.interval);
    sv_pushf(&t, "signal=%s", L->set.signal);
    sv_pushf(&t, "compress=%s", L->set.compress);
    sv_pushf(&t, "keep=%s", L->set.keep);
    sv_pushf(&t, "lib=%s", lib);
    sv_pushf(&t, "started=%.6f", started);
    if (L->restart_from) sv_pushf(&t, "restart_from=%s", L->restart_from);
    for (int i = 0; i < L->saved_args.n; i++) sv_pushf(&t, "arg=%s", L->saved_args.v[i]);
    char *text = sv_join(&t, "\n");
    size_t n = strlen(text);
    text = realloc(text, n + 2);
    strcpy(text + n, "\n");
    char path[4200];
    snprintf(path, sizeof path, "%s/job", L->set.dir);
    if (jobs_write_file_atomic(path, text))
        fprintf(stderr, "tern %s: %s: cannot write: %s\n", L->verb, path, strerror(errno));
    free(text);
    sv_free(&t);
}

int jobs_launch_and_follow(jobs_launch *L)
{
    char lib[4096] = "", looked[8192];
    if (!L->set.no_preload && jobs_find_libtern(lib, sizeof lib, looked, sizeof looked))
        return tern_cli_fail(L->verb, -1, "libtern.so not found (%s)", looked);
    if (!L->launcher) L->launcher = getenv("TERN_MPIRUN") ? getenv("TERN_MPIRUN") : "mpirun";
    for (int i = 0; i < L->saved_args.n; i++)
        if (strchr(L->saved_args.v[i], '\n'))
            return tern_cli_fail(L->verb, -1, "an mpirun argument holds a newline: not supported");

    /* TERN_* settings: in our environment, then -x NAME for every TERN_* */
    setenv("TERN_DIR", L->set.dir, 1);
    setenv("TERN_JOB", L->set.job, 1);
    setenv("TERN_INTERVAL", L->set.interval, 1);
    setenv("TERN_SIGNAL", L->set.signal, 1);
    setenv("TERN_COMPRESS", L->set.compress, 1);
    setenv("TERN_KEEP", L->set.keep, 1);
    if (L->restart_from) setenv("TERN_RESTART", L->restart_from, 1);
    else unsetenv("TERN_RESTART");

    strv argv = {0};
    sv_push(&argv, L->launcher);
    for (char **e = environ; *e; e++)
        if (!strncmp(*e, "TERN_", 5) && strncmp(*e, "TERN_LIB=", 9) &&
            strncmp(*e, "TERN_MPIRUN=", 12)) {
            sv_push(&argv, "-x");
            sv_pushf(&argv, "%.*s", (int)strcspn(*e, "="), *e);
        }
    if (lib[0]) {
        const char *pre = getenv("LD_PRELOAD");
        sv_push(&argv, "-x");
        if (pre && *pre) sv_pushf(&argv, "LD_PRELOAD=%s:%s", lib, pre);
        else sv_pushf(&argv, "LD_PRELOAD=%s", lib);
    }
    for (int i = 0; i < L->opts.n; i++) sv_push(&argv, L->opts.v[i]);
    for (int i = 0; i < L->prog.n; i++) sv_push(&argv, L->prog.v[i]);
    if (getenv("TERN_JOBS_VERBOSE")) {
        char *c = sv_join(&argv, " ");
        fprintf(stderr, "tern %s: running: %s\n", L->verb, c);
        free(c);
    }

    long off = jobs_events_size(L->set.dir);
    double started = jobs_now();
    fflush(stdout);
    fflush(stderr);
    struct sigaction sa = {0}, old[8];
    int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGUSR1, SIGUSR2};
    sa.sa_sigaction = forward;
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    sigemptyset(&sa.sa_mask);
    for (int i = 0; i < 5; i++) sigaction(sigs[i], &sa, &old[i]);

    int pfd[2];
    if (pipe2(pfd, O_CLOEXEC)) return tern_cli_fail(L->verb, -1, "pipe: %s", strerror(errno));
    pid_t pid = fork();
    if (pid < 0) return tern_cli_fail(L->verb, -1, "fork: %s", strerror(errno));
    if (pid == 0) {
        close(pfd[0]);
        for (int i = 0; i < 5; i++) sigaction(sigs[i], &old[i], NULL);
        execvp(argv.v[0], argv.v);
        int e = errno;
        if (write(pfd[1], &e, sizeof e) < 0) {}
        _exit(127);
    }
    close(pfd[1]);
    int eno = 0;
    if (read(pfd[0], &eno, sizeof eno) == (ssize_t)sizeof eno) {
        close(pfd[0]);
        waitpid(pid, NULL, 0);
        return tern_cli_fail(L->verb, -1, "cannot start %s: %s", argv.v[0], strerror(eno));
    }
    close(pfd[0]);
    child_pid = pid;
    write_jobfile(L, pid, lib, started);

    int status = 0;
    char partial[1];
    for (;;) {
        pid_t r = waitpid(pid, &status, WNOHANG);
        follow_events(L, &off, partial, 0);
        if (r == pid) break;
        if (r < 0 && errno != EINTR) break;
        jobs_sleep(0.1);
    }
    child_pid = 0;
    follow_events(L, &off, partial, 0);
    for (int i = 0; i < 5; i++) sigaction(sigs[i], &old[i], NULL);
    sv_free(&argv);
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
    return 1;
}

/* ---- checkpoint requests --------------------------------------------------- */
int jobs_request(const char *dir, const jobfile *jf, const char *what, double timeout,
                 jobs_request_result *res)
{
    memset(res, 0, sizeof *res);
    static int counter;
    char id[64], tmp[4300], path[4300], done[4300];
    snprintf(id, sizeof id, "%dx%ldx%d", (int)getpid(), (long)(jobs_now() * 1000) % 100000000,
             counter++);
    snprintf(tmp, sizeof tmp, "%s/.tmp-request-%s", dir, id);
    snprintf(path, sizeof path, "%s/request.%s", dir, id);
    snprintf(done, sizeof done, "%s/request.%s.done", dir, id);
    FILE *f = fopen(tmp, "w");
    if (!f) {
        snprintf(res->reason, sizeof res->reason, "%s: cannot write a request: %s", dir,
                 strerror(errno));
        res->status = 2;
        return res->status;
    }
    fprintf(f, "%s\n", what);
    fclose(f);
    if (rename(tmp, path)) {
        snprintf(res->reason, sizeof res->reason, "%.900s: %s", path, strerror(errno));
        unlink(tmp);
        res->status = 2;
        return res->status;
    }
    const char *host = jobfile_get(jf, "host");
    const char *mp = jobfile_get(jf, "mpirun_pid");
    pid_t pid = (host && mp && !strcmp(host, jobs_hostname())) ? (pid_t)atol(mp) : 0;
    double t0 = jobs_now();
    int gone_polls = 0;
    for (;;) {
        char *text = jobs_read_file(done);
        if (text && strchr(text, '\n')) {
            text[strcspn(text, "\n")] = 0;
            unlink(done);
            unlink(path);
            if (!strncmp(text, "committed ", 10)) {
                char *p = text + 10;
                res->epoch = strtoull(p, &p, 10);
                while (*p == ' ') p++;
                snprintf(res->path, sizeof res->path, "%s", p);
                res->status = 0;
            } else {
                const char *r = text;
                if (!strncmp(r, "failed:", 7)) r += 7;
                while (*r == ' ') r++;
                snprintf(res->reason, sizeof res->reason, "%s", r);
                res->status = 1;
            }
            free(text);
            return res->status;
        }
        free(text);
        if (pid && !jobs_pid_alive(pid)) {
            /* one more look: the answer may have been written just before */
            if (++gone_polls > 2) {
                unlink(path);
                snprintf(res->reason, sizeof res->reason,
                         "job exited before answering (mpirun pid %d is gone)", (int)pid);
                res->status = 4;
                return res->status;
            }
        }
        if (jobs_now() - t0 > timeout) {
            unlink(path);
            snprintf(res->reason, sizeof res->reason,
                     "no answer from the job in %g s (is libtern.so loaded and the job "
                     "reaching snapshot points?)", timeout);
            res->status = 3;
            return res->status;
        }
        jobs_sleep(0.05);
    }
}
