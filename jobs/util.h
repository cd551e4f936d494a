/* util.h: the small generic helpers of the jobs verbs: a growable string
 * vector, whole files, processes, numbers. Nothing here knows about jobs. */
#ifndef TERN_JOBS_UTIL_H
#define TERN_JOBS_UTIL_H

#include <stddef.h>
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
/* When process pid started (field 22 of /proc/PID/stat, clock ticks since
 * boot), into *start. 0, or -1 when there is no such process. */
int jobs_proc_start(pid_t pid, unsigned long long *start);
/* 1 when pid runs and (start != 0) is the process that started at start;
 * 0 when it has exited, is a zombie waiting to be reaped, or the pid is
 * another process's now. Without /proc: kill(pid, 0). */
int jobs_proc_running(pid_t pid, unsigned long long start);
const char *jobs_hostname(void);                  /* short name */

/* ---- files -------------------------------------------------------------- */
int jobs_is_dir(const char *p);
int jobs_is_file(const char *p);
/* An executable named like a program on PATH (one with a '/' as it is)
 * made absolute into out; -1 when there is none. */
int jobs_find_exe(const char *name, char *out, size_t len);

/* ---- numbers: the whole string, or -1 ----------------------------------- */
int jobs_parse_double(const char *s, double *out);
int jobs_parse_int(const char *s, long *out);

/* ---- text that goes into line-based files -------------------------------- */
/* The first control character (< 0x20 or 0x7f) of s, or 0. */
int jobs_control_char(const char *s);
/* s with every control character shown as '?', for one-line messages. */
void jobs_printable(const char *s, char *out, size_t len);

#endif
