#define _GNU_SOURCE
#include "dmp_jobname.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void run_dir(char *buf, size_t len)
{
    const char *d = getenv("TERN_EXEC_DIR");
    const char *x = getenv("XDG_RUNTIME_DIR");
    if (d && *d)
        snprintf(buf, len, "%s", d);
    else if (x && *x)
        snprintf(buf, len, "%s/tern", x);
    else
        snprintf(buf, len, "/tmp/tern-%u", (unsigned)getuid());
}

/* Start time of pid in clock ticks since boot, or 0 if it is gone. */
static unsigned long long start_time(pid_t pid)
{
    char path[64], buf[4096];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    /* the command name may hold spaces and parentheses: count from the last ')' */
    char *p = strrchr(buf, ')');
    if (!p)
        return 0;
    unsigned long long v = 0;
    int field = 2;
    for (char *tok = strtok(p + 1, " "); tok; tok = strtok(NULL, " "))
        if (++field == 22) {
            v = strtoull(tok, NULL, 10);
            break;
        }
    return v;
}

static int valid_name(const char *s)
{
    if (!*s || strlen(s) > 200 || s[0] == '.')
        return 0;
    for (; *s; s++)
        if (!(*s == '_' || *s == '-' || *s == '.' || (*s >= '0' && *s <= '9') ||
              (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z')))
            return 0;
    return 1;
}

/* 0 and *pid when the record names a live process; 1 when no record or
 * stale; -1 on error. */
static int lookup(const char *path, pid_t *pid, tern_error *err)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        if (errno == ENOENT)
            return 1;
        return tern_error_set(err, errno, "%s: %s", path, strerror(errno));
    }
    long p = 0;
    unsigned long long st = 0;
    int ok = fscanf(f, "%ld %llu", &p, &st) == 2;
    fclose(f);
    if (!ok || p <= 0)
        return tern_error_set(err, EINVAL, "%s: not a job record", path);
    *pid = (pid_t)p;
    return start_time((pid_t)p) == st ? 0 : 1;
}

int dmp_job_record(const char *name, tern_error *err)
{
    if (!valid_name(name))
        return tern_error_set(err, EINVAL, "'%s': a job name is 1 to 200 characters of [A-Za-z0-9_.-]", name);
    char dir[PATH_MAX - 256], path[PATH_MAX], tmp[PATH_MAX];
    run_dir(dir, sizeof dir);
    if (mkdir(dir, 0700) < 0 && errno != EEXIST)
        return tern_error_set(err, errno, "%s: %s", dir, strerror(errno));
    snprintf(path, sizeof path, "%s/%s", dir, name);
    pid_t old;
    int r = lookup(path, &old, err);
    if (r < 0)
        return -1;
    if (r == 0)
        return tern_error_set(err, EEXIST, "job '%s' is already running as pid %d", name, (int)old);
    snprintf(tmp, sizeof tmp, "%s/.%s.%d", dir, name, (int)getpid());
    FILE *f = fopen(tmp, "w");
    if (!f)
        return tern_error_set(err, errno, "%s: %s", tmp, strerror(errno));
    fprintf(f, "%d %llu\n", (int)getpid(), start_time(getpid()));
    if (fclose(f) != 0 || rename(tmp, path) < 0) {
        int e = errno;
        unlink(tmp);
        return tern_error_set(err, e, "%s: %s", path, strerror(e));
    }
    return 0;
}

int dmp_job_resolve(const char *arg, pid_t *pid, tern_error *err)
{
    char *end;
    long p = strtol(arg, &end, 10);
    if (*arg && !*end) {
        if (p <= 0)
            return tern_error_set(err, EINVAL, "%s: not a process id", arg);
        *pid = (pid_t)p;
        return 0;
    }
    if (!valid_name(arg))
        return tern_error_set(err, EINVAL, "%s: neither a process id nor a job name", arg);
    char dir[PATH_MAX - 256], path[PATH_MAX];
    run_dir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/%s", dir, arg);
    int r = lookup(path, pid, err);
    if (r < 0)
        return -1;
    if (r == 1)
        return tern_error_set(err, ESRCH, "job '%s': no running process started with `tern exec --job %s`",
                              arg, arg);
    return 0;
}
