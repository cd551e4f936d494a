/* Checkpoint requests (request.h; docs/runtime.md is the protocol). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "request.h"
#include "util.h"

/* DIR/request.ID, written whole (a temporary file renamed into place) so
 * that libtern never reads half of it. 0, or -1 with res filled. */
static int post(const char *dir, const char *what, char *path, size_t plen, char *done,
                size_t dlen, jobs_request_result *res)
{
    static int counter;
    char id[64], tmp[4300];
    snprintf(id, sizeof id, "%dx%ldx%d", (int)getpid(), (long)(tern_now_wall() * 1000) % 100000000,
             counter++);
    snprintf(tmp, sizeof tmp, "%s/.tmp-request-%s", dir, id);
    snprintf(path, plen, "%s/request.%s", dir, id);
    snprintf(done, dlen, "%s/request.%s.done", dir, id);
    res->status = 2;
    FILE *f = fopen(tmp, "w");
    if (!f) {
        snprintf(res->reason, sizeof res->reason, "%s: cannot write a request: %s", dir,
                 strerror(errno));
        return -1;
    }
    fprintf(f, "%s\n", what);
    fclose(f);
    if (rename(tmp, path)) {
        snprintf(res->reason, sizeof res->reason, "%.900s: %s", path, strerror(errno));
        unlink(tmp);
        return -1;
    }
    return 0;
}

/* The answer line: "committed EPOCH PATH" or "failed: REASON". */
static void read_answer(char *text, jobs_request_result *res)
{
    text[strcspn(text, "\n")] = 0;
    if (!strncmp(text, "committed ", 10)) {
        char *p = text + 10;
        res->epoch = strtoull(p, &p, 10);
        while (*p == ' ') p++;
        snprintf(res->path, sizeof res->path, "%s", p);
        res->status = 0;
    } else {
        const char *r = text;
        if (!strncmp(r, "failed:", 7)) r += 7;
        while (*r == ' ') r++;
        snprintf(res->reason, sizeof res->reason, "%s", r);
        res->status = 1;
    }
}

/* The job said at MPI_Init that it can never serve a request (an event
 * "no_snapshot_points reason=..." after the run's last start): 1 with the
 * reason, so that the request is answered at once, not after the timeout. */
static int unservable(const char *dir, char *reason, size_t len)
{
    char p[4300];
    snprintf(p, sizeof p, "%s/events", dir);
    char *text = jobs_read_file(p);
    if (!text) return 0;
    int found = 0;
    for (char *line = text, *next; line && *line; line = next) {
        next = strchr(line, '\n');
        if (next) *next++ = 0;
        if (!strncmp(line, "started ", 8) || !strncmp(line, "restarted ", 10))
            found = 0;   /* a new run: what an earlier one said is void */
        else if (!strncmp(line, "no_snapshot_points ", 19)) {
            const char *r = strstr(line, "reason=");
            snprintf(reason, len, "%s", r ? r + 7 : "the application has no snapshot points");
            found = 1;
        }
    }
    free(text);
    return found;
}

int jobs_request(const char *dir, const jobfile *jf, const char *what, double timeout,
                 jobs_request_result *res)
{
    memset(res, 0, sizeof *res);
    if (unservable(dir, res->reason, sizeof res->reason)) {
        res->status = 1;
        return res->status;
    }
    char path[4300], done[4300];
    if (post(dir, what, path, sizeof path, done, sizeof done, res)) return res->status;
    pid_t pid = 0;
    jobfile_local_mpirun(jf, &pid);
    double t0 = tern_now_wall();
    int gone_polls = 0;
    for (;;) {
        char *text = jobs_read_file(done);
        if (text && strchr(text, '\n')) {
            unlink(done);
            unlink(path);
            read_answer(text, res);
            free(text);
            return res->status;
        }
        free(text);
        /* one more look when the job is gone: the answer may have been
         * written just before */
        if (pid && !jobs_pid_alive(pid) && ++gone_polls > 2) {
            unlink(path);
            snprintf(res->reason, sizeof res->reason,
                     "job exited before answering (mpirun pid %d is gone)", (int)pid);
            res->status = 4;
            return res->status;
        }
        if (tern_now_wall() - t0 > timeout) {
            unlink(path);
            snprintf(res->reason, sizeof res->reason,
                     "no answer from the job in %g s (is libtern.so loaded and the job "
                     "reaching snapshot points?)", timeout);
            res->status = 3;
            return res->status;
        }
        jobs_sleep(0.05);
    }
}
