/* tern_ckpt_verify: everything a restart needs, checked. Per rank: the
 * segment table's structure (tern_r_open_rank), the chunk index as a whole
 * (every row's sizes, stored bytes that never overlap, each segment's
 * stored total), every chunk's CRC, the views against the table, and in an
 * API-mode checkpoint the segments libtern reads back at restart; then
 * every global array. One report per rank; the first failure is the one
 * returned. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "reader_int.h"

/* What coord/ writes on every rank of an API-mode checkpoint and reads back
 * at restart (docs/format.md, "API-mode segments"); _tern_comm_members
 * since protocol 2. */
static const char *const api_segments[] = {"_tern_meta", "_tern_reqs", "_tern_msgs",
                                           "_tern_comms", "_tern_handles", "_tern_types"};

static const seg_rec *find_seg(const rank_tables *rt, const char *name)
{
    for (uint64_t i = 0; i < rt->nsegs; i++)
        if (!strcmp(rt->segs[i].name, name))
            return &rt->segs[i];
    return NULL;
}

static int check_api(const tern_ckpt *c, int r, const rank_tables *rt, tern_error *err)
{
    if (!c->api)
        return 0;
    size_t n = sizeof api_segments / sizeof *api_segments;
    for (size_t i = 0; i <= n; i++) {
        const char *s = i < n ? api_segments[i] : c->protocol >= 2 ? "_tern_comm_members" : NULL;
        if (s && !find_seg(rt, s))
            return tern_error_set(err, ENOENT, "%s: rank %d: segment '%s': not in checkpoint "
                                  "(an API-mode checkpoint needs it)", c->info.path, r, s);
    }
    return 0;
}

typedef struct span {
    uint32_t k;
    uint64_t off, end, chunk;
} span;

static int by_place(const void *a, const void *b)
{
    const span *x = a, *y = b;
    if (x->k != y->k)
        return x->k < y->k ? -1 : 1;
    return x->off < y->off ? -1 : x->off > y->off;
}

/* Rows of the whole index: sizes of their kind, each segment's stored
 * total, and no two chunks' stored bytes in the same place (so that the
 * work of decoding a file is bounded by its size). */
static int check_index(tern_ckpt *c, int r, const rank_tables *rt, tern_error *err)
{
    const char *p = c->info.path;
    chunk_rec *ch = rt->nindex ? malloc((size_t)rt->nindex * sizeof *ch) : NULL;
    span *sp = rt->nindex ? malloc((size_t)rt->nindex * sizeof *sp) : NULL;
    int rc = 0;
    if (rt->nindex && (!ch || !sp || tern_r_read_rows(rt->chunks, tern_h5_chunk_type(), 0,
                                                      rt->nindex, ch)))
        rc = tern_error_set(err, EIO, "%s: rank %d: chunk index unreadable", p, r);
    uint64_t ns = 0;
    for (uint64_t i = 0; rc == 0 && i < rt->nsegs; i++) {
        const seg_rec *s = &rt->segs[i];
        uint64_t stored = 0;
        for (uint64_t j = 0; rc == 0 && j < s->nchunks; j++) {
            const chunk_rec *q = &ch[s->first_chunk + j];
            if (tern_r_bad_chunk(c, q, j, s->nchunks))
                rc = tern_error_set(err, EIO, "%s: rank %d: segment '%s': chunk %" PRIu64
                                    ": bad sizes in chunk index", p, r, s->name, j);
            stored += q->stored;
            if (q->stored)
                sp[ns++] = (span){q->data, q->offset, q->offset + q->stored, s->first_chunk + j};
        }
        if (rc == 0 && stored != s->stored)
            rc = tern_error_set(err, EIO, "%s: rank %d: segment '%s': its chunks store %" PRIu64
                                " bytes, the table says %" PRIu64, p, r, s->name, stored, s->stored);
    }
    if (rc == 0 && ns)
        qsort(sp, (size_t)ns, sizeof *sp, by_place);
    for (uint64_t i = 1; rc == 0 && i < ns; i++)
        if (sp[i].k == sp[i - 1].k && sp[i].off < sp[i - 1].end)
            rc = tern_error_set(err, EIO, "%s: rank %d: chunk index rows %" PRIu64 " and %" PRIu64
                                ": stored bytes overlap in data.%u", p, r, sp[i - 1].chunk,
                                sp[i].chunk, sp[i].k);
    free(ch);
    free(sp);
    return rc;
}

/* Every view /ranks/R/view/NAME (format.md, "Views") names a segment of
 * the table: a name changed in the table shows there. */
