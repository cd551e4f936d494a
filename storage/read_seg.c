/* A rank's segment table and chunk index, checked as a whole before any
 * chunk is read, and the one chunk decoder: stored bytes read from data.K,
 * decoded, CRC-checked. Every error names the file, the rank and, where it
 * applies, the segment and the chunk. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reader_int.h"

/* ---- the segment table ------------------------------------------------- */

static int by_name(const void *a, const void *b)
{
    return strcmp((*(const seg_rec *const *)a)->name, (*(const seg_rec *const *)b)->name);
}

/* Each name once (the writer refuses duplicates; a reader would pick one). */
static int check_unique(const tern_ckpt *c, int rank, const rank_tables *rt, tern_error *err)
{
    if (rt->nsegs < 2)
        return 0;
    const seg_rec **v = malloc((size_t)rt->nsegs * sizeof *v);
    if (!v)
        return tern_error_set(err, ENOMEM, "%s: rank %d: out of memory", c->info.path, rank);
    for (uint64_t i = 0; i < rt->nsegs; i++)
        v[i] = &rt->segs[i];
    qsort(v, (size_t)rt->nsegs, sizeof *v, by_name);
    int rc = 0;
    for (uint64_t i = 1; i < rt->nsegs && !rc; i++)
        if (!strcmp(v[i - 1]->name, v[i]->name))
            rc = tern_error_set(err, EIO, "%s: rank %d: segment '%s': twice in the segment table",
                                c->info.path, rank, v[i]->name);
    free(v);
    return rc;
}

/* Names, chunk ranges tiling the index in order, chunk counts that fit the
 * sizes: what the writer makes (format.md, seg_rec). */
static int check_segments(const tern_ckpt *c, int rank, const rank_tables *rt, tern_error *err)
{
    const char *p = c->info.path;
    uint64_t next = 0, cb = c->chunk_bytes;
    for (uint64_t i = 0; i < rt->nsegs; i++) {
        const seg_rec *s = &rt->segs[i];
        if (!tern_name_ok(s->name, sizeof s->name))
            return tern_error_set(err, EIO, "%s: rank %d: segment table: entry %" PRIu64
                                  ": bad name", p, rank, i);
        uint64_t want = s->size / cb + (s->size % cb != 0);
        if (s->nchunks != want)
            return tern_error_set(err, EIO, "%s: rank %d: segment '%s': %" PRIu64 " chunks for %"
                                  PRIu64 " bytes (chunk_bytes %" PRIu64 ")", p, rank, s->name,
                                  s->nchunks, s->size, cb);
        if (s->first_chunk != next)
            return tern_error_set(err, EIO, "%s: rank %d: segment '%s': its chunks start at %"
                                  PRIu64 ", the previous segment's end at %" PRIu64, p, rank,
                                  s->name, s->first_chunk, next);
        if (tern_r_add(next, s->nchunks, &next) || next > rt->nindex)
            return tern_error_set(err, EIO, "%s: rank %d: segment '%s': chunk index out of range",
                                  p, rank, s->name);
    }
    if (next != rt->nindex)
        return tern_error_set(err, EIO, "%s: rank %d: chunk index has %" PRIu64 " rows, the "
                              "segments use %" PRIu64, p, rank, rt->nindex, next);
    return check_unique(c, rank, rt, err);
}

void tern_r_close_rank(rank_tables *rt)
{
    if (rt->chunks >= 0)
        H5Dclose(rt->chunks);
    if (rt->g >= 0)
        H5Gclose(rt->g);
    free(rt->segs);
    rt->g = rt->chunks = -1;
    rt->segs = NULL;
}

/* The segment table's bytes against its CRC (format 1.2, layout.h): the
 * structural checks below cannot see a flipped byte of a name or of a
 * count that still adds up, and a restart would then miss a segment or
 * read another. A file of minor 2 or later must carry the CRC; one of an
 * older minor is read without it. */
