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