static int check_views(tern_ckpt *c, int r, const rank_tables *rt, tern_error *err)
{
    const char *p = c->info.path;
    hid_t g;
    char why[256], name[TERN_NAME_MAX + 2];
    int rc = tern_r_open_obj(c, rt->g, "view", 0, &g, NULL, why, sizeof why);
    if (rc)
        return rc > 0 ? 0 : tern_error_set(err, EIO, "%s: rank %d: views: %s", p, r, why);
    H5G_info_t gi;
    if (H5Gget_info(g, &gi) < 0 || gi.nlinks > rt->nsegs)
        rc = tern_error_set(err, EIO, "%s: rank %d: more views than segments", p, r);
    for (hsize_t i = 0; rc == 0 && i < gi.nlinks; i++) {
        ssize_t n = H5Lget_name_by_idx(g, ".", H5_INDEX_NAME, H5_ITER_INC, i, name, sizeof name,
                                       H5P_DEFAULT);
        if (n < 0 || (size_t)n >= sizeof name - 1 || !find_seg(rt, name))
            rc = tern_error_set(err, EIO, "%s: rank %d: view '%s' has no segment of that name",
                                p, r, n < 0 ? "?" : name);
    }
    H5Gclose(g);
    return rc;
}

static int verify_rank(tern_ckpt *c, int r, tern_error *e)
{
    rank_tables rt;
    int rc = tern_r_open_rank(c, r, &rt, e);
    if (rc == 0)
        rc = check_index(c, r, &rt, e);
    for (uint64_t i = 0; rc == 0 && i < rt.nsegs; i++)
        rc = tern_r_read_segment(c, r, &rt, &rt.segs[i], NULL, NULL, NULL, e);
    if (rc == 0)
        rc = check_views(c, r, &rt, e);
    if (rc == 0)
        rc = check_api(c, r, &rt, e);
    if (rt.g >= 0)
        tern_r_close_rank(&rt);
    return rc;
}

/* Every array read in slices, every CRC piece checked on the way. */
static int verify_array(tern_ckpt *c, const char *name, tern_error *err)
{
    size_t es;
    uint64_t total;
    if (tern_r_array_info(c, name, &es, &total, NULL, err))
        return -1;
    uint64_t step = (64u << 20) / es ? (64u << 20) / es : 1;
    void *buf = malloc((size_t)(total < step ? total : step) * es + 1);
    int rc = buf ? 0 : tern_error_set(err, ENOMEM, "%s: out of memory", c->info.path);
    for (uint64_t o = 0; rc == 0 && o < total; o += step)
        rc = tern_r_read_array(c, name, o, total - o < step ? total - o : step, buf, err);
    free(buf);
    return rc;
}

static int verify_arrays(tern_ckpt *c, tern_error *err)
{
    hid_t g;
    char why[256], name[TERN_NAME_MAX + 2];
    int rc = tern_r_open_obj(c, c->file, "/arrays", 0, &g, NULL, why, sizeof why);
    if (rc)
        return rc > 0 ? 0 : tern_error_set(err, EIO, "%s: /arrays: %s", c->info.path, why);
    H5G_info_t gi;
    if (H5Gget_info(g, &gi) < 0)
        rc = tern_error_set(err, EIO, "%s: /arrays unreadable", c->info.path);
    for (hsize_t i = 0; rc == 0 && i < gi.nlinks; i++) {
        ssize_t n = H5Lget_name_by_idx(g, ".", H5_INDEX_NAME, H5_ITER_INC, i, name, sizeof name,
                                       H5P_DEFAULT);
        if (n < 0 || (size_t)n >= sizeof name - 1)
            rc = tern_error_set(err, EIO, "%s: /arrays unreadable", c->info.path);
        else
            rc = verify_array(c, name, err);
    }
    H5Gclose(g);
    return rc;
}

static int tern_ckpt_verify_impl(tern_ckpt *c, tern_verify_report_fn report, void *ctx, tern_error *err)
{
    tern_error scratch;
    if (!err)
        err = &scratch;
    tern_error_clear(err);
    int bad = 0;
    tern_error first = {0};
    for (int r = 0; r < c->info.nranks; r++) {
        tern_error e = {0};
        int rc = verify_rank(c, r, &e);
        if (report)
            report(ctx, r, rc == 0, rc == 0 ? "" : e.msg);
        if (rc && !bad) {
            bad = 1;
            first = e;
        }
    }
    tern_error ea = {0};
    if (verify_arrays(c, &ea)) {
        if (report)
            report(ctx, -1, 0, ea.msg);
        if (!bad) {
            bad = 1;
            first = ea;
        }
    }
    if (bad) {
        *err = first;
        return -1;
    }
    return 0;
}

int tern_ckpt_verify(tern_ckpt *c, tern_verify_report_fn report, void *ctx, tern_error *err)
{
    tern_h5_mute_t m = tern_h5_mute();
    return tern_h5_reader_done(m, tern_ckpt_verify_impl(c, report, ctx, err));
}
