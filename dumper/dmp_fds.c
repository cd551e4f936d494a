#define _GNU_SOURCE
#include "dmp_fds.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int read_fdinfo(pid_t pid, int fd, dmp_fd *f)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/fdinfo/%d", (int)pid, fd);
    FILE *fp = fopen(path, "re");
    if (!fp)
        return -1;
    while (fgets(line, sizeof line, fp)) {
        long long v;
        unsigned o;
        if (sscanf(line, "pos: %lld", &v) == 1)
            f->pos = v;
        else if (sscanf(line, "flags: %o", &o) == 1)
            f->flags = (int)o;
    }
    fclose(fp);
    return 0;
}

/* What fd (its /proc link lp, pointing at target) is, into f->kind; the
 * kinds that cannot be restored are refused here. */
static int classify_fd(pid_t pid, int fd, const char *lp, const char *target, dmp_fd *f,
                       tern_error *err)
{
    const char *del = " (deleted)";
    size_t tl = strlen(target);
    if (!strncmp(target, "pipe:", 5)) {
        if (fd > 2)
            return tern_error_set(err, ENOTSUP, "pid %d: fd %d is a pipe; only pipes on "
                                  "stdin/stdout/stderr can be restored", (int)pid, fd);
        f->kind = DMP_FD_INHERIT;
        return 0;
    }
    if (!strncmp(target, "socket:", 7))
        return tern_error_set(err, ENOTSUP, "pid %d: fd %d is a socket (%s); sockets to "
                              "other processes cannot be restored", (int)pid, fd, target);
    if (target[0] != '/')
        return tern_error_set(err, ENOTSUP, "pid %d: fd %d is %s, which tern cannot "
                              "restore", (int)pid, fd, target);
    if (tl > strlen(del) && !strcmp(target + tl - strlen(del), del))
        return tern_error_set(err, ENOTSUP, "pid %d: fd %d is a deleted file (%s)",
                              (int)pid, fd, target);
    struct stat st;
    if (stat(lp, &st) < 0)
        return tern_error_set(err, errno, "pid %d: fd %d (%s): %s", (int)pid, fd,
                              target, strerror(errno));
    if (S_ISREG(st.st_mode) || S_ISDIR(st.st_mode))
        f->kind = DMP_FD_FILE;
    else if (S_ISCHR(st.st_mode))
        f->kind = DMP_FD_DEV;
    else if (S_ISFIFO(st.st_mode) && fd <= 2)
        f->kind = DMP_FD_INHERIT;
    else
        return tern_error_set(err, ENOTSUP, "pid %d: fd %d (%s) is neither a file nor "
                              "a character device", (int)pid, fd, target);
    return 0;
}

/* The external region whose object fd (its /proc link lp) is, or -1. */
static int external_of(const char *lp, const dmp_ext_id *ext, int next)
{
    struct stat st;
    if (!next || stat(lp, &st) < 0)
        return -1;
    for (int k = 0; k < next; k++)
        if ((uint64_t)st.st_dev == ext[k].dev && (uint64_t)st.st_ino == ext[k].ino)
            return k;
    return -1;
}

/* fd of pid, appended to s->fds (cap entries allocated); 1 if it was closed
 * meanwhile. */
static int capture_fd(pid_t pid, int fd, dmp_state *s, int *cap, const dmp_ext_id *ext,
                      int next, tern_error *err)
{
    char lp[96], target[DMP_PATH_MAX];
    snprintf(lp, sizeof lp, "/proc/%d/fd/%d", (int)pid, fd);
    ssize_t n = readlink(lp, target, sizeof target - 1);
    if (n < 0)
        return 1;
    target[n] = 0;
    if ((int)s->h.nfds == *cap) {
        dmp_fd *v = realloc(s->fds, 2 * (size_t)*cap * sizeof *v);
        if (!v)
            return tern_error_set(err, ENOMEM, "pid %d: out of memory", (int)pid);
        s->fds = v;
        *cap *= 2;
    }
    dmp_fd *f = &s->fds[s->h.nfds];
    memset(f, 0, sizeof *f);
    f->fd = fd;
    snprintf(f->path, sizeof f->path, "%s", target);
    read_fdinfo(pid, fd, f);
    int k = external_of(lp, ext, next);
    if (k >= 0) {   /* a memfd (deleted by nature) that the restore's caller supplies */
        f->kind = DMP_FD_EXTERNAL;
        f->ext_index = k;
        f->pos = 0;
    } else if (classify_fd(pid, fd, lp, target, f, err)) {
        return -1;
    }
    s->h.nfds++;
    return 0;
}

