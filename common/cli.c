#include "cli.h"

#include <stdarg.h>
#include <stdio.h>

int tern_cli_fail(const char *verb, int status, const char *fmt, ...)
{
    char prefix[256];
    snprintf(prefix, sizeof prefix, "tern %s", verb);
    va_list ap;
    va_start(ap, fmt);
    tern_vreport(prefix, fmt, ap);
    va_end(ap);
    return status;
}

int tern_cli_fail_err(const char *verb, int status, const tern_error *err)
{
    return tern_cli_fail(verb, status, "%s", err->msg[0] ? err->msg : "unknown error");
}

void tern_json_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (; s && *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c < 0x20)
            fprintf(f, "\\u%04x", c);
        else
            fputc(c, f);
    }
    fputc('"', f);
}
