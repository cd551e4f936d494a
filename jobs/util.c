/* Helpers for the jobs verbs: strings, files, the job file, mpirun options,
 * finding libtern.so. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "jobs.h"
#include "verbs.h"

void sv_push(strv *s, const char *x)
{
    if (s->n + 2 > s->cap) {
        s->cap = s->cap ? 2 * s->cap : 16;
        s->v = realloc(s->v, (size_t)s->cap * sizeof *s->v);
        if (!s->v) abort();
    }
    s->v[s->n++] = strdup(x);
    s->v[s->n] = NULL;
}

void sv_pushf(strv *s, const char *fmt, ...)
{
    char buf[8192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    sv_push(s, buf);
}

void sv_free(strv *s)
{
    for (int i = 0; i < s->n; i++) free(s->v[i]);
    free(s->v);
    memset(s, 0, sizeof *s);
}

int sv_has(const strv *s, const char *x)
{
    for (int i = 0; i < s->n; i++)
        if (!strcmp(s->v[i], x)) return 1;
    return 0;
}

char *sv_join(const strv *s, const char *sep)
{
    size_t n = 1;
    for (int i = 0; i < s->n; i++) n += strlen(s->v[i]) + strlen(sep);
    char *r = malloc(n);
    r[0] = 0;
    for (int i = 0; i < s->n; i++) {
        if (i) strcat(r, sep);
        strcat(r, s->v[i]);
    }
    return r;
}

double jobs_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

void jobs_sleep(double s)
{
    struct timespec ts = {(time_t)s, (long)((s - (time_t)s) * 1e9)};
    while (nanosleep(&ts, &ts) && errno == EINTR) {}
}

int jobs_pid_alive(pid_t pid)
{
    if (pid <= 0) return 0;
    return kill(pid, 0) == 0 || errno == EPERM;
}

const char *jobs_hostname(void)
{
    static char h[256];
    if (!h[0]) {
        gethostname(h, sizeof h - 1);
        char *dot = strchr(h, '.');
        if (dot) *dot = 0;
    }
    return h;
}

int jobs_is_dir(const char *p)
{
    struct stat st;
    return p && stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

int jobs_is_file(const char *p)
{
    struct stat st;
    return p && stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

int jobs_mkdir_p(const char *path)
{
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s", path);
    for (char *p = tmp + 1; *p; p++)
        if (*p == '/') {
            *p = 0;
            if (mkdir(tmp, 0777) && errno != EEXIST) return -1;
            *p = '/';
        }
    if (mkdir(tmp, 0777) && errno != EEXIST) return -1;
    return 0;
}

int jobs_write_file_atomic(const char *path, const char *text)
{
    char tmp[4200];
    const char *slash = strrchr(path, '/');
    if (slash)
        snprintf(tmp, sizeof tmp, "%.*s/.%s.tmp%d", (int)(slash - path), path,
                 slash + 1, (int)getpid());
    else
        snprintf(tmp, sizeof tmp, ".%s.tmp%d", path, (int)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0666);
    if (fd < 0) return -1;
    size_t n = strlen(text);
    if (write(fd, text, n) != (ssize_t)n) {
        close(fd);
        unlink(tmp);
        return -1;
    }
    fsync(fd);
    close(fd);
    if (rename(tmp, path)) {
        unlink(tmp);
        return -1;
    }
    return 0;
}

char *jobs_read_file(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) return NULL;
    size_t cap = 4096, n = 0;
    char *b = malloc(cap);
    size_t r;
    while ((r = fread(b + n, 1, cap - n - 1, f)) > 0) {
        n += r;
        if (cap - n < 2) b = realloc(b, cap *= 2);
    }
    fclose(f);
    b[n] = 0;
    return b;
}

int jobs_parse_double(const char *s, double *out)
{
    char *e;
    errno = 0;
    double v = strtod(s, &e);
    if (!*s || *e || errno) return -1;
    *out = v;
    return 0;
}

int jobs_parse_int(const char *s, long *out)
{
    char *e;
    errno = 0;
    long v = strtol(s, &e, 10);
    if (!*s || *e || errno) return -1;
    *out = v;
    return 0;
}

void jobs_human_bytes(double b, char *buf, size_t len)
{
    const char *u[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    int i = 0;
    while (b >= 1024 && i < 4) {
        b /= 1024;
        i++;
    }
    if (i == 0) snprintf(buf, len, "%.0f B", b);
    else snprintf(buf, len, "%.1f %s", b, u[i]);
}

/* ---- job file ----------------------------------------------------------- */
int jobfile_read(const char *dir, jobfile *jf)
{
    memset(jf, 0, sizeof *jf);
    char path[4200];
    snprintf(path, sizeof path, "%s/job", dir);
    char *text = jobs_read_file(path);
    if (!text) return -1;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        char *eq = strchr(line, '=');
        if (!eq) continue;
        *eq = 0;
        if (!strcmp(line, "arg")) {
            sv_push(&jf->args, eq + 1);
        } else {
            sv_push(&jf->keys, line);
            sv_push(&jf->vals, eq + 1);
        }
    }
    free(text);
    return 0;
}