static int capture_fd_table(pid_t pid, dmp_state *s, const dmp_ext_id *ext, int next,
                            tern_error *err)
{
    char dpath[64];
    snprintf(dpath, sizeof dpath, "/proc/%d/fd", (int)pid);
    DIR *d = opendir(dpath);
    if (!d)
        return tern_error_set(err, errno, "%s: %s", dpath, strerror(errno));
    int cap = 16, rc = 0;
    s->fds = calloc(cap, sizeof *s->fds);
    s->h.nfds = 0;
    if (!s->fds)
        rc = tern_error_set(err, ENOMEM, "pid %d: out of memory", (int)pid);
    struct dirent *de;
    while (!rc && (de = readdir(d)))
        if (de->d_name[0] != '.')
            rc = capture_fd(pid, atoi(de->d_name), s, &cap, ext, next, err) < 0 ? -1 : 0;
    closedir(d);
    return rc;
}

/* cwd and umask */
static int capture_place(pid_t pid, dmp_state *s, tern_error *err)
{
    char lp[64];
    snprintf(lp, sizeof lp, "/proc/%d/cwd", (int)pid);
    ssize_t n = readlink(lp, s->h.cwd, sizeof s->h.cwd - 1);
    if (n < 0)
        return tern_error_set(err, errno, "%s: %s", lp, strerror(errno));
    s->h.cwd[n] = 0;
    snprintf(lp, sizeof lp, "/proc/%d/status", (int)pid);
    FILE *fp = fopen(lp, "re");
    if (!fp)
        return tern_error_set(err, errno, "%s: %s", lp, strerror(errno));
    char line[256];
    s->h.umask = 022;
    while (fgets(line, sizeof line, fp))
        if (sscanf(line, "Umask: %o", &s->h.umask) == 1)
            break;
    fclose(fp);
    return 0;
}

int dmp_fds_capture(pid_t pid, dmp_state *s, const dmp_ext_id *ext, int next, tern_error *err)
{
    if (capture_fd_table(pid, s, ext, next, err))
        return -1;
    return capture_place(pid, s, err);
}

int dmp_fds_max(const dmp_state *s)
{
    int m = -1;
    for (uint32_t i = 0; i < s->h.nfds; i++)
        if (s->fds[i].fd > m)
            m = s->fds[i].fd;
    return m;
}

static int open_saved(const dmp_fd *f, tern_error *err)
{
    int flags = f->flags & ~(O_CREAT | O_TRUNC | O_EXCL | O_CLOEXEC);
    if (f->kind == DMP_FD_DEV)
        flags |= O_NOCTTY;
    int fd = open(f->path, flags | O_CLOEXEC);
    if (fd < 0)
        return tern_error_set(err, errno, "fd %d: cannot reopen %s: %s", f->fd, f->path,
                              strerror(errno));
    if (f->kind == DMP_FD_FILE && lseek(fd, f->pos, SEEK_SET) < 0 && errno != ESPIPE) {
        int e = errno;
        close(fd);
        return tern_error_set(err, e, "fd %d: %s: seeking to %lld: %s", f->fd, f->path,
                              (long long)f->pos, strerror(e));
    }
    return fd;
}

