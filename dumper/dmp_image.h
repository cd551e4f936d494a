/* dmp_image: a dmp_state as store segments, and back.
 *
 * A process image is a set of segments of one rank in a tern checkpoint:
 *   PREFIX.meta       header, regions, runs, threads (with XSAVE), fds,
 *                     vdso layout, pending siginfos; fixed records, see dmp_state.h
 *   PREFIX.pages.<i>  the dumped pages of region i, run after run (only
 *                     regions with dumped pages have one)
 * so a process image can also sit inside a bigger (MPI) checkpoint beside
 * other ranks' images. The standalone `tern dump` uses rank 0, prefix
 * "dumper".
 */
#ifndef TERN_DUMPER_IMAGE_H
#define TERN_DUMPER_IMAGE_H

#include "dmp_state.h"
#include "error.h"
#include "tern_store.h"

/* Adds the segments to w. fill/ctx supply the pages at commit, addressed
 * by their offset in the concatenation of all regions' data (region.data_off
 * + offset within the region). *keep must stay alive until commit, then
 * be freed by the caller (also on failure). */
int dmp_image_put(tern_ckpt_writer *w, const char *prefix, const dmp_state *s,
                  tern_fill_fn fill, void *ctx, void **keep, tern_error *err);

/* A writer reached through functions that act as tern_ckpt_put and
 * tern_ckpt_put_fn on w (dumper.h's tern_dump_sink: a store the caller
 * cannot call directly). */
typedef struct dmp_sink {
    void *w;
    int (*put)(void *w, const char *name, const void *buf, size_t len, tern_error *err);
    int (*put_fn)(void *w, const char *name, uint64_t len, tern_fill_fn fill, void *ctx,
                  tern_error *err);
} dmp_sink;

/* dmp_image_put through a sink. */
int dmp_image_put_sink(const dmp_sink *k, const char *prefix, const dmp_state *s,
                       tern_fill_fn fill, void *ctx, void **keep, tern_error *err);

/* Reads and checks PREFIX.meta of rank into s (free with dmp_state_free). */
int dmp_image_load(tern_ckpt *c, int rank, const char *prefix, dmp_state *s,
                   tern_error *err);

/* Streams region ri's pages to sink, with offsets as in dmp_image_put. */
int dmp_image_region_pages(tern_ckpt *c, int rank, const char *prefix, const dmp_state *s,
                           uint32_t ri, tern_sink_fn sink, void *ctx, tern_error *err);

/* Reads region ri's pages, all data_pages of them, into dst in one piece
 * (the store decodes straight into it). */
int dmp_image_region_read(tern_ckpt *c, int rank, const char *prefix, const dmp_state *s,
                          uint32_t ri, void *dst, tern_error *err);

/* Region ri's pages as file extents (tern_ckpt_extents, offsets relative
 * to the region's segment); every chunk is CRC-checked, those that cannot
 * be mapped from the file are decoded and go to sink, with offsets as in
 * dmp_image_put. */
int dmp_image_region_extents(tern_ckpt *c, int rank, const char *prefix, const dmp_state *s,
                             uint32_t ri, tern_sink_fn sink, void *ctx, tern_extent **ext,
                             uint64_t *next, tern_error *err);

/* Every chunk of every PREFIX.pages.<i> read and its CRC checked, as a
 * restore would, keeping nothing (tern restore --check). Errors are the
 * store's: file, rank, segment, chunk. */
int dmp_image_verify_pages(tern_ckpt *c, int rank, const char *prefix, const dmp_state *s,
                           tern_error *err);

/* All regions' pages to sink, region after region. */
int dmp_image_pages(tern_ckpt *c, int rank, const char *prefix, const dmp_state *s,
                    tern_sink_fn sink, void *ctx, tern_error *err);

#endif