static int check_table_crc(const tern_ckpt *c, int rank, hid_t d, const rank_tables *rt,
                           tern_error *err)
{
    const char *p = c->info.path;
    uint32_t want;
    htri_t has = H5Aexists(d, TERN_SEG_CRC_ATTR);   /* the header was checked */
    if (has == 0 && c->minor < TERN_FORMAT_MINOR_SEG_CRC)
        return 0;
    if (has == 0)
        return tern_error_set(err, EIO, "%s: rank %d: segment table: no CRC (format 1.%d "
                              "writes one)", p, rank, c->minor);
    if (has < 0 || tern_attr_get_u32(d, TERN_SEG_CRC_ATTR, &want))
        return tern_error_set(err, EIO, "%s: rank %d: segment table: CRC unreadable", p, rank);
    /* nsegs rows were read: their bytes lie in memory, inside the file's size */
    uint32_t got = tern_crc32(rt->segs, (size_t)rt->nsegs * sizeof *rt->segs);
    if (got != want)
        return tern_error_set(err, EIO, "%s: rank %d: segment table: CRC mismatch (stored "
                              "%08x, computed %08x)", p, rank, want, got);
    return 0;
}

/* The group, its segment table (CRC checked) and its chunk index, opened
 * and read. */
static int open_tables(tern_ckpt *c, int rank, rank_tables *rt, tern_error *err)
{
    const char *p = c->info.path;
    char grp[64], why[256];
    tern_rank_group(rank, grp, sizeof grp);
    int rc = H5Lexists(c->file, "/ranks", H5P_DEFAULT) <= 0
                 ? 1 : tern_r_open_obj(c, c->file, grp, 0, &rt->g, NULL, why, sizeof why);
    if (rc)
        return rc > 0 ? tern_error_set(err, ENOENT, "%s: rank %d: missing from checkpoint", p, rank)
                      : tern_error_set(err, EIO, "%s: rank %d: its group: %s", p, rank, why);
    hid_t ds;
    rc = tern_r_read_table(c, rt->g, "segments", tern_h5_seg_type(), sizeof(seg_rec),
                           (void **)&rt->segs, &rt->nsegs, &ds, why, sizeof why);
    if (rc)
        return rc > 0 ? tern_error_set(err, EIO, "%s: rank %d: segment table unreadable", p, rank)
                      : tern_error_set(err, EIO, "%s: rank %d: segment table: %s", p, rank, why);
    rc = check_table_crc(c, rank, ds, rt, err);
    H5Dclose(ds);
    if (rc)
        return -1;
    rc = tern_r_open_1d(c, rt->g, "chunks", tern_h5_chunk_type(), &rt->chunks, &rt->nindex,
                        NULL, why, sizeof why);
    if (rc)
        return rc > 0 ? tern_error_set(err, EIO, "%s: rank %d: chunk index missing", p, rank)
                      : tern_error_set(err, EIO, "%s: rank %d: chunk index: %s", p, rank, why);
    return 0;
}

int tern_r_open_rank(tern_ckpt *c, int rank, rank_tables *rt, tern_error *err)
{
    memset(rt, 0, sizeof *rt);
    rt->g = rt->chunks = -1;
    if (rank < 0 || rank >= c->info.nranks)
        return tern_error_set(err, EINVAL, "%s: rank %d: no such rank (checkpoint has %d)",
                              c->info.path, rank, c->info.nranks);
    if (open_tables(c, rank, rt, err) || check_segments(c, rank, rt, err)) {
        tern_r_close_rank(rt);
        return -1;
    }
    return 0;
}

int tern_r_open_seg(tern_ckpt *c, int rank, const char *name, rank_tables *rt,
                    const seg_rec **s, tern_error *err)
{
    if (tern_r_open_rank(c, rank, rt, err))
        return -1;
    for (uint64_t i = 0; i < rt->nsegs; i++)
        if (!strcmp(rt->segs[i].name, name)) {
            *s = &rt->segs[i];
            return 0;
        }
    tern_r_close_rank(rt);
    return tern_error_set(err, ENOENT, "%s: rank %d: segment '%s': not in checkpoint",
                          c->info.path, rank, name);
}

