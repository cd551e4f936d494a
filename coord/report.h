/* report.h: what libtern tells people -- one line on stderr per problem,
 * one line per event in the job directory's `events` file -- and the job
 * directory itself, through which the job talks to the tern command
 * (docs/runtime.md: events, request files, checkpoints).
 *
 * Owner: report.c writes the job directory's descriptor, path and refusal
 * (rank 0, the first time the directory is needed) and whether `events`
 * was refused. The job directory is used only under the rules of
 * common/private_dir.h (docs/security.md): opened once O_DIRECTORY|
 * O_NOFOLLOW, the user's, no group or other write bit. Refused, nothing is
 * read from it or written to it, and no checkpoint is taken.
 */
#ifndef TERN_COORD_REPORT_H
#define TERN_COORD_REPORT_H

#include <stddef.h>

#pragma GCC visibility push(hidden)

/* "tern: rank R: <text>" on stderr. */
void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Rank 0 of the job (not a spawned child): append one line to the job
 * directory's events (made when missing). An events file that is not a
 * regular file of the user's with one link, or that others may write, is
 * refused: said once, and no event is written from then on. */
void event(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Rank 0: the job directory's descriptor, opened the first time a call
 * finds it (with create, made when missing: mode 0755 less the umask,
 * never group- or other-writable); -1 while it is missing (and !create) or
 * cannot be opened, and for good once it is refused. The refusal is said
 * once: "PATH: ...: refusing to use it; no checkpoint will be taken". */
int job_dir(int create);
/* Its path as messages name the files in it (once job_dir() has opened it). */
const char *job_dir_path(void);
/* Rank 0, before the store writes into cfg_dir by path: 0 when the job
 * directory can be used (opened, made when missing) and cfg_dir still names
 * it; -1 with why (one line) otherwise. */
int job_dir_usable(char *why, size_t len);

#pragma GCC visibility pop
#endif
