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
    return tern_dump_capture_opts(pid, NULL, out, info, err);
}

int tern_dump_capture_opts(pid_t pid, const tern_dump_opts *opts, tern_dump **out,
                           tern_dump_info *info, tern_error *err)
{
    *out = NULL;
    if (opts && opts->n_ext < 0)
        return tern_error_set(err, EINVAL, "pid %d: %d external regions", (int)pid,
                              opts->n_ext);
    dmp_ext ext = {opts ? opts->ext_addr : NULL, opts ? opts->n_ext : 0};
    tern_dump *d = calloc(1, sizeof *d);
    if (!d)
        return tern_error_set(err, ENOMEM, "out of memory");
    d->p.memfd = -1;
    if (dmp_capture(pid, &ext, &d->s, &d->p, err)) {
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

int tern_dump_put_sink(tern_dump *d, const tern_dump_sink *s, const char *prefix,
                       tern_error *err)
{
    const dmp_sink k = {s->w, s->put, s->put_fn};
    d->mc = (dmp_mem_ctx){&d->p, &d->s, 0, 0, 0};
    return dmp_image_put_sink(&k, prefix, &d->s, dmp_mem_fill, &d->mc, &d->meta, err);
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
    return tern_restore_check_opts(c, rank, prefix, NULL, err);
}

/* The caller's options as dmp_restore.c takes them. */
static dmp_ext_fds ext_fds(const struct tern_restore_opts *o)
{
    return (dmp_ext_fds){o && o->n_ext > 0 ? o->ext_fd : NULL, o && o->n_ext > 0 ? o->n_ext : 0,
                         o ? o->stdio_inherit : 0};
}

int tern_restore_check_opts(tern_ckpt *c, int rank, const char *prefix,
                            const struct tern_restore_opts *o, tern_error *err)
{
    dmp_state s;
    dmp_ext_fds ext = ext_fds(o);
    if (dmp_restore_trusted(c, err) || dmp_image_load(c, rank, prefix, &s, err))
        return -1;
    /* the metadata checks first (cheap, and what usually fails), then every
     * page chunk's CRC, as the restore itself would read them */
    int rc = dmp_restore_check_ext(&s, rank, &ext, err);
    if (!rc)
        rc = dmp_image_verify_pages(c, rank, prefix, &s, err);
    dmp_state_free(&s);
    return rc;
}

int tern_restore(tern_ckpt *c, int rank, const char *prefix, tern_error *err)
{
    return tern_restore_opts(c, rank, prefix, NULL, err);
}

int tern_restore_opts(tern_ckpt *c, int rank, const char *prefix,
                      const struct tern_restore_opts *o, tern_error *err)
{
    dmp_ext_fds ext = ext_fds(o);
    return dmp_restore(c, rank, prefix, &ext, err);
}
