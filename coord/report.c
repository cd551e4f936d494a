/* report.c: say() on stderr and event() lines in the job directory
 * (docs/runtime.md). Separate because every phase reports and none of them
 * should know the format or the file.
 */
#define _GNU_SOURCE
#include "report.h"

#include "fs.h"
#include "error.h"
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

/* ---- events (rank 0) ------------------------------------------------------ */
void event(const char *fmt, ...)
{
    if (tern_world_rank != 0 || spawned) return;
    char line[4096], path[4200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line - 2, fmt, ap);
    va_end(ap);
    strcat(line, "\n");
    tern_mkdir_p(cfg_dir);
    snprintf(path, sizeof path, "%s/events", cfg_dir);
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0666);
    if (fd < 0) return;
    ssize_t w = write(fd, line, strlen(line));
    (void)w;
    close(fd);
}
