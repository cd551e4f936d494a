#define _GNU_SOURCE /* pipe2 */
/* Starting a job under tern and following its events (launch.h;
 * docs/runtime.md is the contract with libtern). */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "clock.h"
#include "launch.h"
#include "private_dir.h"
#include "units.h"

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

/* ---- printing events ---------------------------------------------------- */
/* Whether v is a JSON number as it stands ("nan", "inf", "0x10" and "1." are
 * numbers to strtod, not to JSON). */
static int json_number(const char *v)
{
    const char *p = v + (*v == '-');
    if (*p == '0') p++;
    else if (*p >= '1' && *p <= '9') while (*p >= '0' && *p <= '9') p++;
    else return 0;
    if (*p == '.') {
        if (!(*++p >= '0' && *p <= '9')) return 0;
        while (*p >= '0' && *p <= '9') p++;
    }
    if (*p == 'e' || *p == 'E') {
        p += 1 + (p[1] == '+' || p[1] == '-');
        if (!(*p >= '0' && *p <= '9')) return 0;
        while (*p >= '0' && *p <= '9') p++;
    }
    return *p == 0;
}

/* a/b for the commit's ratio and rate: 0 when it is no finite number */
static double ratio(double a, double b)
{
    double r = b > 0 ? a / b : 0.0;
    return isfinite(r) ? r : 0.0;
}

/* {"event":"committed","epoch":3,...}: every key=value, numbers as numbers,
 * the rest (and path, reason) as strings; a commit adds ratio and gbps. */
static void print_event_json(FILE *f, const char *name, const char *line)
{
    fprintf(f, "{\"event\":");
    tern_json_str(f, name);
    const char *p = line + strlen(name);
    while (*p == ' ') p++;
    while (*p) {
        size_t kl = strcspn(p, "=");
        if (!p[kl]) break;
        char key[64], val[4200];
        snprintf(key, sizeof key, "%.*s", (int)kl, p);
        jobs_event_get(line, key, val, sizeof val);
        fprintf(f, ",");
        tern_json_str(f, key);
        fprintf(f, ":");
        if (json_number(val) && strcmp(key, "path") && strcmp(key, "reason"))
            fprintf(f, "%s", val);
        else
            tern_json_str(f, val);
        p += kl + 1 + strlen(val);
        while (*p == ' ') p++;
    }
    if (!strcmp(name, "committed")) {
        char b[64], s[64], t[64];
        jobs_event_get(line, "bytes", b, sizeof b);
        jobs_event_get(line, "stored", s, sizeof s);
        jobs_event_get(line, "seconds", t, sizeof t);
        double bytes = atof(b), stored = atof(s), secs = atof(t);
        fprintf(f, ",\"ratio\":%.6g,\"gbps\":%.6g", ratio(bytes, stored), ratio(bytes / 1e9, secs));
    }
    fprintf(f, "}\n");
    fflush(f);
}

static void print_committed(const char *epoch, const char *line)
{
    char v1[64], v2[64], v3[64], path[4200];
    jobs_event_get(line, "bytes", v1, sizeof v1);
    jobs_event_get(line, "stored", v2, sizeof v2);
    jobs_event_get(line, "seconds", v3, sizeof v3);
    jobs_event_get(line, "path", path, sizeof path);
    double bytes = atof(v1), stored = atof(v2), secs = atof(v3);
    char hb[32], hs[32];
    tern_fmt_bytes(bytes, hb, sizeof hb);
    tern_fmt_bytes(stored, hs, sizeof hs);
    double gbps = secs > 0 ? bytes / secs / 1e9 : 0.0;
    /* transparent mode: how long the applications were stopped */
    char frozen[64], fz[80] = "";
    if (jobs_event_get(line, "frozen", frozen, sizeof frozen) == 0 && frozen[0])
        snprintf(fz, sizeof fz, ", application stopped %.3f s", atof(frozen));
    fprintf(stderr,
            "tern: checkpoint epoch %s: %s stored as %s (ratio %.2f) in %.3f s, %.*f GB/s%s: %s\n",
            epoch, hb, hs, stored > 0 ? bytes / stored : 0.0, secs,
            gbps >= 0.01 || gbps == 0 ? 3 : 6, gbps, fz, path);
}

