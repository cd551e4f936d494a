/* dmp_maps: /proc/PID/maps as a list of mappings, nothing more.
 * Classification (what to dump, what to refuse) is the caller's job. */
#ifndef TERN_DUMPER_MAPS_H
#define TERN_DUMPER_MAPS_H

#include <stdint.h>
#include <sys/types.h>

#include "error.h"

typedef struct dmp_mapping {
    uint64_t start, end, offset, inode;
    unsigned dev_major, dev_minor;
    int prot;            /* PROT_* */
    int shared;          /* 's' */
    int deleted;         /* path ended in " (deleted)" (suffix removed) */
    char path[512];      /* "" for anonymous; "[heap]", "[vdso]", ... kept */
} dmp_mapping;

/* pid 0 = self. *out is malloc'ed. Errors name /proc/PID/maps. */
int dmp_maps_read(pid_t pid, dmp_mapping **out, int *n, tern_error *err);

#endif
