#define _GNU_SOURCE /* O_NOFOLLOW, O_DIRECTORY, O_CLOEXEC for openat */
/* A directory no one else can steer, and the files in it (private_dir.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "private_dir.h"

#define SHOWN_MAX 8192

/* ---- checks ----------------------------------------------------------------- */
static const char *who_writes(mode_t m)
{
    if ((m & 022) == 022) return "group and others";
    return (m & 020) ? "group" : "others";
}

int tern_pdir_check_stat(const struct stat *st, mode_t type, int flags, const char *shown,
                         tern_error *err)
{
    mode_t fmt = st->st_mode & S_IFMT;
    if (fmt == S_IFLNK)
        tern_error_set(err, ELOOP, "%s: is a symbolic link: refusing to use it", shown);
    else if (fmt != type && type == S_IFDIR)
        tern_error_set(err, ENOTDIR, "%s: not a directory", shown);
    else if (fmt != type)
        tern_error_set(err, EINVAL, "%s: not a regular file: refusing to use it", shown);
    else if (st->st_uid != geteuid())
        tern_error_set(err, EPERM, "%s: owned by uid %u, not by you (uid %u): refusing to use it",
                       shown, (unsigned)st->st_uid, (unsigned)geteuid());
    else if (st->st_mode & 022)
        tern_error_set(err, EPERM, "%s: writable by %s (mode %04o): refusing to use it", shown,
                       who_writes(st->st_mode), (unsigned)(st->st_mode & 07777));
    else if (type == S_IFREG && (flags & TERN_PDIR_ONE_LINK) && st->st_nlink != 1)
        tern_error_set(err, EMLINK, "%s: has %lu hard links: refusing to use it", shown,
                       (unsigned long)st->st_nlink);
    else
        return 0;
    return TERN_PDIR_UNSAFE;
}

/* ---- the directory ------------------------------------------------------------ */
/* Why opening component comp of at failed: ELOOP (the link itself) or
 * ENOTDIR say what is there instead; so does EACCES when what is there is
 * refused anyway (another user's 0700 directory is theirs, not "Permission
 * denied"); the rest by errno. */
static int open_failed(int at, const char *comp, const char *shown, int check, int e,
                       tern_error *err)
{
    struct stat st;
    if (fstatat(at, comp, &st, AT_SYMLINK_NOFOLLOW) == 0) {
        if ((e == ELOOP || e == ENOTDIR) && (check || !S_ISLNK(st.st_mode)))
            return tern_pdir_check_stat(&st, S_IFDIR, 0, shown, err);
        if (e == EACCES && check && tern_pdir_check_stat(&st, S_IFDIR, 0, shown, err))
            return TERN_PDIR_UNSAFE;
    }
    tern_error_set(err, e, "%s: %s", shown, strerror(e));
    return TERN_PDIR_FAILED;
}

/* One component of the walk: created (when asked), opened, checked. The new
 * descriptor, or TERN_PDIR_*. */
static int open_component(int at, const char *comp, const char *shown, int create, mode_t mode,
                          int check, tern_error *err)
{
    int created = 0;
    if (create) {
        if (mkdirat(at, comp, mode & ~(mode_t)022) == 0) {
            created = 1;
        } else if (errno != EEXIST) {
            tern_error_set(err, errno, "%s: cannot create: %s", shown, strerror(errno));
            return TERN_PDIR_NOCREATE;
        }
    }
    check |= created;
    int fd = openat(at, comp, O_RDONLY | O_DIRECTORY | O_CLOEXEC | (check ? O_NOFOLLOW : 0));
    struct stat st;
    if (fd < 0) return open_failed(at, comp, shown, check, errno, err);
    if (check) {
        int rc = fstat(fd, &st) ? TERN_PDIR_FAILED : tern_pdir_check_stat(&st, S_IFDIR, 0, shown, err);
        if (rc == TERN_PDIR_FAILED) tern_error_set(err, errno, "%s: %s", shown, strerror(errno));
        if (rc) {
            close(fd);
            return rc;
        }
    }
    return fd;
}

/* "base/a/b" as the messages name the components: base is the current
 * directory for a relative path ("" when it is unknown or path is absolute). */
static void start_shown(const char *path, char *shown, size_t len)
{
    shown[0] = 0;
    if (path[0] != '/' && !getcwd(shown, len)) snprintf(shown, len, ".");
    if (!strcmp(shown, "/")) shown[0] = 0;
}

