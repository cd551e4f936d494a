/* Where the ranks of a restarted job go (placement.h). */
#include <errno.h>
#include <hwloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "placement.h"

/* ---- cores, from hwloc topologies ----------------------------------------- */
static int count_cores(hwloc_topology_t t)
{
    int n = hwloc_get_nbobjs_by_type(t, HWLOC_OBJ_CORE);
    if (n <= 0) n = hwloc_get_nbobjs_by_type(t, HWLOC_OBJ_PU);
    return n > 0 ? n : -1;
}

/* the cores of a topology stored in a checkpoint; -1 when unreadable */
static int cores_of_xml(const char *xml)
{
    if (!xml || !*xml) return -1;
    hwloc_topology_t t;
    if (hwloc_topology_init(&t)) return -1;
    int n = -1;
    if (hwloc_topology_set_xmlbuffer(t, xml, (int)strlen(xml) + 1) == 0 &&
        hwloc_topology_load(t) == 0)
        n = count_cores(t);
    hwloc_topology_destroy(t);
    return n;
}

static int local_cores(void)
{
    hwloc_topology_t t;
    if (hwloc_topology_init(&t)) return -1;
    int n = -1;
    if (hwloc_topology_load(t) == 0) n = count_cores(t);
    hwloc_topology_destroy(t);
    return n;
}

/* ---- the hosts ----------------------------------------------------------------- */
static int find_host(const jobs_placement *p, const char *name)
{
    for (int i = 0; i < p->nhosts; i++)
        if (!strcmp(p->hosts[i].name, name)) return i;
    return -1;
}

static void add_host(jobs_placement *p, const char *name, int slots)
{
    p->hosts = realloc(p->hosts, (size_t)(p->nhosts + 1) * sizeof *p->hosts);
    jobs_host *h = &p->hosts[p->nhosts++];
    memset(h, 0, sizeof *h);
    snprintf(h->name, sizeof h->name, "%s", name);
    h->slots = slots;
    h->cores = -1;
}

/* 'host [slots=N]' lines; a host named twice counts once */
static int read_hostfile(const char *verb, const char *path, jobs_placement *p)
{
    FILE *f = fopen(path, "r");
    if (!f) return tern_cli_fail(verb, -1, "%s: %s", path, strerror(errno));
    char line[1024];
    while (fgets(line, sizeof line, f)) {
        char *s = line + strspn(line, " \t");
        s[strcspn(s, "#\n")] = 0;
        if (!*s) continue;
        char name[256];
        size_t k = strcspn(s, " \t");
        snprintf(name, sizeof name, "%.*s", (int)k, s);
        int slots = -1;
        char *sl = strstr(s + k, "slots=");
        if (sl && (sl == s + k || sl[-1] == ' ' || sl[-1] == '\t')) slots = atoi(sl + 6);
        if (find_host(p, name) < 0) add_host(p, name, slots);
    }
    fclose(f);
    if (!p->nhosts) return tern_cli_fail(verb, -1, "%s: no hosts in it", path);
    return 0;
}

/* The hostfile's hosts or the job's, less the excluded ones. */
static int choose_hosts(const char *verb, const tern_ckpt_info *info, const char *hostfile,
                        const strv *exclude, jobs_placement *p)
{
    if (hostfile) {
        if (read_hostfile(verb, hostfile, p)) return -1;
    } else {
        for (int i = 0; i < info->nnodes; i++) add_host(p, info->nodes[i].host, -1);
    }
    strv used = {0};
    for (int i = 0; i < info->nnodes; i++) sv_push(&used, info->nodes[i].host);
    int rc = 0;
    for (int e = 0; e < exclude->n && !rc; e++) {
        const char *x = exclude->v[e];
        int k = find_host(p, x);
        if (k < 0 && !sv_has(&used, x)) {
            char *all = sv_join(&used, ", ");
            rc = tern_cli_fail(verb, -1, "host %s in --exclude was not used by the job (it ran on %s)",
                               x, all);
            free(all);
        } else if (k >= 0) {
            memmove(&p->hosts[k], &p->hosts[k + 1], (size_t)(p->nhosts - k - 1) * sizeof *p->hosts);
            p->nhosts--;
        }
    }
    sv_free(&used);
    if (!rc && p->nhosts == 0)
        rc = tern_cli_fail(verb, -1, "no host left to restart on (all are excluded)");
    return rc;
}

/* Each host's cores and capacity; refuses when the hosts cannot hold the
 * ranks and mpirun may not oversubscribe. */
