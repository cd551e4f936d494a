/* The small generic helpers of the jobs verbs (util.h). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

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

char *sv_lines(const strv *s)
{
    char *text = sv_join(s, "\n");
    size_t n = strlen(text);
    text = realloc(text, n + 2);
    strcpy(text + n, "\n");
    return text;
}

void sv_push_all(strv *s, const strv *from)
{
    for (int i = 0; i < from->n; i++) sv_push(s, from->v[i]);
}

void sv_push_csv(strv *s, const char *csv)
{
    while (csv && *csv) {
        size_t k = strcspn(csv, ",");
        if (k) sv_pushf(s, "%.*s", (int)k, csv);
        csv += k;
        if (*csv) csv++;
    }
}

void jobs_sleep(double s)
{
    struct timespec ts = {(time_t)s, (long)((s - (time_t)s) * 1e9)};
    while (nanosleep(&ts, &ts) && errno == EINTR) {}
}

/* State (field 3) and start time (field 22) of /proc/PID/stat; the name in
 * field 2 may hold blanks and parentheses: the fields start after its last
 * ')'. 0, or -1 when the file is not there. */
static int proc_stat(pid_t pid, char *state, unsigned long long *start)
{
    char p[64], buf[1024];
    snprintf(p, sizeof p, "/proc/%d/stat", (int)pid);
    int fd = open(p, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0) return -1;
    buf[n] = 0;
    char *f = strrchr(buf, ')');
    if (!f) return -1;
    *state = f[2];
    /* after ") S": fields 4..21, then the start time */
    f += 3;
    for (int k = 4; k <= 21 && f; k++) f = strchr(f + 1, ' ');
    *start = f ? strtoull(f + 1, NULL, 10) : 0;
    return 0;
}

int jobs_proc_start(pid_t pid, unsigned long long *start)
{
    char state;
    return pid > 0 && proc_stat(pid, &state, start) == 0 ? 0 : -1;
}

int jobs_proc_running(pid_t pid, unsigned long long start)
{
    if (pid <= 0) return 0;
    char state;
    unsigned long long t;
    if (proc_stat(pid, &state, &t) == 0)
        return state != 'Z' && state != 'X' && (!start || t == start);
    if (access("/proc/self/stat", F_OK) == 0) return 0; /* /proc is there: pid is not */
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

int jobs_find_exe(const char *name, char *out, size_t len)
{
    if (!name || !*name) return -1;
    if (strchr(name, '/')) {
        char cwd[4096];
        if (name[0] == '/') return snprintf(out, len, "%s", name) < (int)len ? 0 : -1;
        if (!getcwd(cwd, sizeof cwd)) return -1;
        return snprintf(out, len, "%s/%s", cwd, name) < (int)len ? 0 : -1;
    }
    const char *path = getenv("PATH");
    for (const char *d = path && *path ? path : "/usr/bin:/bin"; *d;) {
        size_t k = strcspn(d, ":");
        char c[4200];
        snprintf(c, sizeof c, "%.*s/%s", (int)k, k ? d : ".", name);
        if (jobs_is_file(c) && access(c, X_OK) == 0 && c[0] == '/')
            return snprintf(out, len, "%s", c) < (int)len ? 0 : -1;
        d += k;
        if (*d) d++;
    }
    return -1;
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

int jobs_control_char(const char *s)
{
    for (; s && *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f) return (unsigned char)*s;
    return 0;
}

void jobs_printable(const char *s, char *out, size_t len)
{
    snprintf(out, len, "%s", s ? s : "");
    for (char *p = out; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f) *p = '?';
}