int tern_pdir_open(const char *path, int flags, mode_t mode, int ncheck, tern_error *err)
{
    char buf[4096], shown[SHOWN_MAX];
    if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf || !*buf) {
        tern_error_set(err, ENAMETOOLONG, "%.200s: %s", path, strerror(*buf ? ENAMETOOLONG : ENOENT));
        return TERN_PDIR_FAILED;
    }
    start_shown(path, shown, sizeof shown);
    char *comps[2048]; /* a 4096-byte path has at most 2048 */
    int n = 0;
    for (char *s, *c = strtok_r(buf, "/", &s); c && n < 2048; c = strtok_r(NULL, "/", &s))
        comps[n++] = c;
    int fd = open(path[0] == '/' ? "/" : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        tern_error_set(err, errno, "%s: %s", path, strerror(errno));
        return TERN_PDIR_FAILED;
    }
    for (int i = 0; i < n && fd >= 0; i++) {
        size_t sl = strlen(shown);
        if (strcmp(comps[i], ".")) snprintf(shown + sl, sizeof shown - sl, "/%s", comps[i]);
        int nfd = open_component(fd, comps[i], shown[0] ? shown : ".", flags & TERN_PDIR_CREATE,
                                 mode, i >= n - ncheck, err);
        close(fd);
        fd = nfd;
    }
    struct stat st;
    if (n == 0 && fd >= 0 && ncheck > 0) { /* path is "/" */
        int rc = fstat(fd, &st) ? TERN_PDIR_FAILED : tern_pdir_check_stat(&st, S_IFDIR, 0, "/", err);
        if (rc == TERN_PDIR_FAILED) tern_error_set(err, errno, "/: %s", strerror(errno));
        if (rc) {
            close(fd);
            fd = rc;
        }
    }
    return fd;
}

int tern_pdir_path(int dirfd, const char *fallback, char *out, size_t len)
{
    char link[64], got[4096];
    snprintf(link, sizeof link, "/proc/self/fd/%d", dirfd);
    ssize_t n = readlink(link, got, sizeof got - 1);
    if (n > 0 && got[0] == '/') {
        got[n] = 0;
        if (!strstr(got, " (deleted)")) fallback = got;
    }
    return snprintf(out, len, "%s", fallback) < (int)len ? 0 : -1;
}

/* ---- files in it ----------------------------------------------------------------- */
/* openat(O_NOFOLLOW) of a file failed with e: ELOOP is the link itself */
static int open_file_failed(const char *shown, int e, tern_error *err)
{
    if (e == ELOOP) {
        tern_error_set(err, e, "%s: is a symbolic link: refusing to use it", shown);
        return TERN_PDIR_UNSAFE;
    }
    tern_error_set(err, e, "%s: %s", shown, strerror(e));
    return TERN_PDIR_FAILED;
}

/* fd, opened O_NONBLOCK, checked on itself as a regular file with flags
 * (and, given what was checked before it was opened, as that very file):
 * fd back to blocking, or TERN_PDIR_* with fd closed. */
static int checked_fd(int fd, const struct stat *before, int flags, const char *shown,
                      tern_error *err)
{
    struct stat st;
    int rc = fstat(fd, &st) ? TERN_PDIR_FAILED : tern_pdir_check_stat(&st, S_IFREG, flags, shown, err);
    if (!rc && before && (st.st_dev != before->st_dev || st.st_ino != before->st_ino)) {
        tern_error_set(err, EAGAIN, "%s: replaced while being opened: refusing to use it", shown);
        rc = TERN_PDIR_UNSAFE;
    }
    if (rc == TERN_PDIR_FAILED) tern_error_set(err, errno, "%s: %s", shown, strerror(errno));
    if (rc) {
        close(fd);
        return rc;
    }
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    return fd;
}

int tern_pdir_open_file(int dirfd, const char *name, const char *shown_dir, int flags,
                        tern_error *err)
{
    char shown[SHOWN_MAX];
    snprintf(shown, sizeof shown, "%s/%s", shown_dir, name);
    struct stat st;
    /* the type first, without opening: opening a device may do something */
    if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW)) {
        tern_error_set(err, errno, "%s: %s", shown, strerror(errno));
        return TERN_PDIR_FAILED;
    }
    int rc = tern_pdir_check_stat(&st, S_IFREG, flags, shown, err);
    if (rc) return rc;
    int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (fd < 0) return open_file_failed(shown, errno, err);
    return checked_fd(fd, &st, flags, shown, err);
}

