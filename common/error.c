#include "error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static void flatten(char *s)
{
    /* One line is the contract: a message that embeds a newline (HDF5's error
     * stack, strerror of odd locales) would break scripts that read stderr. */
    for (; *s; s++)
        if (*s == '\n' || *s == '\r')
            *s = ' ';
}

int tern_error_set(tern_error *err, int code, const char *fmt, ...)
{
    if (!err)
        return -1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    flatten(err->msg);
    err->code = code ? code : -1;
    return -1;
}

int tern_error_prefix(tern_error *err, const char *fmt, ...)
{
    if (!err)
        return -1;
    char head[TERN_ERROR_MAX], old[TERN_ERROR_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(head, sizeof head, fmt, ap);
    va_end(ap);
    memcpy(old, err->msg, sizeof old);
    /* head first, then as much of the old message as fits */
    size_t hl = strlen(head), ol = strlen(old);
    if (hl > sizeof err->msg - 1)
        hl = sizeof err->msg - 1;
    if (ol > sizeof err->msg - 1 - hl)
        ol = sizeof err->msg - 1 - hl;
    memcpy(err->msg, head, hl);
    memcpy(err->msg + hl, old, ol);
    err->msg[hl + ol] = '\0';
    flatten(err->msg);
    if (!err->code)
        err->code = -1;
    return -1;
}

void tern_error_clear(tern_error *err)
{
    if (err) {
        err->code = 0;
        err->msg[0] = '\0';
    }
}

void tern_vreport(const char *prefix, const char *fmt, va_list ap)
{
    char msg[2048], line[2400];
    vsnprintf(msg, sizeof msg, fmt, ap);
    int n = snprintf(line, sizeof line, "%s: %s\n", prefix, msg);
    if (n < 0) return;
    if ((size_t)n >= sizeof line) {   /* cut, but still one line */
        n = (int)sizeof line - 1;
        line[n - 1] = '\n';
    }
    fwrite(line, 1, (size_t)n, stderr);
}
