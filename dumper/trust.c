/* trust.h: directories and files that only their user can write. */
#define _GNU_SOURCE
#include "trust.h"

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void owner_name(uid_t uid, char *buf, size_t len)
{
    struct passwd pw, *res = NULL;
    char tmp[1024];
    if (getpwuid_r(uid, &pw, tmp, sizeof tmp, &res) == 0 && res)
        snprintf(buf, len, "%s", res->pw_name);
    else
        snprintf(buf, len, "uid %u", (unsigned)uid);
}

int tern_trust_stat(const char *path, const struct stat *st, const char *what, tern_error *err)
{
    if (st->st_uid == geteuid() && !(st->st_mode & (S_IWGRP | S_IWOTH)))
        return 0;
    char who[256];
    owner_name(st->st_uid, who, sizeof who);
    return tern_error_set(err, EPERM, "%s: owned by %s (uid %u), mode %04o: tern uses only %s "
                          "that you own and no one else can write", path, who,
                          (unsigned)st->st_uid, (unsigned)(st->st_mode & 07777), what);
}

/* Why open(O_NOFOLLOW) of PATH (NAME in dirfd) failed: a symbolic link is
 * named as such, and so is something the user could not open because it is
 * someone else's; the rest by errno. */
static int open_failed(int dirfd, const char *path, const char *name, const char *what, int e,
                       tern_error *err)
{
    struct stat st;
    if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
        if ((e == ELOOP || e == ENOTDIR) && S_ISLNK(st.st_mode))
            return tern_error_set(err, ELOOP, "%s: a symbolic link; tern does not follow "
                                  "symbolic links here", path);
        if (e == ENOTDIR && !S_ISDIR(st.st_mode))
            return tern_error_set(err, ENOTDIR, "%s: not a directory", path);
        if (e == EACCES && tern_trust_stat(path, &st, what, err))
            return -1;
    }
    return tern_error_set(err, e, "%s: %s", path, strerror(e));
}

int tern_trust_dir_open(const char *path, int create, tern_error *err)
{
    /* mkdir first, then look at what is there, whoever made it: the check
     * is on the descriptor that is then used */
    if (create && mkdir(path, 0700) < 0 && errno != EEXIST)
        return tern_error_set(err, errno, "%s: %s", path, strerror(errno));
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return open_failed(AT_FDCWD, path, path, "directories", errno, err);
    struct stat st;
    if (fstat(fd, &st) < 0) {
        int e = errno;
        close(fd);
        return tern_error_set(err, e, "%s: %s", path, strerror(e));
    }
    if (tern_trust_stat(path, &st, "directories", err)) {
        close(fd);
        return -1;
    }
    return fd;
}

int tern_trust_file_open(int dirfd, const char *dirpath, const char *name, const char *what,
                         tern_error *err)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dirpath, name);
    int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (fd < 0)
        return open_failed(dirfd, path, name, what, errno, err);
    struct stat st;
    int rc = fstat(fd, &st) < 0 ? tern_error_set(err, errno, "%s: %s", path, strerror(errno))
             : !S_ISREG(st.st_mode) ? tern_error_set(err, EINVAL, "%s: not a regular file", path)
                                    : tern_trust_stat(path, &st, what, err);
    if (rc) {
        close(fd);
        return -1;
    }
    return fd;
}

static int write_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

int tern_trust_file_write(int dirfd, const char *dirpath, const char *name, const void *data,
                          size_t len, tern_error *err)
{
    char tmp[512];
    if (snprintf(tmp, sizeof tmp, ".%s.%d", name, (int)getpid()) >= (int)sizeof tmp)
        return tern_error_set(err, ENAMETOOLONG, "%s/%s: %s", dirpath, name,
                              strerror(ENAMETOOLONG));
    int flags = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC;
    int fd = openat(dirfd, tmp, flags, 0600);
    if (fd < 0 && errno == EEXIST && unlinkat(dirfd, tmp, 0) == 0)   /* a leftover: gone */
        fd = openat(dirfd, tmp, flags, 0600);
    if (fd < 0)
        return tern_error_set(err, errno, "%s/%s: %s", dirpath, tmp, strerror(errno));
    int ok = write_all(fd, data, len) == 0;
    int e = errno;
    if (close(fd) != 0 && ok) {
        ok = 0;
        e = errno;
    }
    if (ok && renameat(dirfd, tmp, dirfd, name) == 0)
        return 0;
    if (ok)
        e = errno;
    unlinkat(dirfd, tmp, 0);
    return tern_error_set(err, e, "%s/%s: %s", dirpath, name, strerror(e));
}