int tern_pdir_open_append(int dirfd, const char *name, const char *shown_dir, mode_t mode,
                          tern_error *err)
{
    char shown[SHOWN_MAX];
    snprintf(shown, sizeof shown, "%s/%s", shown_dir, name);
    struct stat st;
    /* what is there already, without opening it */
    int rc = fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) ? 0
             : tern_pdir_check_stat(&st, S_IFREG, TERN_PDIR_ONE_LINK, shown, err);
    if (rc) return rc;
    int fd = openat(dirfd, name, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_NONBLOCK |
                    O_NOCTTY | O_CLOEXEC, mode & ~(mode_t)022);
    if (fd < 0) return open_file_failed(shown, errno, err);
    /* what was opened (made now, or replaced since the look) passes on its own */
    return checked_fd(fd, NULL, TERN_PDIR_ONE_LINK, shown, err);
}

char *tern_pdir_read_file(int dirfd, const char *name, const char *shown_dir, size_t max,
                          tern_error *err)
{
    int fd = tern_pdir_open_file(dirfd, name, shown_dir, 0, err);
    if (fd < 0) return NULL;
    size_t cap = 4096, n = 0;
    char *b = malloc(cap);
    ssize_t r = 0;
    while (b && n <= max && (r = read(fd, b + n, cap - n - 1)) > 0) {
        n += (size_t)r;
        if (cap - n < 2) {
            char *nb = realloc(b, cap *= 2);
            if (!nb) free(b);
            b = nb;
        }
    }
    int e = r < 0 ? errno : !b ? ENOMEM : n > max ? EFBIG : 0;
    close(fd);
    if (e) {
        free(b);
        tern_error_set(err, e, "%s/%s: %s", shown_dir, name,
                       e == EFBIG ? "too large: refusing to read it" : strerror(e));
        return NULL;
    }
    b[n] = 0;
    return b;
}

static unsigned fresh_number(void)
{
    static unsigned counter;
    unsigned x;
    if (getrandom(&x, sizeof x, GRND_NONBLOCK) != (ssize_t)sizeof x)
        x = (unsigned)getpid() * 2654435761u ^ (unsigned)time(NULL);
    return x + counter++;
}

/* all of it, through EINTR and short writes */
static int write_all(int fd, const char *p, size_t len)
{
    while (len) {
        ssize_t w = write(fd, p, len);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return -1;
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

int tern_pdir_write_file(int dirfd, const char *name, const char *shown_dir, const void *data,
                         size_t len, mode_t mode, tern_error *err)
{
    char tmp[512];
    int fd = -1;
    for (int tries = 0; fd < 0 && tries < 16; tries++) {
        snprintf(tmp, sizeof tmp, ".tmp-%.400s-%08x", name, fresh_number());
        fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                    mode & ~(mode_t)022);
        if (fd < 0 && errno != EEXIST) break;
    }
    int ok = fd >= 0 && write_all(fd, data, len) == 0 && fsync(fd) == 0;
    int e = errno;
    if (fd >= 0 && close(fd) && ok) ok = 0, e = errno;
    if (ok && renameat(dirfd, tmp, dirfd, name) == 0) return 0;
    if (ok) e = errno;
    if (fd >= 0) unlinkat(dirfd, tmp, 0);
    tern_error_set(err, e, "%s/%s: cannot write: %s", shown_dir, name, strerror(e));
    return TERN_PDIR_FAILED;
}

DIR *tern_pdir_list(int dirfd)
{
    int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    if (!d && fd >= 0) {
        int e = errno;
        close(fd);
        errno = e;
    }
    return d;
}

int tern_pdir_check_entries(int dirfd, const char *shown_dir, int (*match)(const char *name),
                            tern_error *err)
{
    DIR *d = tern_pdir_list(dirfd);
    if (!d) {
        tern_error_set(err, errno, "%s: %s", shown_dir, strerror(errno));
        return TERN_PDIR_FAILED;
    }
    int rc = 0;
    struct dirent *e;
    while (!rc && (e = readdir(d))) {
        int m = match ? match(e->d_name) : 1;
        struct stat st;
        if (!m || !strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        if (fstatat(dirfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW)) continue; /* gone since */
        char shown[SHOWN_MAX];
        snprintf(shown, sizeof shown, "%s/%s", shown_dir, e->d_name);
        rc = tern_pdir_check_stat(&st, S_IFREG, m - 1, shown, err);
    }
    closedir(d);
    return rc;
}