static int count_room(const char *verb, const tern_ckpt_info *info, int oversubscribe,
                      jobs_placement *p)
{
    int here = -2; /* this machine's cores, counted when needed */
    long total = 0;
    for (int i = 0; i < p->nhosts; i++) {
        jobs_host *h = &p->hosts[i];
        for (int k = 0; k < info->nnodes; k++)
            if (!strcmp(info->nodes[k].host, h->name))
                h->cores = cores_of_xml(info->nodes[k].topology_xml);
        if (h->cores < 0 && !strcmp(h->name, jobs_hostname())) {
            if (here == -2) here = local_cores();
            h->cores = here;
        }
        h->cap = h->slots >= 0 ? h->slots : h->cores;
        if (h->cap < 0)
            return tern_cli_fail(verb, -1, "cannot tell how many ranks %s can hold: give 'slots=N' for it in the hostfile",
                                 h->name);
        total += h->cap;
    }
    if (total >= info->nranks || oversubscribe) return 0;
    char list[4096] = "";
    for (int i = 0; i < p->nhosts; i++) {
        char one[400];
        snprintf(one, sizeof one, "%s%s: %d", i ? ", " : "", p->hosts[i].name, p->hosts[i].cap);
        strncat(list, one, sizeof list - strlen(list) - 1);
    }
    return tern_cli_fail(verb, -1,
        "cannot place %d ranks: the hosts hold %ld (%s); add hosts with --hostfile, or pass --oversubscribe to mpirun",
        info->nranks, total, list);
}

/* ---- the ranks ------------------------------------------------------------------- */
static void place_ranks(const tern_ckpt_info *info, jobs_placement *p)
{
    int nranks = info->nranks;
    p->where = malloc(sizeof(int) * (size_t)(nranks > 0 ? nranks : 1));
    for (int r = 0; r < nranks; r++) p->where[r] = -1;
    for (int k = 0; k < info->nnodes; k++) { /* where they ran, while there is room */
        int h = find_host(p, info->nodes[k].host);
        if (h < 0) continue;
        for (int j = 0; j < info->nodes[k].nranks; j++) {
            int r = info->nodes[k].ranks[j];
            if (r >= 0 && r < nranks && p->where[r] < 0 && p->hosts[h].load < p->hosts[h].cap) {
                p->where[r] = h;
                p->hosts[h].load++;
            }
        }
    }
    for (int r = 0; r < nranks; r++) {
        if (p->where[r] >= 0) continue;
        int best = -1;
        double bestv = 0;
        for (int h = 0; h < p->nhosts; h++) {
            const jobs_host *x = &p->hosts[h];
            /* room left, or (oversubscribing) the smallest load per core */
            double v = x->load < x->cap ? 1e9 + x->cap - x->load
                       : -(double)(x->load + 1) / (x->cap > 0 ? x->cap : 1);
            if (best < 0 || v > bestv) best = h, bestv = v;
        }
        p->where[r] = best;
        p->hosts[best].load++;
    }
}

int jobs_place(const char *verb, const tern_ckpt_info *info, const char *hostfile,
               const strv *exclude, int oversubscribe, jobs_placement *p)
{
    memset(p, 0, sizeof *p);
    if (choose_hosts(verb, info, hostfile, exclude, p) ||
        count_room(verb, info, oversubscribe, p))
        return -1;
    place_ranks(info, p);
    return 0;
}

char *jobs_rankfile(const tern_ckpt_info *info, jobs_placement *p)
{
    /* A host the job never ran on has no topology in the checkpoint: assume
     * it is like the smallest node the job ran on (a slot number past its
     * cores would make mpirun fail). */
    int guess = -1;
    for (int k = 0; k < info->nnodes; k++) {
        int cc = cores_of_xml(info->nodes[k].topology_xml);
        if (cc > 0 && (guess < 0 || cc < guess)) guess = cc;
    }
    if (guess < 0) guess = local_cores();
    if (guess < 1) guess = 1;
    strv lines = {0};
    int *idx = calloc((size_t)p->nhosts, sizeof(int));
    for (int r = 0; r < info->nranks; r++) {
        jobs_host *h = &p->hosts[p->where[r]];
        int cores = h->cores > 0 ? h->cores : (h->cap > 0 && h->cap < guess ? h->cap : guess);
        sv_pushf(&lines, "rank %d=%s slot=%d", r, h->name, idx[p->where[r]]++ % cores);
        sv_pushf(&h->ranks, "%d", r);
    }
    free(idx);
    char *text = sv_lines(&lines);
    sv_free(&lines);
    return text;
}

void jobs_placement_hosts(const jobs_placement *p, char *buf, size_t len)
{
    buf[0] = 0;
    for (int h = 0; h < p->nhosts; h++) {
        if (!p->hosts[h].load) continue;
        if (buf[0]) strncat(buf, ",", len - strlen(buf) - 1);
        strncat(buf, p->hosts[h].name, len - strlen(buf) - 1);
    }
}

void jobs_placement_free(jobs_placement *p)
{
    for (int h = 0; h < p->nhosts; h++) sv_free(&p->hosts[h].ranks);
    free(p->hosts);
    free(p->where);
    memset(p, 0, sizeof *p);
}