const char *jobfile_get(const jobfile *jf, const char *key)
{
    for (int i = 0; i < jf->keys.n; i++)
        if (!strcmp(jf->keys.v[i], key)) return jf->vals.v[i];
    return NULL;
}

void jobfile_free(jobfile *jf)
{
    sv_free(&jf->keys);
    sv_free(&jf->vals);
    sv_free(&jf->args);
}

/* ---- job directories ---------------------------------------------------- */
int jobs_resolve_dir(const char *verb, const char *arg, const char *job,
                     char *out, size_t len)
{
    char want[4096];
    if (arg) {
        snprintf(want, sizeof want, "%s", arg);
    } else if (job) {
        snprintf(want, sizeof want, "tern-ckpt/%s", job);
    } else if (getenv("TERN_DIR") && *getenv("TERN_DIR")) {
        snprintf(want, sizeof want, "%s", getenv("TERN_DIR"));
    } else {
        DIR *d = opendir("tern-ckpt");
        if (!d)
            return tern_cli_fail(verb, -1, "no job directory given and ./tern-ckpt does not exist");
        strv names = {0};
        struct dirent *e;
        while ((e = readdir(d))) {
            if (e->d_name[0] == '.') continue;
            char p[4200];
            snprintf(p, sizeof p, "tern-ckpt/%s", e->d_name);
            if (jobs_is_dir(p)) sv_push(&names, e->d_name);
        }
        closedir(d);
        if (names.n != 1) {
            char *all = sv_join(&names, ", ");
            int r = names.n == 0
                ? tern_cli_fail(verb, -1, "no job directory given and ./tern-ckpt holds none")
                : tern_cli_fail(verb, -1, "several jobs in ./tern-ckpt (%s): name one", all);
            free(all);
            sv_free(&names);
            return r;
        }
        snprintf(want, sizeof want, "tern-ckpt/%s", names.v[0]);
        sv_free(&names);
    }
    if (!jobs_is_dir(want))
        return tern_cli_fail(verb, -1, "no such job directory: %s", want);
    if (!realpath(want, out) || strlen(out) >= len)
        return tern_cli_fail(verb, -1, "%s: %s", want, strerror(errno));
    return 0;
}

/* ---- mpirun options ------------------------------------------------------ */
/* Open MPI 4.1 (orterun) options that take one argument; --mca & co take two. */
static const char *const opt1[] = {
    "np", "n", "c", "H", "host", "hostfile", "machinefile", "default-hostfile",
    "rf", "rankfile", "x", "am", "tune", "wdir", "wd", "path", "prefix",
    "map-by", "rank-by", "bind-to", "npernode", "N", "npersocket",
    "cpus-per-proc", "cpus-per-rank", "cpu-set", "output-filename",
    "report-uri", "ompi-server", "timeout", "app", "preload-files",
    "stdin", "launch-agent", "personality", "max-vm-size", "report-pid",
    "output", "xterm", "debugger", "preload-files-dest-dir",
    "report-state-on-timeout", "get-stack-traces-on-timeout", "tag-output-format",
    "hnp", "ompi-server-wait-time", "dvm-uri", "mapby", "rankby", "bindto",
    NULL};
static const char *const opt2[] = {"mca", "gmca", NULL};

static const char *optname(const char *a)
{
    if (a[0] != '-') return NULL;
    a++;
    if (a[0] == '-') a++;
    return a;
}

int mpi_opt_nargs(const char *opt)
{
    const char *n = optname(opt);
    if (!n || strchr(n, '=')) return 0;
    for (int i = 0; opt2[i]; i++)
        if (!strcmp(n, opt2[i])) return 2;
    for (int i = 0; opt1[i]; i++)
        if (!strcmp(n, opt1[i])) return 1;
    /* options that are flags in 4.1 but were mistaken above */
    return 0;
}

static int is_launcher(const char *a)
{
    const char *b = strrchr(a, '/');
    b = b ? b + 1 : a;
    return !strcmp(b, "mpirun") || !strcmp(b, "mpiexec") || !strcmp(b, "orterun") ||
           !strncmp(b, "mpirun.", 7) || !strncmp(b, "mpiexec.", 8);
}

