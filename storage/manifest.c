#include "manifest.h"
#include "tern_store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MANIFEST_HEADER "tern-manifest 1"

void tern_store_path(const char *dir, uint64_t epoch, char *buf, size_t len)
{
    snprintf(buf, len, "%s/ckpt-%06" PRIu64 ".h5", dir, epoch);
}

void tern_store_partial_path(const char *dir, uint64_t epoch, char *buf, size_t len)
{
    snprintf(buf, len, "%s/ckpt-%06" PRIu64 ".h5.partial", dir, epoch);
}

int tern_fsync_path(const char *path, tern_error *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return tern_error_set(err, errno, "%s: open for fsync: %s", path, strerror(errno));
    if (fsync(fd) < 0) {
        int e = errno;
        close(fd);
        return tern_error_set(err, e, "%s: fsync: %s", path, strerror(e));
    }
    close(fd);
    return 0;
}

int tern_dir_prepare(const char *dir, tern_error *err)
{
    struct stat st;
    if (stat(dir, &st) == 0) {
        if (!S_ISDIR(st.st_mode))
            return tern_error_set(err, ENOTDIR, "%s: not a directory", dir);
        return 0;
    }
    if (errno != ENOENT)
        return tern_error_set(err, errno, "%s: %s", dir, strerror(errno));
    /* never group/other-writable, whatever the umask: tern refuses to use
     * a directory others could write (common/private_dir.h) */
    if (mkdir(dir, 0755) < 0 && errno != EEXIST)
        return tern_error_set(err, errno, "%s: cannot create: %s", dir, strerror(errno));
    return 0;
}

/* Parses "ckpt-<digits>.h5" exactly. */
static int parse_name(const char *name, uint64_t *epoch)
{
    if (strncmp(name, "ckpt-", 5))
        return 0;
    const char *p = name + 5;
    char *end;
    if (*p < '0' || *p > '9')
        return 0;
    errno = 0;
    unsigned long long v = strtoull(p, &end, 10);
    if (errno || strcmp(end, ".h5"))
        return 0;
    *epoch = v;
    return 1;
}

static int has_suffix(const char *s, const char *suf)
{
    size_t n = strlen(s), m = strlen(suf);
    return n >= m && !strcmp(s + n - m, suf);
}

int tern_dir_clean_leftovers(const char *dir, tern_error *err)
{
    DIR *d = opendir(dir);
    if (!d)
        return tern_error_set(err, errno, "%s: %s", dir, strerror(errno));
    struct dirent *e;
    int rc = 0;
    char path[PATH_MAX];
    while ((e = readdir(d))) {
        if ((!strncmp(e->d_name, "ckpt-", 5) && has_suffix(e->d_name, ".partial")) ||
            !strcmp(e->d_name, "MANIFEST.tmp")) {
            snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
            if (unlink(path) < 0 && errno != ENOENT && !rc)
                rc = tern_error_set(err, errno, "%s: cannot remove leftover: %s",
                                    path, strerror(errno));
        }
    }
    closedir(d);
    return rc;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Committed files present in dir, ascending. */
static int scan(const char *dir, uint64_t **out, int *n, tern_error *err)
{
    DIR *d = opendir(dir);
    if (!d) {
        if (errno == ENOENT)
            return tern_error_set(err, ENOENT, "%s: no such directory", dir);
        return tern_error_set(err, errno, "%s: %s", dir, strerror(errno));
    }
    size_t cap = 16, cnt = 0;
    uint64_t *v = malloc(cap * sizeof *v);
    struct dirent *e;
    while (v && (e = readdir(d))) {
        uint64_t ep;
        if (!parse_name(e->d_name, &ep))
            continue;
        if (cnt == cap) {
            uint64_t *nv = realloc(v, (cap *= 2) * sizeof *v);
            if (!nv) {
                free(v);
                v = NULL;
                break;
            }
            v = nv;
        }
        v[cnt++] = ep;
    }
    closedir(d);
    if (!v)
        return tern_error_set(err, ENOMEM, "%s: out of memory", dir);
    qsort(v, cnt, sizeof *v, cmp_u64);
    *out = v;
    *n = (int)cnt;
    return 0;
}

/* DIR/MANIFEST opened for reading, a regular file only: a FIFO would block
 * the open and every read for ever (tern ls DIR hung on one), a device may
 * act on open, and a symbolic link is nothing the writer makes (it renames
 * a new file over the name). So: lstat first, so that nothing else is ever
 * opened; then O_NOFOLLOW|O_NONBLOCK (should the name have been replaced
 * in between) and fstat of the descriptor, which must be the same regular
 * file. 1 when there is no MANIFEST, 0 with *out, -1 with err. */
static int open_manifest(const char *dir, FILE **out, tern_error *err)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/MANIFEST", dir);
    struct stat st, now;
    if (lstat(path, &st) != 0)
        return errno == ENOENT ? 1 : tern_error_set(err, errno, "%s: %s", path, strerror(errno));
    if (!S_ISREG(st.st_mode))
        return tern_error_set(err, EINVAL, "%s: not a regular file", path);
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT)
        return 1;   /* replaced by a commit in between and not there yet */
    if (fd < 0 && errno != ELOOP)
        return tern_error_set(err, errno, "%s: %s", path, strerror(errno));
    if (fd < 0 || fstat(fd, &now) != 0 || !S_ISREG(now.st_mode)) {
        if (fd >= 0)
            close(fd);
        return tern_error_set(err, EINVAL, "%s: not a regular file", path);
    }
    /* a regular file: reads never block, O_NONBLOCK has done its job */
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    FILE *f = fdopen(fd, "r");
    if (!f) {
        int e = errno;
        close(fd);
        return tern_error_set(err, e, "%s: %s", path, strerror(e));
    }
    *out = f;
    return 0;
}