/* ---- the chunk index ---------------------------------------------------- */

int tern_r_bad_chunk(const tern_ckpt *c, const chunk_rec *r, uint64_t i, uint64_t n)
{
    if (!r->raw || r->raw > c->chunk_bytes || (i + 1 < n && r->raw != c->chunk_bytes))
        return 1;
    switch (r->kind) {
    case TERN_CHUNK_RAW:
        return r->stored != r->raw;
    case TERN_CHUNK_ZERO:
        return r->stored != 0;
    case TERN_CHUNK_DEFLATE:
        return !r->stored || r->stored > tern_deflate_bound(r->raw);
    case TERN_CHUNK_SPARSE: {
        size_t bm = tern_sparse_bitmap_bytes(r->raw);
        return r->stored < bm || r->stored - bm > r->raw;
    }
    }
    return 1;
}

int tern_r_read_chunk_index(const tern_ckpt *c, const rank_tables *rt, int rank,
                            const seg_rec *s, chunk_rec **out, tern_error *err)
{
    const char *p = c->info.path;
    *out = NULL;
    uint64_t end;
    if (tern_r_add(s->first_chunk, s->nchunks, &end) || end > rt->nindex)
        return tern_error_set(err, EIO, "%s: rank %d: segment '%s': chunk index out of range",
                              p, rank, s->name);
    if (!s->nchunks)
        return 0;
    /* nchunks rows of the index, which lies inside the file */
    chunk_rec *ch = malloc((size_t)s->nchunks * sizeof *ch);
    *out = ch;
    if (!ch || tern_r_read_rows(rt->chunks, tern_h5_chunk_type(), s->first_chunk, s->nchunks, ch))
        return tern_error_set(err, EIO, "%s: rank %d: segment '%s': chunk index unreadable",
                              p, rank, s->name);
    uint64_t sum = 0;
    for (uint64_t i = 0; i < s->nchunks; i++)
        sum += ch[i].raw;   /* at most 2^32 per row, 2^59 rows: no overflow */
    if (sum != s->size)
        return tern_error_set(err, EIO, "%s: rank %d: segment '%s': chunks hold %" PRIu64
                              " bytes, table says %" PRIu64, p, rank, s->name, sum, s->size);
    return 0;
}

/* ---- decoding a segment's chunks --------------------------------------- */

void tern_r_decoder_init(tern_r_decoder *d, const tern_ckpt *c, const rank_tables *rt,
                         int rank, const seg_rec *s)
{
    memset(d, 0, sizeof *d);
    d->c = c;
    d->path = c->info.path;
    d->g = rt->g;
    d->rank = rank;
    d->seg = s->name;
    d->data = -1;
    d->data_k = UINT32_MAX;
}

void tern_r_decoder_free(tern_r_decoder *d)
{
    if (d->data >= 0)
        H5Dclose(d->data);
    d->data = -1;
    free(d->stored);
    free(d->raw);
    d->stored = d->raw = NULL;
}

