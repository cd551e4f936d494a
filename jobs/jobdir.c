#define _GNU_SOURCE /* realpath, unlinkat */
/* A job directory: finding it, opening it safely, its job file, what an
 * earlier run left in it (jobdir.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "jobdir.h"
#include "private_dir.h"

/* the job file holds a command line: a few KiB; this is far beyond */
#define JOBFILE_MAX (16u << 20)

/* ---- the directory -------------------------------------------------------- */
int jobdir_open(const char *verb, const char *want, int tern_made, int create, jobdir *d)
{
    d->fd = -1;
    tern_error err = {0};
    /* 0755: what the umask of most users made before; never group- or
     * other-writable, or tern would refuse what it made */
    int fd = tern_pdir_open(want, create ? TERN_PDIR_CREATE : 0, 0755, tern_made ? 2 : 1, &err);
    if (fd == TERN_PDIR_NOCREATE)
        return tern_cli_fail(verb, -1, "cannot create job directory %s: %s", want, strerror(err.code));
    if (fd < 0) return tern_cli_fail_err(verb, -1, &err);
    char fallback[4096];
    if (!realpath(want, fallback)) snprintf(fallback, sizeof fallback, "%s", want);
    if (tern_pdir_path(fd, fallback, d->path, sizeof d->path)) {
        close(fd);
        return tern_cli_fail(verb, -1, "%s: %s", want, strerror(ENAMETOOLONG));
    }
    d->fd = fd;
    return 0;
}

void jobdir_close(jobdir *d)
{
    if (d->fd >= 0) close(d->fd);
    d->fd = -1;
}

/* The names tern (job, rankfile, .tmp-*), libtern (events, request.*,
 * .tmp-done-*) and the store (ckpt-*, MANIFEST*) use; committed checkpoints
 * may be hard-linked (a user's backup), nothing else is written in place. */
static int tern_file(const char *n)
{
    size_t l = strlen(n);
    if (!strncmp(n, "ckpt-", 5) && l > 3 && !strcmp(n + l - 3, ".h5")) return 1;
    if (!strcmp(n, "job") || !strcmp(n, "events") || !strcmp(n, "rankfile") ||
        !strncmp(n, "MANIFEST", 8) || !strncmp(n, "ckpt-", 5) || !strncmp(n, "request.", 8) ||
        !strncmp(n, ".tmp-", 5))
        return 1 + TERN_PDIR_ONE_LINK;
    return 0;
}

int jobdir_check_files(const char *verb, const jobdir *d)
{
    tern_error err = {0};
    if (tern_pdir_check_entries(d->fd, d->path, tern_file, &err))
        return tern_cli_fail_err(verb, -1, &err);
    return 0;
}

char *jobdir_read(const jobdir *d, const char *name, size_t max, tern_error *err)
{
    return tern_pdir_read_file(d->fd, name, d->path, max, err);
}

int jobdir_write(const jobdir *d, const char *name, const char *text, tern_error *err)
{
    return tern_pdir_write_file(d->fd, name, d->path, text, strlen(text), 0644, err) ? -1 : 0;
}

/* ---- job file ----------------------------------------------------------- */
int jobfile_read(const char *verb, const jobdir *d, jobfile *jf)
{
    memset(jf, 0, sizeof *jf);
    tern_error err = {0};
    char *text = jobdir_read(d, "job", JOBFILE_MAX, &err);
    if (!text && err.code == ENOENT) return -1;
    if (!text) return tern_cli_fail_err(verb, -2, &err);
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        char *eq = strchr(line, '=');
        if (!eq) continue;
        *eq = 0;
        if (!strcmp(line, "arg")) {
            sv_push(&jf->args, eq + 1);
        } else {
            sv_push(&jf->keys, line);
            sv_push(&jf->vals, eq + 1);
        }
    }
    free(text);
    return 0;
}

const char *jobfile_get(const jobfile *jf, const char *key)
{
    for (int i = 0; i < jf->keys.n; i++)
        if (!strcmp(jf->keys.v[i], key)) return jf->vals.v[i];
    return NULL;
}