static void print_event_text(const char *name, const char *line)
{
    char epoch[32], v[4200];
    jobs_event_get(line, "epoch", epoch, sizeof epoch);
    if (!strcmp(name, "committed")) {
        print_committed(epoch, line);
    } else if (!strcmp(name, "failed")) {
        jobs_event_get(line, "reason", v, sizeof v);
        fprintf(stderr, "tern: checkpoint epoch %s failed: %s\n", epoch, v);
    } else if (!strcmp(name, "restarted")) {
        fprintf(stderr, "tern: job restarted from checkpoint epoch %s\n", epoch);
    } else if (!strcmp(name, "started")) {
        char n[64];
        jobs_event_get(line, "nranks", n, sizeof n);
        fprintf(stderr, "tern: job started (%s ranks)\n", n[0] ? n : "?");
    } else if (!strcmp(name, "stopped")) {
        fprintf(stderr, "tern: job stopped after checkpoint epoch %s\n", epoch);
    } else if (!strcmp(name, "no_snapshot_points")) {
        jobs_event_get(line, "reason", v, sizeof v);
        fprintf(stderr, "tern: warning: this job cannot be checkpointed: %s\n", v);
    } else {
        fprintf(stderr, "tern: event: %s\n", line);
    }
}

static void print_event(const jobs_launch *L, const char *line)
{
    char name[32];
    snprintf(name, sizeof name, "%.*s", (int)strcspn(line, " \n"), line);
    /* JSON goes to its own stream (--events), else stderr: never into the
     * job's stdout, which is the application's */
    if (L->json || L->events_out) print_event_json(L->events_out ? L->events_out : stderr, name, line);
    if (!L->json && !L->quiet) print_event_text(name, line);
}

/* ---- following DIR/events ------------------------------------------------ */
static long events_size(const jobs_launch *L)
{
    struct stat st;
    return fstatat(L->jd->fd, "events", &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode)
               ? (long)st.st_size : 0;
}

/* DIR/events opened as a file of the user's that no one else can write
 * (private_dir.h), or NULL; a refusal is said once, then the job is
 * followed without its events. */
static FILE *open_events(jobs_launch *L)
{
    if (L->events_refused) return NULL;
    tern_error err = {0};
    int fd = tern_pdir_open_file(L->jd->fd, "events", L->jd->path, TERN_PDIR_ONE_LINK, &err);
    if (fd < 0 && err.code != ENOENT) {
        tern_cli_fail_err(L->verb, -1, &err);
        L->events_refused = 1;
    }
    FILE *f = fd >= 0 ? fdopen(fd, "r") : NULL;
    if (!f && fd >= 0) close(fd);
    return f;
}

/* Reads the lines appended to DIR/events since *off; a line not yet
 * complete is read again next time. */