int tern_r_chunk_error(const tern_r_decoder *d, uint64_t i, int code, tern_error *err,
                       const char *fmt, ...)
{
    char what[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return tern_error_set(err, code, "%s: rank %d: segment '%s': chunk %" PRIu64 ": %s",
                          d->path, d->rank, d->seg, i, what);
}

int tern_r_open_data(tern_r_decoder *d, uint64_t i, uint32_t k, tern_error *err)
{
    if (k == d->data_k)
        return 0;
    if (d->data >= 0)
        H5Dclose(d->data);
    char dn[32], why[256];
    snprintf(dn, sizeof dn, "data.%u", k);
    d->data_k = k;
    int rc = tern_r_open_1d(d->c, d->g, dn, H5T_NATIVE_UCHAR, &d->data, &d->data_dim,
                            &d->data_hdr, why, sizeof why);
    if (rc > 0)
        return tern_r_chunk_error(d, i, EIO, err, "data.%u missing", k);
    if (rc < 0)
        return tern_r_chunk_error(d, i, EIO, err, "data.%u: %s", k, why);
    return 0;
}

/* Read chunk i's stored bytes from the open data.K (into d->stored), decode
 * them into out (r->raw bytes) and check the CRC. */
static int fetch_chunk(tern_r_decoder *d, const chunk_rec *r, uint64_t i, unsigned char *out,
                       tern_error *err)
{
    if (r->stored) {
        if (r->offset > d->data_dim || r->stored > d->data_dim - r->offset ||
            tern_r_read_rows(d->data, H5T_NATIVE_UCHAR, r->offset, r->stored, d->stored))
            return tern_r_chunk_error(d, i, EIO, err, "cannot read stored bytes (short file?)");
    }
    if (tern_chunk_decode((int)r->kind, d->stored, r->stored, out, r->raw))
        return tern_r_chunk_error(d, i, EIO, err, "stored bytes do not decode (kind %u)",
                                  r->kind);
    uint32_t crc = tern_crc32(out, r->raw);
    if (crc != r->crc)
        return tern_r_chunk_error(d, i, EIO, err, "CRC mismatch (stored %08x, computed %08x)",
                                  r->crc, crc);
    return 0;
}

static int grow(unsigned char **b, size_t *cap, size_t n)
{
    if (n <= *cap)
        return 0;
    free(*b);
    *b = malloc(n);
    *cap = *b ? n : 0;
    return *b ? 0 : -1;
}

int tern_r_decode_chunk(tern_r_decoder *d, const chunk_rec *r, uint64_t i, uint64_t off,
                        unsigned char *dst, tern_sink_fn sink, void *ctx, tern_error *err)
{
    if (r->kind == TERN_CHUNK_ZERO && !dst && !sink) {
        /* only checked: no bytes to make, the CRC of zeros is arithmetic */
        uint32_t crc = tern_zero_crc32(r->raw);
        return crc == r->crc ? 0 : tern_r_chunk_error(d, i, EIO, err, "CRC mismatch (stored "
                                                      "%08x, computed %08x)", r->crc, crc);
    }
    unsigned char *out = dst;
    if (grow(&d->stored, &d->stored_cap, r->stored) ||
        (!out && grow(&d->raw, &d->raw_cap, r->raw)))
        return tern_error_set(err, ENOMEM, "%s: rank %d: segment '%s': out of memory",
                              d->path, d->rank, d->seg);
    if (!out)
        out = d->raw;
    if (r->stored && tern_r_open_data(d, i, r->data, err))
        return -1;
    if (fetch_chunk(d, r, i, out, err))
        return -1;
    if (sink && sink(ctx, off, out, r->raw, err))
        return tern_error_prefix(err, "%s: rank %d: segment '%s': ", d->path, d->rank, d->seg);
    return 0;
}

int tern_r_read_segment(tern_ckpt *c, int rank, const rank_tables *rt, const seg_rec *s,
                        unsigned char *dst, tern_sink_fn sink, void *ctx, tern_error *err)
{
    chunk_rec *ch = NULL;
    int rc = tern_r_read_chunk_index(c, rt, rank, s, &ch, err);
    tern_r_decoder d;
    tern_r_decoder_init(&d, c, rt, rank, s);
    uint64_t off = 0;
    for (uint64_t i = 0; rc == 0 && i < s->nchunks; i++) {
        const chunk_rec *r = &ch[i];
        if (tern_r_bad_chunk(c, r, i, s->nchunks))
            rc = tern_r_chunk_error(&d, i, EIO, err, "bad sizes in chunk index");
        else
            rc = tern_r_decode_chunk(&d, r, i, off, dst ? dst + off : NULL, sink, ctx, err);
        off += r->raw;
    }
    tern_r_decoder_free(&d);
    free(ch);
    return rc;
}