/* Epochs named in DIR/MANIFEST: 0 with them, 1 when there is no usable
 * MANIFEST (none, a header that is not ours, out of memory: the files
 * present are then the committed ones), -1 with err when MANIFEST cannot
 * be read or is not a regular file. */
static int read_manifest(const char *dir, uint64_t **out, int *n, tern_error *err)
{
    char line[512];
    FILE *f = NULL;
    int rc = open_manifest(dir, &f, err);
    if (rc)
        return rc;
    int cnt = 0, cap = 16;
    uint64_t *v = malloc(cap * sizeof *v);
    rc = 1;
    if (v && fgets(line, sizeof line, f) && !strncmp(line, MANIFEST_HEADER, strlen(MANIFEST_HEADER))) {
        rc = 0;
        unsigned long long e;
        while (fgets(line, sizeof line, f)) {
            if (sscanf(line, "%llu", &e) != 1)
                continue;
            if (cnt == cap) {
                uint64_t *nv = realloc(v, (cap *= 2) * sizeof *v);
                if (!nv) {
                    rc = 1;
                    break;
                }
                v = nv;
            }
            v[cnt++] = e;
        }
    }
    fclose(f);
    if (rc) {
        free(v);
        return rc;
    }
    *out = v;
    *n = cnt;
    return 0;
}

int tern_store_list(const char *dir, uint64_t **epochs, int *n, tern_error *err)
{
    /* Committed = the file is present, and MANIFEST names it or it is newer
     * than everything MANIFEST names (a crash between the commit rename and
     * the MANIFEST update). A present file older than MANIFEST's entries and
     * not among them is being pruned, not committed. */
    uint64_t *files, *man = NULL;
    int nf, nm = 0;
    if (scan(dir, &files, &nf, err))
        return -1;
    int m = read_manifest(dir, &man, &nm, err);
    if (m < 0) {
        free(files);
        return -1;
    }
    if (m == 0) {
        uint64_t newest = 0;
        for (int j = 0; j < nm; j++)
            if (man[j] > newest)
                newest = man[j];
        int k = 0;
        for (int i = 0; i < nf; i++) {
            int keep = nm == 0 || files[i] > newest;
            for (int j = 0; j < nm && !keep; j++)
                keep = man[j] == files[i];
            if (keep)
                files[k++] = files[i];
        }
        nf = k;
        free(man);
    }
    *epochs = files;
    *n = nf;
    return 0;
}

