/* dmp_fds: file descriptors and the process's place in the file system.
 *
 * Saved: regular files and directories (path, open flags, offset), devices
 * such as /dev/null and terminals (reopened by path), and pipes on fds 0-2
 * (the only pipes a process started by `tern exec` has with its starter:
 * they take whatever tern restore has on the same fd). Refused, with the
 * reason: sockets, other pipes, eventfd/epoll/timerfd and friends, files
 * that were deleted. Fds of external shared memory (the proxy's channel) are
 * recorded by the index of their region and take the restore caller's fd.
 * Also saved here: cwd and umask.
 */
#ifndef TERN_DUMPER_FDS_H
#define TERN_DUMPER_FDS_H

#include <sys/types.h>

#include "dmp_state.h"
#include "error.h"

/* The object behind external region k (dmp_capture.h): its st_dev and
 * st_ino, as /proc/PID/maps shows them. */
typedef struct dmp_ext_id {
    uint64_t dev, ino;
} dmp_ext_id;

/* Reads /proc/PID/fd, fdinfo, cwd, status(Umask). Refusals fail here. An
 * fd of the object ext[k] (same st_dev and st_ino) is DMP_FD_EXTERNAL k. */
int dmp_fds_capture(pid_t pid, dmp_state *s, const dmp_ext_id *ext, int next, tern_error *err);

/* Checks every saved path can be opened; nothing is changed. */
int dmp_fds_check(const dmp_state *s, tern_error *err);

/* Makes this process's fd table, cwd and umask those of the image. Fds in
 * keep[] (tern's own, already moved above every image fd) survive; every
 * other fd not in the image is closed. An external fd k becomes a copy of
 * ext_fd[k] (one of keep[]; k < next, checked before). */
int dmp_fds_restore(const dmp_state *s, const int *keep, int nkeep, const int *ext_fd, int next,
                    int stdio_inherit, tern_error *err);

/* Highest fd number the image uses (-1 if none). */
int dmp_fds_max(const dmp_state *s);

#endif
