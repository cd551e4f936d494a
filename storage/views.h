/* Views: h5dump-readable copies-by-reference of segments.
 *
 * Chunk data lives in tern's own encoding (format.md), so a plain h5dump of
 * data.K shows encoded bytes. For every segment made only of RAW and ZERO
 * chunks, with at most TERN_VIEW_MAX_MAPS runs, each checkpoint also gets a
 * virtual dataset /ranks/RRRRRR/view/NAME (uint8[size], fill value 0) that
 * maps the segment's logical bytes onto the RAW runs in data.K: stock
 * h5dump then prints the real bytes, zero chunks included. Views cost only
 * metadata and are never read by tern itself.
 */
#ifndef TERN_STORAGE_VIEWS_H
#define TERN_STORAGE_VIEWS_H

#include "writer_int.h"

#define TERN_VIEW_MAX_MAPS 64

/* This rank's view descriptions, packed for an allgather (malloc'ed);
 * called before phase 4's exchange, which carries a failure here. */
int tern_views_pack(const tern_ckpt_writer *w, void **blob, uint64_t *len);

/* Collective: exchanges the descriptions (lens = every rank's blob length,
 * already known to all) and creates every rank's views. Every rank takes
 * the same steps whatever fails where: the counts of the exchange were
 * allocated in tern_ckpt_begin, and its receive buffer (sized by lens) is
 * allocated before it, followed by an agreement on whether every rank has
 * it; when one has not (or the descriptions pass 1 GiB), no rank creates
 * views, and the checkpoint goes on without them. Test hook: "views"
 * (tern_w_injected) makes that allocation fail. */
int tern_views_create(tern_ckpt_writer *w, const void *mine, const uint64_t *lens,
                      tern_error *err);

#endif
