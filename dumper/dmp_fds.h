/* dmp_fds: file descriptors and the process's place in the file system.
 *
 * Saved: regular files and directories (path, open flags, offset), devices
 * such as /dev/null and terminals (reopened by path), and pipes on fds 0-2
 * (the only pipes a process started by `tern exec` has with its starter:
 * they take whatever tern restore has on the same fd). Refused, with the
 * reason: sockets, other pipes, eventfd/epoll/timerfd and friends, files
 * that were deleted. Also saved here: cwd and umask.
 */
#ifndef TERN_DUMPER_FDS_H
#define TERN_DUMPER_FDS_H

#include <sys/types.h>

#include "dmp_state.h"
#include "error.h"

/* Reads /proc/PID/fd, fdinfo, cwd, status(Umask). Refusals fail here. */
int dmp_fds_capture(pid_t pid, dmp_state *s, tern_error *err);

/* Checks every saved path can be opened; nothing is changed. */
int dmp_fds_check(const dmp_state *s, tern_error *err);

/* Makes this process's fd table, cwd and umask those of the image. Fds in
 * keep[] (tern's own, already moved above every image fd) survive; every
 * other fd not in the image is closed. */
int dmp_fds_restore(const dmp_state *s, const int *keep, int nkeep, tern_error *err);

/* Highest fd number the image uses (-1 if none). */
int dmp_fds_max(const dmp_state *s);

#endif
