/* A job directory: finding it, its job file, what an earlier run left in it
 * (jobdir.h). */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "jobdir.h"

/* ---- job file ----------------------------------------------------------- */
int jobfile_read(const char *dir, jobfile *jf)
{
    memset(jf, 0, sizeof *jf);
    char path[4200];
    snprintf(path, sizeof path, "%s/job", dir);
    char *text = jobs_read_file(path);
    if (!text) return -1;
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

int jobfile_local_mpirun(const jobfile *jf, pid_t *pid)
{
    const char *h = jobfile_get(jf, "host"), *mp = jobfile_get(jf, "mpirun_pid");
    if (!h || !mp || strcmp(h, jobs_hostname())) return 0;
    *pid = (pid_t)atol(mp);
    return 1;
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

int jobs_resolve_dir(const char *verb, const char *arg, const char *job,
                     char *out, size_t len)
{
    char want[4096];
    const char *env = getenv("TERN_DIR");
    if (arg) {
        snprintf(want, sizeof want, "%s", arg);
    } else if (job) {
        snprintf(want, sizeof want, "tern-ckpt/%s", job);
    } else if (env && *env) {
        snprintf(want, sizeof want, "%s", env);
    } else if (only_job(verb, want, sizeof want)) {
        return -1;
    }
    if (!jobs_is_dir(want))
        return tern_cli_fail(verb, -1, "no such job directory: %s", want);
    if (!realpath(want, out) || strlen(out) >= len)
        return tern_cli_fail(verb, -1, "%s: %s", want, strerror(errno));
    return 0;
}

/* ---- what an earlier run left ---------------------------------------------- */
int jobdir_has_checkpoints(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) return 0;
    struct dirent *e;
    int n = 0;
    while ((e = readdir(d))) {
        size_t l = strlen(e->d_name);
        if (!strncmp(e->d_name, "ckpt-", 5) && l > 3 && !strcmp(e->d_name + l - 3, ".h5")) n++;
    }
    closedir(d);
    return n;
}

void jobdir_clear(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d))) {
        const char *n = e->d_name;
        if (!strncmp(n, "ckpt-", 5) || !strcmp(n, "MANIFEST") || !strcmp(n, "events") ||
            !strncmp(n, "request.", 8) || !strcmp(n, "job")) {
            char p[4400];
            snprintf(p, sizeof p, "%s/%s", dir, n);
            unlink(p);
        }
    }
    closedir(d);
}
