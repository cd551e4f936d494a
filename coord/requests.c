/* requests.c: request files of `tern checkpoint` and `tern migrate` (rank 0):
 * finding them, holding them while their checkpoint is agreed and taken, and
 * answering them (request.<id>.done). Separate because it is the only part of
 * the protocol that talks to the `tern` command through files.
 */
#define _GNU_SOURCE
#include "requests.h"
#include "clock.h"
#include "private_dir.h"
#include "report.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

unsigned file_flags;                /* rank 0: bits from request files */
static double last_scan;

/* request files consumed by rank 0 and not yet answered */
typedef struct pend_req { char id[256]; int stop; struct pend_req *next; } pend_req;
static pend_req *pend_served, *pend_riding, *pend_next; /* being served / in the agreement in flight / not yet */
static char **seen_ids;
static int nseen;

/* request.<id>.done, written under a fresh name and renamed into place
 * (private_dir.h): a link of that name is replaced, never written through */
static void answer(pend_req *r, const char *text)
{
    int dfd = job_dir(0);
    if (dfd < 0) return;
    char name[300], line[4400];
    snprintf(name, sizeof name, "request.%s.done", r->id);
    int n = snprintf(line, sizeof line, "%s\n", text);
    if (n >= (int)sizeof line) n = (int)sizeof line - 1;
    tern_error err = {0};
    if (tern_pdir_write_file(dfd, name, job_dir_path(), line, (size_t)n, 0644, &err))
        say("%s", err.msg);
}

static int seen(const char *id)
{
    for (int i = 0; i < nseen; i++)
        if (!strcmp(seen_ids[i], id)) return 1;
    return 0;
}

static void remember(const char *id)
{
    char **v = realloc(seen_ids, sizeof(char *) * (size_t)(nseen + 1));
    char *c = strdup(id);
    if (!v || !c) {   /* looked at again next time */
        free(c);
        if (v) seen_ids = v;
        return;
    }
    seen_ids = v;
    seen_ids[nseen++] = c;
}

/* The first line of request file NAME in dfd into what (len bytes): 0; 1
 * when it is to be ignored: gone (withdrawn), answered by an earlier run,
 * or refused -- it, or its answer, is not a regular file of the user's
 * that no one else can write (said on stderr: a request of someone else's
 * would have the job checkpoint, or stop, for them). */
static int read_request(int dfd, const char *name, char *what, size_t len)
{
    char done[300], shown[4400];
    snprintf(done, sizeof done, "%s.done", name);
    snprintf(shown, sizeof shown, "%s/%s", job_dir_path(), done);
    tern_error err = {0};
    struct stat st;
    if (fstatat(dfd, done, &st, AT_SYMLINK_NOFOLLOW) == 0) {   /* answered by an earlier run */
        if (tern_pdir_check_stat(&st, S_IFREG, 0, shown, &err)) say("%s", err.msg);
        return 1;
    }
    int fd = tern_pdir_open_file(dfd, name, job_dir_path(), 0, &err);
    if (fd < 0) {
        if (fd != TERN_PDIR_FAILED || err.code != ENOENT) say("%s", err.msg);
        return 1;
    }
    ssize_t n = read(fd, what, len - 1);
    close(fd);
    what[n > 0 ? n : 0] = 0;
    what[strcspn(what, "\r\n")] = 0;
    return 0;
}

/* Rank 0: look for new request files (at most every 50 ms), in the job
 * directory as opened once (report.h); each is looked at once. */
void scan_requests(void)
{
    double t = tern_now_mono();
    if (t - last_scan < 0.05) return;
    last_scan = t;
    int dfd = job_dir(0);
    DIR *d = dfd >= 0 ? tern_pdir_list(dfd) : NULL;
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d))) {
        const char *n = e->d_name;
        size_t l = strlen(n);
        if (strncmp(n, "request.", 8) || (l > 5 && !strcmp(n + l - 5, ".done"))) continue;
        const char *id = n + 8;
        if (seen(id)) continue;
        remember(id);
        char what[128];
        if (read_request(dfd, n, what, sizeof what)) continue;
        pend_req *r = calloc(1, sizeof *r);
        if (!r) continue;
        snprintf(r->id, sizeof r->id, "%s", id);
        if (!strcmp(what, "checkpoint")) r->stop = 0;
        else if (!strcmp(what, "checkpoint-and-stop")) r->stop = 1;
        else {
            char msg[300];
            snprintf(msg, sizeof msg, "failed: unknown request '%.100s'", what);
            answer(r, msg);
            free(r);
            continue;
        }
        r->next = pend_next;
        pend_next = r;
        file_flags |= TRIG_CKPT | (r->stop ? TRIG_STOP : 0);
    }
    closedir(d);
}

void rescan_requests(void)
{
    last_scan = -1e9;
    scan_requests();
}

/* ---- the lists, in step with the agreement (snapshot.c) ------------------- */
void requests_board(void)
{
    pend_req **tail = &pend_riding;
    while (*tail) tail = &(*tail)->next;
    *tail = pend_next;
    pend_next = NULL;
    file_flags = 0;
}

void requests_decided(void)
{
    pend_served = pend_riding;
    pend_riding = NULL;
}

void requests_answer_served(const char *text)
{
    for (pend_req *r = pend_served; r; r = r->next) answer(r, text);
}

void requests_forget_served(void)
{
    while (pend_served) {
        pend_req *r = pend_served;
        pend_served = r->next;
        free(r);
    }
}

int requests_waiting(void)
{
    return pend_next != NULL;
}

void requests_answer_all(const char *text)
{
    for (pend_req *r = pend_served; r; r = r->next) answer(r, text);
    for (pend_req *r = pend_riding; r; r = r->next) answer(r, text);
    for (pend_req *r = pend_next; r; r = r->next) answer(r, text);
}
