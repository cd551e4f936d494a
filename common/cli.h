/* What every part's `tern` verbs share: the verb signature, the one error
 * line, JSON strings. The verbs themselves are listed by the part that owns
 * the command (jobs/verbs.h); the parts below it only implement them.
 *
 * A verb function gets argv starting at the verb's name, prints its own
 * --help, and returns the process exit status. Errors go to stderr as one
 * line "tern VERB: WHERE: PROBLEM" through tern_cli_fail(). */
#ifndef TERN_COMMON_CLI_H
#define TERN_COMMON_CLI_H

#include <stdio.h>

#include "error.h"

typedef int (*tern_verb_fn)(int argc, char **argv);

/* Print "tern VERB: MESSAGE" on stderr; returns exit status `status`. */
int tern_cli_fail(const char *verb, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Same, from a tern_error. */
int tern_cli_fail_err(const char *verb, int status, const tern_error *err);

/* A JSON string: quotes, backslashes and control characters escaped; bytes
 * that are not well-formed UTF-8 are written as \ufffd, so the output is
 * always valid JSON (such a name cannot be recovered from it). */
void tern_json_str(FILE *f, const char *s);

/* -v/--verbose and --quiet, which every verb takes (the command reads them,
 * the verbs act on them): 1 verbose (say what is run), 0 normal, -1 quiet
 * (nothing but errors and the verb's answer). */
extern int tern_cli_verbosity;
static inline int tern_cli_verbose(void) { return tern_cli_verbosity > 0; }
static inline int tern_cli_quiet(void) { return tern_cli_verbosity < 0; }

/* The message (after "tern VERB: ") of the last tern_cli_fail, "" if none:
 * for a verb that says its error in JSON as well. */
const char *tern_cli_last_error(void);

/* Of the n words in cand, the one nearest to word (edit distance, at most
 * a third of its length, and at least 1 and at most 3 edits), or NULL: for
 * "did you mean 'checkpoint'?". */
const char *tern_cli_nearest(const char *word, const char *const *cand, int n);

#endif