void jobfile_free(jobfile *jf)
{
    sv_free(&jf->keys);
    sv_free(&jf->vals);
    sv_free(&jf->args);
}

int jobfile_local_mpirun(const jobfile *jf, pid_t *pid, unsigned long long *start)
{
    const char *h = jobfile_get(jf, "host"), *mp = jobfile_get(jf, "mpirun_pid");
    const char *st = jobfile_get(jf, "mpirun_start");
    if (!h || !mp || strcmp(h, jobs_hostname())) return 0;
    *pid = (pid_t)atol(mp);
    *start = st ? strtoull(st, NULL, 10) : 0;
    return 1;
}

int jobfile_running(const jobfile *jf)
{
    pid_t pid;
    unsigned long long start;
    if (!jobfile_local_mpirun(jf, &pid, &start)) return -1;
    return jobs_proc_running(pid, start);
}

/* ---- job directories ---------------------------------------------------- */
/* The only job directory in ./tern-ckpt into want, or -1 (error printed). */
static int only_job(const char *verb, char *want, size_t len)
{
    DIR *d = opendir("tern-ckpt");
    if (!d)
        return tern_cli_fail(verb, -1, "no job directory given and ./tern-ckpt does not exist");
    strv names = {0};
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        char p[4200];
        snprintf(p, sizeof p, "tern-ckpt/%s", e->d_name);
        if (jobs_is_dir(p)) sv_push(&names, e->d_name);
    }
    closedir(d);
    int r = 0;
    if (names.n == 1) {
        snprintf(want, len, "tern-ckpt/%s", names.v[0]);
    } else if (names.n == 0) {
        r = tern_cli_fail(verb, -1, "no job directory given and ./tern-ckpt holds none");
    } else {
        char *all = sv_join(&names, ", ");
        r = tern_cli_fail(verb, -1, "several jobs in ./tern-ckpt (%s): name one", all);
        free(all);
    }
    sv_free(&names);
    return r;
}

int jobs_resolve_dir(const char *verb, const char *arg, const char *job, jobdir *d)
{
    char want[4096];
    const char *env = getenv("TERN_DIR");
    int tern_made = 0;
    if (arg) {
        snprintf(want, sizeof want, "%s", arg);
    } else if (job) {
        snprintf(want, sizeof want, "tern-ckpt/%s", job);
        tern_made = 1;
    } else if (env && *env) {
        snprintf(want, sizeof want, "%s", env);
    } else if (only_job(verb, want, sizeof want)) {
        return -1;
    } else {
        tern_made = 1;
    }
    if (!jobs_is_dir(want))
        return tern_cli_fail(verb, -1, "no such job directory: %s", want);
    return jobdir_open(verb, want, tern_made, 0, d);
}

/* ---- what an earlier run left ---------------------------------------------- */
int jobdir_has_checkpoints(const jobdir *d)
{
    DIR *dir = tern_pdir_list(d->fd);  /* its own descriptor: d->fd stays open */
    if (!dir) return 0;
    struct dirent *e;
    int n = 0;
    while ((e = readdir(dir))) {
        size_t l = strlen(e->d_name);
        if (!strncmp(e->d_name, "ckpt-", 5) && l > 3 && !strcmp(e->d_name + l - 3, ".h5")) n++;
    }
    closedir(dir);
    return n;
}

void jobdir_clear(const jobdir *d)
{
    DIR *dir = tern_pdir_list(d->fd);  /* its own descriptor: d->fd stays open */
    if (!dir) return;
    struct dirent *e;
    while ((e = readdir(dir))) {
        const char *n = e->d_name;
        if (!strncmp(n, "ckpt-", 5) || !strcmp(n, "MANIFEST") || !strcmp(n, "events") ||
            !strncmp(n, "request.", 8) || !strcmp(n, "job"))
            unlinkat(d->fd, n, 0); /* a link goes, never what it points to */
    }
    closedir(dir);
}
