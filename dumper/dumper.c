/* dumper.h's facade over capture (dmp_capture.h), the page source
 * (dmp_mem.h), the image layout (dmp_image.h) and restore (dmp_restore.h). */
#define _GNU_SOURCE
#include "dumper.h"

#include <errno.h>
#include <stdlib.h>

#include "dmp_capture.h"
#include "dmp_image.h"
#include "dmp_mem.h"
#include "dmp_restore.h"

struct tern_dump {
    dmp_state s;
    dmp_proc p;
    dmp_mem_ctx mc;   /* the writer's page source, until commit */
    void *meta;       /* PREFIX.meta's bytes, which the writer reads at commit */
};

int tern_dump_capture(pid_t pid, tern_dump **out, tern_dump_info *info, tern_error *err)
{
    *out = NULL;
    tern_dump *d = calloc(1, sizeof *d);
    if (!d)
        return tern_error_set(err, ENOMEM, "out of memory");
    d->p.memfd = -1;
    if (dmp_capture(pid, &d->s, &d->p, err)) {
        tern_dump_release(d, 0, NULL);
        return -1;
    }
    if (info) {
        info->nthreads = d->s.h.nthreads;
        info->nregions = d->s.h.nregions;
        info->data_bytes = d->s.h.data_bytes;
    }
    *out = d;
    return 0;
}

int tern_dump_put(tern_dump *d, tern_ckpt_writer *w, const char *prefix, tern_error *err)
{
    d->mc = (dmp_mem_ctx){&d->p, &d->s, 0, 0, 0};
    return dmp_image_put(w, prefix, &d->s, dmp_mem_fill, &d->mc, &d->meta, err);
}

int tern_dump_release(tern_dump *d, int kill_it, tern_error *err)
{
    if (!d)
        return 0;
    int rc = dmp_proc_release(&d->p, kill_it, err);
    dmp_state_free(&d->s);
    free(d->meta);
    free(d);
    return rc;
}

int tern_restore_check(tern_ckpt *c, int rank, const char *prefix, tern_error *err)
{
    dmp_state s;
    if (dmp_restore_trusted(c, err) || dmp_image_load(c, rank, prefix, &s, err))
        return -1;
    int rc = dmp_restore_check(&s, rank, err);
    dmp_state_free(&s);
    return rc;
}

int tern_restore(tern_ckpt *c, int rank, const char *prefix, tern_error *err)
{
    return dmp_restore(c, rank, prefix, err);
}
