/* dmp_image: a dmp_state as store segments, and back.
 *
 * A process image is two segments of one rank in a tern checkpoint:
 *   PREFIX.meta   header, regions, runs, threads (with XSAVE), fds,
 *                 vdso layout, pending siginfos; fixed records, see dmp_state.h
 *   PREFIX.pages  the dumped pages, region after region, run after run
 * so a process image can also sit inside a bigger (MPI) checkpoint beside
 * other ranks' images. The standalone `tern dump` uses rank 0, prefix
 * "dumper".
 */
#ifndef TERN_DUMPER_IMAGE_H
#define TERN_DUMPER_IMAGE_H

#include "dmp_state.h"
#include "error.h"
#include "tern_store.h"

/* Adds both segments to w. *meta_buf must stay alive until commit, then
 * be freed by the caller; fill/ctx supply the pages at commit. */
int dmp_image_put(tern_ckpt_writer *w, const char *prefix, const dmp_state *s,
                  tern_fill_fn fill, void *ctx, void **meta_buf, tern_error *err);

/* Reads and checks PREFIX.meta of rank into s (free with dmp_state_free). */
int dmp_image_load(tern_ckpt *c, int rank, const char *prefix, dmp_state *s,
                   tern_error *err);

/* Streams PREFIX.pages to sink. */
int dmp_image_pages(tern_ckpt *c, int rank, const char *prefix, tern_sink_fn sink,
                    void *ctx, tern_error *err);

#endif
