/* requests.c: request files of `tern checkpoint` and `tern migrate` (rank 0):
 * finding them, holding them while their checkpoint is agreed and taken, and
 * answering them (request.<id>.done). Separate because it is the only part of
 * the protocol that talks to the `tern` command through files.
 */
#define _GNU_SOURCE
#include "requests.h"
#include "clock.h"
#include "config.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

unsigned file_flags;                /* rank 0: bits from request files */
static double last_scan;

/* request files consumed by rank 0 and not yet answered */
typedef struct pend_req { char id[256]; int stop; struct pend_req *next; } pend_req;
static pend_req *pend_served, *pend_riding, *pend_next; /* being served / in the agreement in flight / not yet */
static char **seen_ids;
static int nseen;

static void answer(pend_req *r, const char *text)
{
    char path[4600], tmp[4600];
    snprintf(path, sizeof path, "%s/request.%s.done", cfg_dir, r->id);
    snprintf(tmp, sizeof tmp, "%s/.tmp-done-%s", cfg_dir, r->id);
    FILE *f = fopen(tmp, "w");
    if (!f) return;
    fprintf(f, "%s\n", text);
    fclose(f);
    rename(tmp, path);
}

static int seen(const char *id)
{
    for (int i = 0; i < nseen; i++)
        if (!strcmp(seen_ids[i], id)) return 1;
    return 0;
}

/* Rank 0: look for new request files (at most every 50 ms). */
void scan_requests(void)
{
    double t = tern_now_mono();
    if (t - last_scan < 0.05) return;
    last_scan = t;
    DIR *d = opendir(cfg_dir);
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d))) {
        const char *n = e->d_name;
        size_t l = strlen(n);
        if (strncmp(n, "request.", 8) || (l > 5 && !strcmp(n + l - 5, ".done"))) continue;
        const char *id = n + 8;
        if (seen(id)) continue;
        char path[4400], donep[4400];
        snprintf(donep, sizeof donep, "%s/%s.done", cfg_dir, n);
        seen_ids = realloc(seen_ids, sizeof(char *) * (size_t)(nseen + 1));
        seen_ids[nseen++] = strdup(id);
        if (access(donep, F_OK) == 0) continue;    /* answered by an earlier run */
        snprintf(path, sizeof path, "%s/%s", cfg_dir, n);
        FILE *f = fopen(path, "r");
        if (!f) continue;
        char what[128] = "";
        if (!fgets(what, sizeof what, f)) what[0] = 0;
        fclose(f);
        what[strcspn(what, "\r\n")] = 0;
        pend_req *r = calloc(1, sizeof *r);
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
