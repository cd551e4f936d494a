#define _GNU_SOURCE
#include "dmp_jobname.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "private_dir.h"

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
    FILE *f = fopen(path, "re");
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

/* The file execvp(prog) runs: prog itself if it holds a '/', else the first
 * executable regular file of that name in $PATH. */
static int prog_path(const char *prog, char *out, size_t len)
{
    if (strchr(prog, '/'))
        return snprintf(out, len, "%s", prog) < (int)len ? 0 : -1;
    const char *path = getenv("PATH");
    if (!path)
        path = "/bin:/usr/bin";   /* glibc's execvp default */
    for (const char *p = path;; p++) {
        const char *e = strchrnul(p, ':');
        struct stat st;
        if (snprintf(out, len, "%.*s%s%s", (int)(e - p), p, e > p ? "/" : "", prog) < (int)len &&
            access(out, X_OK) == 0 && stat(out, &st) == 0 && S_ISREG(st.st_mode))
            return 0;
        if (!*e)
            return -1;
        p = e;
    }
}

/* Device and inode of what /proc/PID/exe will show once prog is exec'd: the
 * file itself, or for a "#!" script its interpreter (as the kernel does, a
 * few levels deep). */
static int prog_identity(const char *prog, unsigned long long *dev, unsigned long long *ino)
{
    char path[PATH_MAX];
    if (prog_path(prog, path, sizeof path))
        return -1;
    for (int level = 0; level < 5; level++) {
        struct stat st;
        if (stat(path, &st) < 0)
            return -1;
        *dev = st.st_dev;
        *ino = st.st_ino;
        char head[256];
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        ssize_t n = fd < 0 ? -1 : read(fd, head, sizeof head - 1);
        if (fd >= 0)
            close(fd);
        if (n < 2 || head[0] != '#' || head[1] != '!')
            return 0;
        head[n] = '\0';
        char *s = head + 2 + strspn(head + 2, " \t");
        s[strcspn(s, " \t\n")] = '\0';
        if (!*s || snprintf(path, sizeof path, "%s", s) >= (int)sizeof path)
            return 0;
    }
    return 0;
}

/* The record NAME in the run directory dirfd (DIR in messages): 0 and *rec,
 * 1 if there is none, -1 with err if it cannot be trusted or read. */
static int read_record(int dirfd, const char *dir, const char *name, dmp_job *rec,
                       tern_error *err)
{
    int fd = tern_pdir_open_file(dirfd, name, dir, 0, err);
    if (fd < 0) {
        if (fd != TERN_PDIR_FAILED || err->code != ENOENT)
            return -1;
        tern_error_clear(err);
        return 1;
    }
    char buf[256];
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    long p = 0;
    int used = 0;
    buf[n > 0 ? n : 0] = '\0';
    int ok = n > 0 && sscanf(buf, "%ld %llu %llu %llu%n", &p, &rec->start, &rec->dev, &rec->ino,
                             &used) == 4;
    if (!ok || p <= 0 || p > INT_MAX || (buf[used] && strcmp(buf + used, "\n")))
        return tern_error_set(err, EINVAL, "%s/%s: not a job record", dir, name);
    rec->pid = (pid_t)p;
    rec->named = 1;
    snprintf(rec->name, sizeof rec->name, "%s", name);
    return 0;
}

int dmp_job_record(const char *name, const char *prog, tern_error *err)
{
    if (!valid_name(name))
        return tern_error_set(err, EINVAL, "'%s': a job name is 1 to 200 characters of "
                              "[A-Za-z0-9_.-]", name);
    dmp_job rec = {0};
    if (prog_identity(prog, &rec.dev, &rec.ino))
        return 0;   /* execvp fails and says why; a record would only be stale */
    char dir[PATH_MAX - 256];
    run_dir(dir, sizeof dir);
    /* 0700: the records are no one else's business */
    int dfd = tern_pdir_open(dir, TERN_PDIR_CREATE, 0700, 1, err);
    if (dfd < 0)
        return -1;
    dmp_job old = {0};
    int r = read_record(dfd, dir, name, &old, err);
    if (r == 0 && start_time(old.pid) == old.start) {
        close(dfd);
        return tern_error_set(err, EEXIST, "job '%s' is already running as pid %d", name,
                              (int)old.pid);
    }
    if (r >= 0) {
        char line[128];
        int len = snprintf(line, sizeof line, "%d %llu %llu %llu\n", (int)getpid(),
                           start_time(getpid()), rec.dev, rec.ino);
        r = tern_pdir_write_file(dfd, name, dir, line, (size_t)len, 0600, err);
    }
    close(dfd);
    return r < 0 ? -1 : 0;
}

static int not_running(const char *name, tern_error *err)
{
    return tern_error_set(err, ESRCH, "job '%s': no running process started with `tern exec "
                          "--job %s`", name, name);
}

int dmp_job_check(const dmp_job *job, tern_error *err)
{
    if (!job->named)
        return 0;
    if (start_time(job->pid) != job->start)
        return not_running(job->name, err);
    char exe[64];
    snprintf(exe, sizeof exe, "/proc/%d/exe", (int)job->pid);
    struct stat st;
    if (stat(exe, &st) < 0)
        return tern_error_set(err, errno, "job '%s': pid %d: which program it runs cannot be "
                              "told (%s); refusing to touch it", job->name, (int)job->pid,
                              strerror(errno));
    if (st.st_dev == job->dev && st.st_ino == job->ino)
        return 0;
    char target[PATH_MAX] = "another program";
    ssize_t n = readlink(exe, target, sizeof target - 1);
    if (n > 0)
        target[n] = '\0';
    return tern_error_set(err, ESRCH, "job '%s': pid %d runs %s, not the program `tern exec "
                          "--job %s` started; refusing to touch it", job->name, (int)job->pid,
                          target, job->name);
}

int dmp_job_resolve(const char *arg, dmp_job *job, tern_error *err)
{
    memset(job, 0, sizeof *job);
    char *end;
    long p = strtol(arg, &end, 10);
    if (*arg && !*end) {
        if (p <= 0 || p > INT_MAX)
            return tern_error_set(err, EINVAL, "%s: not a process id", arg);
        job->pid = (pid_t)p;
        return 0;
    }
    if (!valid_name(arg))
        return tern_error_set(err, EINVAL, "%s: neither a process id nor a job name", arg);
    char dir[PATH_MAX - 256];
    run_dir(dir, sizeof dir);
    int dfd = tern_pdir_open(dir, 0, 0, 1, err), r = 1;
    if (dfd < 0 && (dfd != TERN_PDIR_FAILED || err->code != ENOENT))
        return -1;
    tern_error_clear(err);
    if (dfd >= 0) {
        r = read_record(dfd, dir, arg, job, err);
        close(dfd);
    }
    if (r < 0)
        return -1;
    if (r == 1)
        return not_running(arg, err);
    return dmp_job_check(job, err);
}