static int write_manifest(const char *dir, const uint64_t *ep, int n, tern_error *err)
{
    char tmp[PATH_MAX], fin[PATH_MAX];
    snprintf(tmp, sizeof tmp, "%s/MANIFEST.tmp", dir);
    snprintf(fin, sizeof fin, "%s/MANIFEST", dir);
    /* a leftover (or a planted link) of that name is removed, never written
     * through: the new file is created exclusively, without group/other
     * write whatever the umask, as tern accepts only such files */
    if (unlink(tmp) < 0 && errno != ENOENT)
        return tern_error_set(err, errno, "%s: %s", tmp, strerror(errno));
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    FILE *f = fd < 0 ? NULL : fdopen(fd, "w");
    if (!f) {
        int e = errno;
        if (fd >= 0) close(fd);
        return tern_error_set(err, e, "%s: %s", tmp, strerror(e));
    }
    fprintf(f, MANIFEST_HEADER "\n");
    for (int i = 0; i < n; i++)
        fprintf(f, "%" PRIu64 " ckpt-%06" PRIu64 ".h5\n", ep[i], ep[i]);
    int bad = fflush(f) != 0 || fsync(fileno(f)) != 0;
    int e = errno;
    if (fclose(f) != 0 && !bad) {
        bad = 1;
        e = errno;
    }
    if (bad) {
        unlink(tmp);
        return tern_error_set(err, e, "%s: %s", tmp, strerror(e));
    }
    if (rename(tmp, fin) < 0) {
        e = errno;
        unlink(tmp);
        return tern_error_set(err, e, "%s: rename: %s", fin, strerror(e));
    }
    return tern_fsync_path(dir, err);
}

typedef struct prune_job {
    char dir[PATH_MAX];
    uint64_t *epochs;
    int n;
} prune_job;


static void *prune_main(void *arg)
{
    prune_job *j = arg;
    tern_error scratch;
    for (int i = 0; i < j->n; i++) {
        char old[PATH_MAX];
        tern_store_path(j->dir, j->epochs[i], old, sizeof old);
        unlink(old);
    }
    tern_fsync_path(j->dir, &scratch);
    free(j->epochs);
    free(j);
    return NULL;
}

int tern_dir_commit(const char *dir, uint64_t epoch, int keep, tern_error *err)
{
    char part[PATH_MAX], fin[PATH_MAX];
    tern_store_partial_path(dir, epoch, part, sizeof part);
    tern_store_path(dir, epoch, fin, sizeof fin);
    if (rename(part, fin) < 0)
        return tern_error_set(err, errno, "%s: rename: %s", part, strerror(errno));
    if (tern_fsync_path(dir, err)) {
        /* The rename may not survive a crash, and the caller reports a
         * failed commit, which must leave no committed file behind: undo it
         * (the caller then removes the .partial). */
        if (rename(fin, part) != 0)
            unlink(fin);
        return -1;
    }
    uint64_t *ep;
    int n;
    if (scan(dir, &ep, &n, err))
        return -1;
    if (keep < 1)
        keep = 1;
    int first = n > keep ? n - keep : 0;
    /* The rename above committed the checkpoint; what follows is upkeep. A
     * failure here must not report the commit as failed (the file is there
     * and complete), and the next commit redoes it. */
    tern_error scratch;
    int rc = write_manifest(dir, ep + first, n - first, &scratch);
    /* Old checkpoints go only after MANIFEST no longer names them, and in the
     * background: unlinking a large file that is still in the page cache
     * takes ~50 ms per 256 MiB, which the job need not wait for. A prune cut
     * short (the process exits) is finished by the next commit. */
    if (rc == 0 && first > 0) {
        prune_job *j = calloc(1, sizeof *j);
        if (j) {
            snprintf(j->dir, sizeof j->dir, "%s", dir);
            j->epochs = ep;
            j->n = first;
            ep = NULL;
            pthread_t t;
            pthread_attr_t at;
            pthread_attr_init(&at);
            pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
            if (pthread_create(&t, &at, prune_main, j) != 0)
                prune_main(j);
            pthread_attr_destroy(&at);
        }
    }
    free(ep);
    return 0;
}
