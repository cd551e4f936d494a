/* The tern command's verbs.
 *
 * Each part of tern contributes its verbs through a verbs.def file in its own
 * folder (storage/verbs.def, dumper/verbs.def, jobs/verbs.def), one line per
 * verb:  TERN_VERB(name, function, "one-line summary")
 * A verb function gets argv starting at the verb's name, prints its own
 * --help, and returns the process exit status. Errors go to stderr as one line
 * "tern VERB: WHERE: PROBLEM" through tern_cli_fail().
 */
#ifndef TERN_JOBS_VERBS_H
#define TERN_JOBS_VERBS_H

#include "error.h"

typedef int (*tern_verb_fn)(int argc, char **argv);

#define TERN_VERB(name, fn, summary) int fn(int argc, char **argv);
#include "verbs_all.def"
#undef TERN_VERB

/* Print "tern VERB: MESSAGE" on stderr; returns exit status `status`. */
int tern_cli_fail(const char *verb, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Same, from a tern_error. */
int tern_cli_fail_err(const char *verb, int status, const tern_error *err);

/* Minimal JSON string output (escapes quotes, backslashes, controls). */
#include <stdio.h>
void tern_json_str(FILE *f, const char *s);

#endif
