/* Checkpoint requests (request.h; docs/runtime.md is the protocol). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "request.h"
#include "util.h"

/* one line per checkpoint and start: a long job's stays far below this */
#define EVENTS_MAX (256u << 20)

/* DIR/request.ID, written whole (under a fresh name, renamed into place)
 * so that libtern never reads half of it. 0, or -1 with res filled. */
static int post(const jobdir *d, const char *what, char *name, size_t len,
                jobs_request_result *res)
{
    static int counter;
    snprintf(name, len, "request.%dx%ldx%d", (int)getpid(),
             (long)(tern_now_wall() * 1000) % 100000000, counter++);
    res->status = 2;
    char text[64];
    snprintf(text, sizeof text, "%s\n", what);
    tern_error err = {0};
    if (jobdir_write(d, name, text, &err)) {
        /* the message names the directory already (jobs_request's caller) */
        snprintf(res->reason, sizeof res->reason, "cannot write a request: %s", strerror(err.code));
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
static int unservable(const jobdir *d, char *reason, size_t len)
{
    tern_error err = {0};
    char *text = jobdir_read(d, "events", EVENTS_MAX, &err);
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

/* The answer file, when it is complete: 1 answered (res filled), 0 not
 * yet, -1 refused (a link, another owner...: res->reason is the whole
 * message). */
static int look_for_answer(const jobdir *d, const char *done, jobs_request_result *res)
{
    tern_error err = {0};
    char *text = jobdir_read(d, done, 64 << 10, &err);
    if (!text && err.code != ENOENT) {
        snprintf(res->reason, sizeof res->reason, "%s", err.msg);
        res->reason_names_path = 1;
        res->status = 2;
        return -1;
    }
    int complete = text && strchr(text, '\n');
    if (complete) read_answer(text, res);
    free(text);
    return complete;
}

int jobs_request(const jobdir *d, const jobfile *jf, const char *what, double timeout,
                 jobs_request_result *res)
{
    memset(res, 0, sizeof *res);
    if (unservable(d, res->reason, sizeof res->reason)) {
        res->status = 1;
        return res->status;
    }
    char name[256], done[300];
    if (post(d, what, name, sizeof name, res)) return res->status;
    snprintf(done, sizeof done, "%s.done", name);
    pid_t pid = 0;
    unsigned long long start = 0;
    jobfile_local_mpirun(jf, &pid, &start);
    double t0 = tern_now_wall();
    int gone_polls = 0;
    for (;;) {
        int answered = look_for_answer(d, done, res);
        if (answered) {
            unlinkat(d->fd, done, 0);
            unlinkat(d->fd, name, 0);
            return res->status;
        }
        /* one more look when the job is gone: the answer may have been
         * written just before */
        if (pid && !jobs_proc_running(pid, start) && ++gone_polls > 2) {
            unlinkat(d->fd, name, 0);
            snprintf(res->reason, sizeof res->reason,
                     "job exited before answering (mpirun pid %d is gone)", (int)pid);
            res->status = 4;
            return res->status;
        }
        if (tern_now_wall() - t0 > timeout) {
            unlinkat(d->fd, name, 0);
            snprintf(res->reason, sizeof res->reason,
                     "no answer from the job in %g s (is libtern.so loaded and the job "
                     "reaching snapshot points?)", timeout);
            res->status = 3;
            return res->status;
        }
        jobs_sleep(0.05);
    }
}
