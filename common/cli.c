#include "cli.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int tern_cli_verbosity;
static char last_error[2048];

static void report(const char *prefix, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    tern_vreport(prefix, fmt, ap);
    va_end(ap);
}

int tern_cli_fail(const char *verb, int status, const char *fmt, ...)
{
    char prefix[256];
    snprintf(prefix, sizeof prefix, "tern %s", verb);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_error, sizeof last_error, fmt, ap);
    va_end(ap);
    report(prefix, "%s", last_error);
    return status;
}

const char *tern_cli_last_error(void)
{
    return last_error;
}

/* Levenshtein distance of a and b (both short: option and verb names). */
static size_t edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 63 || lb > 63) return 64;
    size_t row[64];
    for (size_t j = 0; j <= lb; j++) row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t best = diag + (a[i - 1] != b[j - 1]);
            if (row[j] + 1 < best) best = row[j] + 1;
            if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

const char *tern_cli_nearest(const char *word, const char *const *cand, int n)
{
    size_t limit = strlen(word) / 3;
    if (limit < 1) limit = 1;
    if (limit > 3) limit = 3;
    const char *best = NULL;
    size_t bd = limit + 1;
    for (int i = 0; i < n; i++) {
        size_t d = edit_distance(word, cand[i]);
        if (d < bd) {
            bd = d;
            best = cand[i];
        }
    }
    return best;
}

int tern_cli_fail_err(const char *verb, int status, const tern_error *err)
{
    return tern_cli_fail(verb, status, "%s", err->msg[0] ? err->msg : "unknown error");
}

/* Length of the well-formed UTF-8 sequence at s (1..4), or 0 when s starts
 * an ill-formed one: a stray continuation byte, an overlong form, a
 * surrogate (U+D800..DFFF), a code point past U+10FFFF, a cut sequence. */
static int utf8_len(const unsigned char *s)
{
    int n = s[0] < 0x80 ? 1 : s[0] < 0xc2 ? 0 : s[0] < 0xe0 ? 2 : s[0] < 0xf0 ? 3 : s[0] < 0xf5 ? 4 : 0;
    for (int i = 1; i < n; i++)
        if ((s[i] & 0xc0) != 0x80) return 0;
    if (n == 3 && ((s[0] == 0xe0 && s[1] < 0xa0) || (s[0] == 0xed && s[1] >= 0xa0))) return 0;
    if (n == 4 && ((s[0] == 0xf0 && s[1] < 0x90) || (s[0] == 0xf4 && s[1] >= 0x90))) return 0;
    return n;
}

void tern_json_str(FILE *f, const char *s)
{
    fputc('"', f);
    const unsigned char *p = (const unsigned char *)s;
    while (p && *p) {
        int n = utf8_len(p);
        if (*p == '"' || *p == '\\')
            fprintf(f, "\\%c", *p);
        else if (*p < 0x20)
            fprintf(f, "\\u%04x", *p);
        else if (n == 0) /* JSON text is UTF-8: a byte that is not stands for U+FFFD */
            fputs("\\ufffd", f);
        else
            fwrite(p, 1, (size_t)n, f);
        p += n ? n : 1;
    }
    fputc('"', f);
}