void mpi_split(int argc, char **argv, char **launcher, strv *opts, strv *prog)
{
    int i = 0;
    if (launcher) *launcher = NULL;
    if (argc > 0 && is_launcher(argv[0])) {
        if (launcher) *launcher = argv[0];
        i = 1;
    }
    for (; i < argc; i++) {
        if (argv[i][0] != '-' || !strcmp(argv[i], "--")) break;
        int k = mpi_opt_nargs(argv[i]);
        sv_push(opts, argv[i]);
        for (int j = 0; j < k && i + 1 < argc; j++) sv_push(opts, argv[++i]);
    }
    if (i < argc && !strcmp(argv[i], "--")) i++;
    for (; i < argc; i++) sv_push(prog, argv[i]);
}

static int optis(const char *a, const char *const *names)
{
    const char *n = optname(a);
    if (!n) return 0;
    for (int i = 0; names[i]; i++)
        if (!strcmp(n, names[i])) return 1;
    return 0;
}

static const char *const np_names[] = {"np", "n", "c", NULL};
static const char *const host_names[] = {"H", "host", NULL};
static const char *const hostfile_names[] = {"hostfile", "machinefile", "default-hostfile", NULL};
static const char *const placement_names[] = {
    "np", "n", "c", "H", "host", "hostfile", "machinefile", "default-hostfile",
    "rf", "rankfile", "map-by", "mapby", "rank-by", "rankby", "npernode", "N",
    "npersocket", "bynode", "byslot", "pernode", "nolocal", NULL};

int mpi_nranks(const strv *opts)
{
    for (int i = 0; i + 1 < opts->n; i++)
        if (optis(opts->v[i], np_names)) return atoi(opts->v[i + 1]);
    return 0;
}

static void add_host(char *buf, size_t len, const char *h, size_t hl)
{
    char name[256];
    snprintf(name, sizeof name, "%.*s", (int)hl, h);
    char *colon = strchr(name, ':');
    if (colon) *colon = 0;
    if (!name[0]) return;
    /* skip duplicates */
    size_t nl = strlen(name);
    for (const char *p = buf; (p = strstr(p, name)); p += nl)
        if ((p == buf || p[-1] == ',') && (p[nl] == ',' || p[nl] == 0)) return;
    if (buf[0]) strncat(buf, ",", len - strlen(buf) - 1);
    strncat(buf, name, len - strlen(buf) - 1);
}

void mpi_hosts(const strv *opts, char *buf, size_t len)
{
    buf[0] = 0;
    for (int i = 0; i + 1 < opts->n; i++) {
        if (optis(opts->v[i], host_names)) {
            const char *s = opts->v[i + 1];
            while (*s) {
                size_t k = strcspn(s, ",");
                add_host(buf, len, s, k);
                s += k;
                if (*s) s++;
            }
        } else if (optis(opts->v[i], hostfile_names)) {
            FILE *f = fopen(opts->v[i + 1], "r");
            if (!f) continue;
            char line[1024];
            while (fgets(line, sizeof line, f)) {
                char *p = line + strspn(line, " \t");
                if (*p == '#' || *p == '\n' || !*p) continue;
                add_host(buf, len, p, strcspn(p, " \t\n#"));
            }
            fclose(f);
        }
    }
}

void mpi_strip_placement(const strv *in, strv *out)
{
    for (int i = 0; i < in->n; i++) {
        int k = mpi_opt_nargs(in->v[i]);
        if (optis(in->v[i], placement_names)) {
            i += k;
            continue;
        }
        sv_push(out, in->v[i]);
        for (int j = 0; j < k && i + 1 < in->n; j++) sv_push(out, in->v[++i]);
    }
}

int mpi_oversubscribe(const strv *opts)
{
    for (int i = 0; i < opts->n; i++) {
        const char *n = optname(opts->v[i]);
        if (n && !strcmp(n, "oversubscribe")) return 1;
        if (strstr(opts->v[i], "OVERSUBSCRIBE") || strstr(opts->v[i], "oversubscribe")) return 1;
    }
    return 0;
}

/* ---- libtern.so ------------------------------------------------------------ */
/* Where libtern.so is, in this order: TERN_LIB; the installed layout next to
 * this binary (TERN_BIN_TO_LIB is the install bindir -> libdir path); the
 * libtern.so of the build tree this binary was built in; the install libdir.
 * All three are set by jobs/CMakeLists.txt from the libtern target. */
int jobs_find_libtern(char *out, size_t len, char *looked, size_t looked_len)
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
