/* util.h: the small generic helpers of the jobs verbs: a growable string
 * vector, whole files, processes, numbers. Nothing here knows about jobs. */
#ifndef TERN_JOBS_UTIL_H
#define TERN_JOBS_UTIL_H

#include <sys/types.h>

/* ---- growable string vector (v[n] is always NULL: an argv) ------------ */
typedef struct strv {
    char **v;
    int n, cap;
} strv;
void sv_push(strv *s, const char *x);
void sv_pushf(strv *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sv_push_all(strv *s, const strv *from);
void sv_push_csv(strv *s, const char *csv);       /* "a,b,,c": a, b, c */
void sv_free(strv *s);
int sv_has(const strv *s, const char *x);
char *sv_join(const strv *s, const char *sep);    /* malloc'ed */
char *sv_lines(const strv *s);                    /* one per line, malloc'ed */

/* ---- processes and this host -------------------------------------------- */
void jobs_sleep(double seconds);
int jobs_pid_alive(pid_t pid);                    /* 1 alive (or zombie), 0 gone */
const char *jobs_hostname(void);                  /* short name */

/* ---- files -------------------------------------------------------------- */
int jobs_is_dir(const char *p);
int jobs_is_file(const char *p);
/* through a temporary file beside it and rename(): readers see the old text
 * or the new one, never a part */
int jobs_write_file_atomic(const char *path, const char *text);
char *jobs_read_file(const char *path);           /* malloc'ed or NULL */

/* ---- numbers: the whole string, or -1 ----------------------------------- */
int jobs_parse_double(const char *s, double *out);
int jobs_parse_int(const char *s, long *out);

#endif
