/* report.c: say() on stderr, the job directory rank 0 talks to the tern
 * command through, and event() lines in it (docs/runtime.md). Separate
 * because every phase reports and none of them should know the format, the
 * file or the rules that keep the directory the user's (private_dir.h).
 */
#define _GNU_SOURCE
#include "report.h"

#include "error.h"
#include "private_dir.h"
#include "config.h"
#include "control.h"
#include "wrap.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void say(const char *fmt, ...)
{
    char prefix[32];
    snprintf(prefix, sizeof prefix, "tern: rank %d", tern_world_rank);
    va_list ap;
    va_start(ap, fmt);
    tern_vreport(prefix, fmt, ap);
    va_end(ap);
}

/* ---- the job directory (rank 0) ------------------------------------------- */
static int jd_fd = -1;
static int jd_refused;                  /* for good: said once */
static char jd_why[TERN_ERROR_MAX];     /* the refusal, or the last failure to open it */
static char jd_path[4096];

int job_dir(int create)
{
    if (jd_fd >= 0 || jd_refused) return jd_fd;
    tern_error err = {0};
    /* ./tern-ckpt/<job>, tern's own pick, is checked with its tern-ckpt
     * (as the tern command does); 0755: what most umasks made before */
    int fd = tern_pdir_open(cfg_dir, create ? TERN_PDIR_CREATE : 0, 0755, cfg_dir_picked ? 2 : 1,
                            &err);
    if (fd < 0) {
        snprintf(jd_why, sizeof jd_why, "%s", err.msg);
        if (fd == TERN_PDIR_UNSAFE) {
            jd_refused = 1;
            say("%s; no checkpoint will be taken", err.msg);
        }
        return -1;
    }
    if (tern_pdir_path(fd, cfg_dir, jd_path, sizeof jd_path))
        snprintf(jd_path, sizeof jd_path, "%.4000s", cfg_dir);
    jd_fd = fd;
    return fd;
}

const char *job_dir_path(void)
{
    return jd_path;
}

/* cfg_dir, looked up by path as the store will, is the directory jd_fd is */
static int still_named(void)
{
    struct stat a, b;
    return fstat(jd_fd, &a) == 0 && stat(cfg_dir, &b) == 0 && a.st_dev == b.st_dev &&
           a.st_ino == b.st_ino;
}

int job_dir_usable(char *why, size_t len)
{
    struct stat st;
    if (jd_fd >= 0 && stat(cfg_dir, &st) && errno == ENOENT) {
        close(jd_fd);   /* removed while the job ran: made again, as before */
        jd_fd = -1;
    }
    if (job_dir(1) < 0) {
        snprintf(why, len, "%s", jd_why);
        return -1;
    }
    if (still_named()) return 0;
    snprintf(why, len, "%s: no longer the job directory opened before (moved or replaced): "
             "refusing to use it", cfg_dir);
    return -1;
}

/* ---- events (rank 0) ------------------------------------------------------ */
static int events_refused;

void event(const char *fmt, ...)
{
    if (tern_world_rank != 0 || spawned || events_refused) return;
    char line[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line - 2, fmt, ap);
    va_end(ap);
    strcat(line, "\n");
    int dfd = job_dir(1);
    if (dfd < 0) return;
    tern_error err = {0};
    int fd = tern_pdir_open_append(dfd, "events", jd_path, 0644, &err);
    if (fd == TERN_PDIR_UNSAFE) {
        events_refused = 1;
        say("%s", err.msg);
    }
    if (fd < 0) return;
    ssize_t w = write(fd, line, strlen(line));
    (void)w;
    close(fd);
}