static void follow_events(jobs_launch *L, long *off)
{
    FILE *f = open_events(L);
    if (!f) return;
    struct stat st;
    if (fstat(fileno(f), &st) == 0 && st.st_size < *off) *off = 0; /* replaced */
    fseek(f, *off, SEEK_SET);
    char buf[8192];
    while (fgets(buf, sizeof buf, f)) {
        size_t n = strlen(buf);
        if (buf[n - 1] != '\n') break;
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

/* ---- libtern.so ------------------------------------------------------------ */
/* Where libtern.so is, in this order: TERN_LIB; the installed layout next to
 * this binary (TERN_BIN_TO_LIB is the install bindir -> libdir path); the
 * libtern.so of the build tree this binary was built in; the install libdir.
 * All three are set by jobs/CMakeLists.txt from the libtern target. */
static int find_libtern(char *out, size_t len, char *looked, size_t looked_len)
{
    looked[0] = 0;
    const char *env = getenv("TERN_LIB");
    if (env && *env) {
        if (jobs_is_file(env) && realpath(env, out)) return 0;
        snprintf(looked, looked_len, "TERN_LIB=%s does not exist", env);
        return -1;
    }
    char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    exe[n > 0 ? n : 0] = 0;
    char *slash = strrchr(exe, '/');
    if (slash) *slash = 0;
    strv cand = {0};
    sv_pushf(&cand, "%s/%s/libtern.so", exe, TERN_BIN_TO_LIB);
    sv_push(&cand, TERN_BUILD_LIBTERN);
    sv_pushf(&cand, "%s/libtern.so", TERN_INSTALL_LIBDIR);
    int rc = -1;
    for (int i = 0; i < cand.n; i++) {
        if (jobs_is_file(cand.v[i]) && realpath(cand.v[i], out) && strlen(out) < len) {
            rc = 0;
            break;
        }
    }
    if (rc) {
        char *all = sv_join(&cand, ", ");
        snprintf(looked, looked_len, "looked in %s; set TERN_LIB", all);
        free(all);
    }
    sv_free(&cand);
    return rc;
}

/* ---- the job file -------------------------------------------------------- */
int jobs_check_text(const char *verb, const char *what, const char *value)
{
    int c = jobs_control_char(value);
    if (!c) return 0;
    char shown[4096];
    jobs_printable(value, shown, sizeof shown);
    return tern_cli_fail(verb, -1, "%s '%s' holds a control character (0x%02x): not supported",
                         what, shown, c);
}

/* Every value that goes into the job file, checked before anything runs. */
static int check_values(const jobs_launch *L, const char *lib, const char *cwd)
{
    const struct { const char *what, *val; } v[] = {
        {"the job name", L->set.job},   {"the job directory", L->set.dir},
        {"the working directory", cwd}, {"the host name", jobs_hostname()},
        {"the launcher", L->launcher},  {"the host list", L->hosts},
        {"the path of libtern.so", lib}, {"the checkpoint's path", L->restart_from}};
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
        if (jobs_check_text(L->verb, v[i].what, v[i].val)) return -1;
    for (int i = 0; i < L->saved_args.n; i++)
        if (strchr(L->saved_args.v[i], '\n'))
            return tern_cli_fail(L->verb, -1, "an mpirun argument holds a newline: not supported");
    return 0;
}

/* DIR/job: what tern restart needs to run the job again, and how tern tells
 * whether it still runs (mpirun's pid and start time: a pid alone may be a
 * zombie's, or another process's by now). */
static void write_jobfile(jobs_launch *L, pid_t pid, const char *lib, const char *cwd,
                          double started)
{
    strv t = {0};
    sv_pushf(&t, "job=%s", L->set.job);
    sv_pushf(&t, "dir=%s", L->set.dir);
    if (cwd[0]) sv_pushf(&t, "cwd=%s", cwd);
    sv_pushf(&t, "host=%s", jobs_hostname());
    sv_pushf(&t, "tern_pid=%d", (int)getpid());
    sv_pushf(&t, "mpirun_pid=%d", (int)pid);
    unsigned long long t0;
    if (jobs_proc_start(pid, &t0) == 0) sv_pushf(&t, "mpirun_start=%llu", t0);
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
    char *text = sv_lines(&t);
    tern_error err = {0};
    if (jobdir_write(L->jd, "job", text, &err)) tern_cli_fail_err(L->verb, -1, &err);
    free(text);
    sv_free(&t);
}

/* What tern runs when no launcher is given: $TERN_MPIRUN, else mpirun; made
 * absolute through PATH when it is found there. */
void jobs_default_launcher(char *out, size_t len)
{
    const char *l = getenv("TERN_MPIRUN") ? getenv("TERN_MPIRUN") : "mpirun";
    if (jobs_find_exe(l, out, len)) snprintf(out, len, "%s", l);
}

/* ---- the command line ------------------------------------------------------ */
/* The TERN_* settings into our environment, then the launcher's command
 * line: -x NAME for every TERN_* (but TERN_LIB and TERN_MPIRUN, which are
 * tern's own), -x LD_PRELOAD=lib (unless lib is ""), the options, the
 * program. */
static void command_line(const jobs_launch *L, const char *lib, strv *argv)
{
    setenv("TERN_DIR", L->set.dir, 1);
    setenv("TERN_JOB", L->set.job, 1);
    setenv("TERN_INTERVAL", L->set.interval, 1);
    setenv("TERN_SIGNAL", L->set.signal, 1);
    setenv("TERN_COMPRESS", L->set.compress, 1);
    setenv("TERN_KEEP", L->set.keep, 1);
    if (L->restart_from) setenv("TERN_RESTART", L->restart_from, 1);
    else unsetenv("TERN_RESTART");
    /* the command prints each event as a line: rank 0 need not say a
     * failed checkpoint a second time */
    if (!L->quiet && !L->json) setenv("TERN_EVENTS_SHOWN", "1", 1);
    else unsetenv("TERN_EVENTS_SHOWN");

    sv_push(argv, L->launcher);
    for (char **e = environ; *e; e++)
        if (!strncmp(*e, "TERN_", 5) && strncmp(*e, "TERN_LIB=", 9) &&
            strncmp(*e, "TERN_MPIRUN=", 12)) {
            sv_push(argv, "-x");
            sv_pushf(argv, "%.*s", (int)strcspn(*e, "="), *e);
        }
    if (lib[0]) {
        const char *pre = getenv("LD_PRELOAD");
        sv_push(argv, "-x");
        if (pre && *pre) sv_pushf(argv, "LD_PRELOAD=%s:%s", lib, pre);
        else sv_pushf(argv, "LD_PRELOAD=%s", lib);
    }
    sv_push_all(argv, &L->opts);
    sv_push_all(argv, &L->prog);
    if (getenv("TERN_JOBS_VERBOSE") || tern_cli_verbose()) {
        char *c = sv_join(argv, " ");
        fprintf(stderr, "tern %s: running: %s\n", L->verb, c);
        free(c);
    }
}

/* ---- the launcher process ---------------------------------------------------- */
/* Signals sent to tern go on to mpirun, which passes them to the ranks
 * (a checkpoint request by signal, or a stop). */
static const int fwd_sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGUSR1, SIGUSR2};
#define NFWD ((int)(sizeof fwd_sigs / sizeof fwd_sigs[0]))
static volatile pid_t child_pid;

static void forward(int sig, siginfo_t *si, void *uc)
{
    (void)uc;
    /* a terminal's ^C already reached mpirun (same process group): don't
     * send it twice, mpirun would take that as "abort now" */
    if (sig == SIGINT && si && si->si_code == SI_KERNEL) return;
    if (child_pid > 0) kill(child_pid, sig);
}

static void forward_signals(struct sigaction *old)
{
    struct sigaction sa = {0};
    sa.sa_sigaction = forward;
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    sigemptyset(&sa.sa_mask);
    for (int i = 0; i < NFWD; i++) sigaction(fwd_sigs[i], &sa, &old[i]);
}

static void restore_signals(const struct sigaction *old)
{
    for (int i = 0; i < NFWD; i++) sigaction(fwd_sigs[i], &old[i], NULL);
}

/* Forks and execs argv; the pid once the exec has succeeded (the child
 * reports a failed exec through a close-on-exec pipe), or -1 with the error
 * printed. */
static pid_t start(const jobs_launch *L, const strv *argv, const struct sigaction *old)
{
    int pfd[2];
    if (pipe2(pfd, O_CLOEXEC)) return tern_cli_fail(L->verb, -1, "pipe: %s", strerror(errno));
    pid_t pid = fork();
    if (pid < 0) return tern_cli_fail(L->verb, -1, "fork: %s", strerror(errno));
    if (pid == 0) {
        close(pfd[0]);
        restore_signals(old);
        execvp(argv->v[0], argv->v);
        int e = errno;
        if (write(pfd[1], &e, sizeof e) < 0) {}
        _exit(127);
    }
    close(pfd[1]);
    int eno = 0;
    if (read(pfd[0], &eno, sizeof eno) == (ssize_t)sizeof eno) {
        close(pfd[0]);
        waitpid(pid, NULL, 0);
        return tern_cli_fail(L->verb, -1, "cannot start %s: %s", argv->v[0], strerror(eno));
    }
    close(pfd[0]);
    return pid;
}

/* Prints the events until pid exits; its exit status (128+signal when
 * killed). */
static int follow(jobs_launch *L, pid_t pid, long off)
{
    int status = 0;
    for (;;) {
        pid_t r = waitpid(pid, &status, WNOHANG);
        follow_events(L, &off);
        if (r == pid) break;
        if (r < 0 && errno != EINTR) break;
        jobs_sleep(0.1);
    }
    child_pid = 0; /* nothing to forward signals to any more */
    follow_events(L, &off);
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
    return 1;
}

int jobs_launch_and_follow(jobs_launch *L)
{
    char lib[4096] = "", looked[8192], cwd[4096];
    if (!L->set.no_preload && find_libtern(lib, sizeof lib, looked, sizeof looked))
        return tern_cli_fail(L->verb, -1, "libtern.so not found (%s)", looked);
    /* the job file records the launcher that ran, as an absolute path */
    if (!L->launcher) jobs_default_launcher(L->launcher_path, sizeof L->launcher_path);
    else if (jobs_find_exe(L->launcher, L->launcher_path, sizeof L->launcher_path))
        snprintf(L->launcher_path, sizeof L->launcher_path, "%s", L->launcher);
    L->launcher = L->launcher_path;
    if (!getcwd(cwd, sizeof cwd)) cwd[0] = 0;
    if (check_values(L, lib, cwd)) return -1;
    strv argv = {0};
    command_line(L, lib, &argv);

    /* events from now on are this run's */
    long off = events_size(L);
    double started = tern_now_wall();
    fflush(stdout);
    fflush(stderr);
    struct sigaction old[NFWD];
    forward_signals(old);
    pid_t pid = start(L, &argv, old);
    int rc = -1;
    if (pid > 0) {
        child_pid = pid;
        write_jobfile(L, pid, lib, cwd, started);
        rc = follow(L, pid, off);
    }
    restore_signals(old);
    sv_free(&argv);
    return rc;
}
