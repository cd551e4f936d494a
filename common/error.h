/* tern_error: the one way errors travel in tern.
 *
 * Every failing function fills a tern_error and returns non-zero. The text is
 * a single line "WHERE: PROBLEM" (WHERE names the file, rank, segment or phase)
 * so that the one place that reports it (the tern command, the wrapper's
 * abort path) can print it as is. Callers that add context prepend it with
 * tern_error_prefix() rather than overwriting the original cause.
 */
#ifndef TERN_COMMON_ERROR_H
#define TERN_COMMON_ERROR_H

#include <stdarg.h>
#include <stddef.h>

#define TERN_ERROR_MAX 1024

typedef struct tern_error {
    int code;                    /* 0 = no error; otherwise an errno-like value or -1 */
    char msg[TERN_ERROR_MAX];    /* one line, no trailing newline */
} tern_error;

/* Set err (may be NULL) to a formatted message; returns -1 so that callers can
 * write `return tern_error_set(err, EIO, "%s: ...", path);`. */
int tern_error_set(tern_error *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prepend context ("rank 3: ") to an existing message; returns -1. */
int tern_error_prefix(tern_error *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

void tern_error_clear(tern_error *err);

/* The one place a message reaches stderr: "PREFIX: MESSAGE\n" in one write,
 * so that lines of several ranks or processes do not interleave. PREFIX is
 * "tern VERB" in the command, "tern: rank R" in the library. */
void tern_vreport(const char *prefix, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

#endif
