/* report.h: what libtern tells people: one line on stderr per problem, one
 * line per event in the job directory's `events` file (docs/runtime.md).
 * No state of its own.
 */
#ifndef TERN_COORD_REPORT_H
#define TERN_COORD_REPORT_H

#pragma GCC visibility push(hidden)

/* "tern: rank R: <text>" on stderr. */
void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Rank 0 of the job (not a spawned child): append one line to cfg_dir/events. */
void event(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* mkdir -p; 0, or -1 when the last component could not be made. */

#pragma GCC visibility pop
#endif
