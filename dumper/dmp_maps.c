#define _GNU_SOURCE
#include "dmp_maps.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

int dmp_maps_read(pid_t pid, dmp_mapping **out, int *n, tern_error *err)
{
    char path[64];
    if (pid)
        snprintf(path, sizeof path, "/proc/%d/maps", (int)pid);
    else
        snprintf(path, sizeof path, "/proc/self/maps");
    FILE *f = fopen(path, "re");
    if (!f)
        return tern_error_set(err, errno, "%s: %s", path, strerror(errno));
    int cap = 64, cnt = 0;
    dmp_mapping *v = malloc(cap * sizeof *v);
    char *line = NULL;
    size_t lcap = 0;
    while (v && getline(&line, &lcap, f) > 0) {
        if (cnt == cap) {
            cap *= 2;
            dmp_mapping *nv = realloc(v, cap * sizeof *v);
            if (!nv) {
                free(v);
                v = NULL;
                break;
            }
            v = nv;
        }
        dmp_mapping *m = &v[cnt];
        memset(m, 0, sizeof *m);
        char perms[8];
        int off = 0;
        if (sscanf(line, "%" SCNx64 "-%" SCNx64 " %7s %" SCNx64 " %x:%x %" SCNu64 " %n",
                   &m->start, &m->end, perms, &m->offset, &m->dev_major, &m->dev_minor,
                   &m->inode, &off) < 7) {
            tern_error_set(err, EINVAL, "%s: cannot parse line '%.100s'", path, line);
            free(line);
            free(v);
            fclose(f);
            return -1;
        }
        m->prot = (perms[0] == 'r' ? PROT_READ : 0) | (perms[1] == 'w' ? PROT_WRITE : 0) |
                  (perms[2] == 'x' ? PROT_EXEC : 0);
        m->shared = perms[3] == 's';
        char *p = line + off;
        size_t l = strcspn(p, "\n");
        p[l] = 0;
        const char *del = " (deleted)";
        if (l > strlen(del) && !strcmp(p + l - strlen(del), del)) {
            m->deleted = 1;
            p[l - strlen(del)] = 0;
        }
        snprintf(m->path, sizeof m->path, "%s", p);
        cnt++;
    }
    free(line);
    fclose(f);
    if (!v)
        return tern_error_set(err, ENOMEM, "%s: out of memory", path);
    *out = v;
    *n = cnt;
    return 0;
}