int dmp_fds_check(const dmp_state *s, tern_error *err)
{
    for (uint32_t i = 0; i < s->h.nfds; i++) {
        if (s->fds[i].kind == DMP_FD_INHERIT || s->fds[i].kind == DMP_FD_EXTERNAL ||
            s->fds[i].fd <= 2)
            continue;   /* stdio that cannot be reopened is inherited; the
                           restore's caller supplies external ones */
        int fd = open_saved(&s->fds[i], err);
        if (fd < 0)
            return -1;
        close(fd);
    }
    if (access(s->h.cwd, X_OK) < 0)
        return tern_error_set(err, errno, "working directory %s: %s", s->h.cwd,
                              strerror(errno));
    return 0;
}

static int kept(int fd, const int *keep, int nkeep)
{
    for (int i = 0; i < nkeep; i++)
        if (keep[i] == fd)
            return 1;
    return 0;
}

static const dmp_fd *saved(const dmp_state *s, int fd)
{
    for (uint32_t i = 0; i < s->h.nfds; i++)
        if (s->fds[i].fd == fd)
            return &s->fds[i];
    return NULL;
}

/* External fd f: a copy of the caller's fd for its region (the same open
 * file, so the same memfd as the restored mapping). */
static int restore_external(const dmp_fd *f, const int *ext_fd, int next, tern_error *err)
{
    if (f->ext_index < 0 || f->ext_index >= next || ext_fd[f->ext_index] < 0)
        return tern_error_set(err, EBADF, "fd %d: no fd given for external region %d", f->fd,
                              f->ext_index);
    if (dup3(ext_fd[f->ext_index], f->fd, (f->flags & O_CLOEXEC) ? O_CLOEXEC : 0) < 0)
        return tern_error_set(err, errno, "fd %d: dup3: %s", f->fd, strerror(errno));
    return 0;
}

int dmp_fds_restore(const dmp_state *s, const int *keep, int nkeep, const int *ext_fd, int next,
                    int stdio_inherit, tern_error *err)
{
    /* Close what is neither ours nor the image's. */
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        return tern_error_set(err, errno, "/proc/self/fd: %s", strerror(errno));
    int dfd = dirfd(d), toclose[1024], nc = 0;
    struct dirent *de;
    while ((de = readdir(d)) && nc < 1024) {
        if (de->d_name[0] == '.')
            continue;
        int fd = atoi(de->d_name);
        if (fd == dfd || kept(fd, keep, nkeep))
            continue;
        if (fd <= 2 && saved(s, fd))
            continue;   /* replaced by dup3 below, or inherited */
        toclose[nc++] = fd;
    }
    closedir(d);
    for (int i = 0; i < nc; i++)
        close(toclose[i]);
    for (uint32_t i = 0; i < s->h.nfds; i++) {
        const dmp_fd *f = &s->fds[i];
        if (f->kind == DMP_FD_INHERIT || (stdio_inherit && f->fd <= 2 && f->kind != DMP_FD_EXTERNAL)) {
            if (fcntl(f->fd, F_GETFD) < 0)   /* tern restore itself had none: /dev/null */
                if (open("/dev/null", O_RDWR) != f->fd)
                    return tern_error_set(err, EBADF, "fd %d: no fd to inherit", f->fd);
            continue;
        }
        if (f->kind == DMP_FD_EXTERNAL) {
            if (restore_external(f, ext_fd, next, err))
                return -1;
            continue;
        }
        int fd = open_saved(f, err);
        if (fd < 0 && f->fd <= 2 && fcntl(f->fd, F_GETFD) >= 0) {
            tern_error_clear(err);   /* stdio whose file is gone: keep ours */
            continue;
        }
        if (fd < 0)
            return -1;
        if (fd != f->fd) {
            if (dup3(fd, f->fd, (f->flags & O_CLOEXEC) ? O_CLOEXEC : 0) < 0) {
                int e = errno;
                close(fd);
                return tern_error_set(err, e, "fd %d: dup3: %s", f->fd, strerror(e));
            }
            close(fd);
        } else if (!(f->flags & O_CLOEXEC)) {
            fcntl(fd, F_SETFD, 0);
        }
    }
    if (chdir(s->h.cwd) < 0)
        return tern_error_set(err, errno, "working directory %s: %s", s->h.cwd,
                              strerror(errno));
    umask(s->h.umask);
    return 0;
}
