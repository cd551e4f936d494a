/* Global arrays (tern_ckpt_put_array): /arrays/NAME holds the elements of
 * every rank's slab in rank order, /arrays_crc/NAME the CRC32 of pieces of
 * them. Nothing of either is trusted: the element size is the data set's
 * own (the elem_size attribute must say the same, so that no buffer sized
 * from one is filled from the other), the rank counts add up to its length,
 * and the CRC pieces tile it in order, each inside its rank's slab and at
 * most TERN_ARRAY_CRC_PIECE bytes (or one element). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reader_int.h"

/* /arrays/NAME opened, checked and described: contiguous, of at most
 * TERN_ARRAY_MAX_DIMS dimensions, filling its bytes in the file, and of a
 * type the writer makes (opaque, or a typed array's, tern_h5_elem_kind);
 * its kind in *kind when asked. */
static int open_array(tern_ckpt *c, const char *name, hid_t *d, tern_h5_hdr *h, int *kind,
                      tern_error *err)
{
    const char *p = c->info.path;
    char path[300], why[256];
    if (!tern_name_ok(name, TERN_NAME_MAX + 1))
        return tern_error_set(err, EINVAL, "%s: array '%s': bad name", p, name);
    snprintf(path, sizeof path, "/arrays/%s", name);
    int rc = H5Lexists(c->file, "/arrays", H5P_DEFAULT) <= 0
                 ? 1 : tern_r_open_obj(c, c->file, path, 1, d, h, why, sizeof why);
    if (rc > 0)
        return tern_error_set(err, ENOENT, "%s: array '%s': not in checkpoint", p, name);
    if (rc < 0)
        return tern_error_set(err, EIO, "%s: array '%s': %s", p, name, why);
    uint64_t bytes;
    if (h->rank < 1 || h->rank > TERN_ARRAY_MAX_DIMS || h->layout != TERN_H5L_CONTIGUOUS ||
        tern_r_mul(h->npoints, h->type_size, &bytes) || bytes != h->bytes ||
        (bytes && h->addr == TERN_H5_UNDEF)) {
        H5Dclose(*d);
        tern_h5_quiet_at_exit();
        return tern_error_set(err, EIO, "%s: array '%s': not a contiguous data set filling "
                              "its bytes", p, name);
    }
    /* the header passed the checker: HDF5 may decode its type */
    hid_t t = H5Dget_type(*d);
    int k = t < 0 ? -1 : tern_h5_elem_kind(t);
    if (t >= 0)
        H5Tclose(t);
    if (k < 0) {
        H5Dclose(*d);
        return tern_error_set(err, EIO, "%s: array '%s': elements of a type tern never writes",
                              p, name);
    }
    if (kind)
        *kind = k;
    return 0;
}

/* elem_size and rank_counts agree with the data set: its elements' size,
 * one count per rank, adding up to its length. */
static int check_attrs(const tern_ckpt *c, const char *name, const tern_h5_hdr *h, uint64_t es,
                       const uint64_t *cnts, size_t n, tern_error *err)
{
    const char *p = c->info.path;
    if (es != h->type_size)
        return tern_error_set(err, EIO, "%s: array '%s': elem_size %" PRIu64 ", but its "
                              "elements are %" PRIu64 " bytes", p, name, es, h->type_size);
    uint64_t sum = 0;
    for (size_t r = 0; r < n; r++)
        if (tern_r_add(sum, cnts[r], &sum))
            sum = UINT64_MAX;
    if (sum != h->npoints)
        return tern_error_set(err, EIO, "%s: array '%s': its rank counts add up to %" PRIu64
                              " elements, it has %" PRIu64, p, name, sum, h->npoints);
    return 0;
}

int tern_r_array_info(tern_ckpt *c, const char *name, size_t *elem_size, uint64_t *total,
                      uint64_t **rank_counts, tern_error *err)
{
    tern_error scratch;
    if (!err)
        err = &scratch;
    hid_t d;
    tern_h5_hdr h;
    if (open_array(c, name, &d, &h, NULL, err))
        return -1;
    uint64_t es = 0;
    uint64_t *cnts = NULL;
    size_t n = 0;
    int rc = 0;
    if (tern_attr_get_u64(d, "elem_size", &es) || tern_attr_get_u64s(d, "rank_counts", &cnts, &n) ||
        n != (size_t)c->info.nranks)
        rc = tern_error_set(err, EIO, "%s: array '%s': attributes missing", c->info.path, name);
    else
        rc = check_attrs(c, name, &h, es, cnts, n, err);
    H5Dclose(d);
    if (rc) {
        free(cnts);
        return -1;
    }
    if (elem_size)
        *elem_size = (size_t)es;
    if (total)
        *total = h.npoints;
    if (rank_counts)
        *rank_counts = cnts;
    else
        free(cnts);
    return 0;
}

/* The CRC rows tile [0, total) in order, each inside the slab of the rank
 * it names and at most one piece long: what the writer makes. */
static int check_crc_rows(const tern_ckpt *c, const char *name, const array_crc_rec *rows,
                          uint64_t nrows, size_t es, const uint64_t *cnts, tern_error *err)
{
    uint64_t per = TERN_ARRAY_CRC_PIECE / es ? TERN_ARRAY_CRC_PIECE / es : 1;
    uint64_t at = 0, slab_end = 0;
    int rank = -1;
    for (uint64_t i = 0; i < nrows; i++) {
        const array_crc_rec *r = &rows[i];
        while (rank < c->info.nranks && at >= slab_end && rank + 1 < c->info.nranks)
            slab_end += cnts[++rank];
        if (r->offset != at || !r->count || r->count > per || r->rank != (uint32_t)rank ||
            r->count > slab_end - at)
            return tern_error_set(err, EIO, "%s: array '%s': CRC table damaged (row %" PRIu64 ")",
                                  c->info.path, name, i);
        at += r->count;
    }
    return 0;
}

/* The CRC table of array NAME, checked, into *rows (free it). */
static int read_crc_rows(tern_ckpt *c, const char *name, size_t es, array_crc_rec **rows,
                         uint64_t *nrows, tern_error *err)
{
    const char *p = c->info.path;
    char cpath[300], why[256];
    snprintf(cpath, sizeof cpath, "/arrays_crc/%s", name);
    uint64_t *cnts = NULL, total;
    if (tern_r_array_info(c, name, NULL, &total, &cnts, err))
        return -1;
    int rc = H5Lexists(c->file, "/arrays_crc", H5P_DEFAULT) <= 0
                 ? 1 : tern_r_read_table(c, c->file, cpath, tern_h5_array_crc_type(),
                                         sizeof **rows, (void **)rows, nrows, NULL, why,
                                         sizeof why);
    if (rc > 0)
        rc = tern_error_set(err, EIO, "%s: array '%s': CRC table missing", p, name);
    else if (rc < 0)
        rc = tern_error_set(err, EIO, "%s: array '%s': CRC table: %s", p, name, why);
    else
        rc = check_crc_rows(c, name, *rows, *nrows, es, cnts, err);
    free(cnts);
    return rc;
}

/* Adds to sp's selection the elements [lo, hi) (row-major offsets inside
 * the block of dimensions k.. of an nd-dimensional space, the coordinates
 * before k fixed in start): whole sub-blocks as one hyperslab, the partial
 * ones at either end by recursion. At most 2 * nd hyperslabs in all. */
static int select_range(hid_t sp, int nd, const hsize_t *dims, hsize_t *start, hsize_t *cnt,
                        int k, uint64_t lo, uint64_t hi, int *first)
{
    if (lo >= hi)
        return 0;
    uint64_t sub = 1;                   /* elements per index of dimension k */
    for (int j = k + 1; j < nd; j++)
        sub *= dims[j];
    uint64_t a = lo / sub, b = hi / sub, full = (lo + sub - 1) / sub;
    if (lo % sub == 0 && hi % sub == 0) {
        start[k] = a;
        cnt[k] = b - a;
        for (int j = k + 1; j < nd; j++) {
            start[j] = 0;
            cnt[j] = dims[j];
        }
        herr_t e = H5Sselect_hyperslab(sp, *first ? H5S_SELECT_SET : H5S_SELECT_OR, start, NULL,
                                       cnt, NULL);
        *first = 0;
        return e < 0 ? -1 : 0;
    }
    if (a == b) {                       /* inside one index of dimension k */
        start[k] = a;
        cnt[k] = 1;
        return select_range(sp, nd, dims, start, cnt, k + 1, lo - a * sub, hi - a * sub, first);
    }
    if (lo % sub) {
        start[k] = a;
        cnt[k] = 1;
        if (select_range(sp, nd, dims, start, cnt, k + 1, lo - a * sub, sub, first))
            return -1;
    }
    if (b > full && select_range(sp, nd, dims, start, cnt, k, full * sub, b * sub, first))
        return -1;
    start[k] = b;
    cnt[k] = 1;
    return select_range(sp, nd, dims, start, cnt, k + 1, 0, hi - b * sub, first);
}

/* Elements [first, first + n) in row-major order, whatever the array's
 * shape, read with type t (the data set's own: no conversion). */
static int read_flat(hid_t d, hid_t t, uint64_t first, uint64_t n, void *buf)
{
    hid_t fs = H5Dget_space(d);
    int nd = fs < 0 ? -1 : H5Sget_simple_extent_ndims(fs);
    hsize_t dims[TERN_ARRAY_MAX_DIMS], start[TERN_ARRAY_MAX_DIMS], cnt[TERN_ARRAY_MAX_DIMS];
    int rc = nd < 1 || nd > TERN_ARRAY_MAX_DIMS || H5Sget_simple_extent_dims(fs, dims, NULL) < 0;
    int one = 1;
    hsize_t mn = n;
    if (!rc)
        rc = select_range(fs, nd, dims, start, cnt, 0, first, first + n, &one);
    hid_t ms = rc ? -1 : H5Screate_simple(1, &mn, NULL);
    if (ms >= 0)
        rc = H5Dread(d, t, ms, fs, H5P_DEFAULT, buf) < 0;
    else
        rc = -1;
    if (ms >= 0)
        H5Sclose(ms);
    if (fs >= 0)
        H5Sclose(fs);
    return rc ? -1 : 0;
}

/* One CRC piece (row r) read into tmp and checked. */
static int check_piece(tern_ckpt *c, const char *name, hid_t d, hid_t t, const array_crc_rec *r,
                       size_t es, unsigned char *tmp, tern_error *err)
{
    const char *p = c->info.path;
    if (read_flat(d, t, r->offset, r->count, tmp))
        return tern_error_set(err, EIO, "%s: array '%s': cannot read elements %" PRIu64 "..%"
                              PRIu64, p, name, r->offset, r->offset + r->count);
    uint32_t crc = tern_crc32(tmp, (size_t)r->count * es);
    if (crc != r->crc)
        return tern_error_set(err, EIO, "%s: rank %u: array '%s': elements %" PRIu64 "..%" PRIu64
                              ": CRC mismatch (stored %08x, computed %08x)", p, r->rank, name,
                              r->offset, r->offset + r->count, r->crc, crc);
    return 0;
}

/* Whole CRC pieces over [offset, offset + count) read and checked, the part
 * asked for copied out. The rows were checked: they tile the array. */
static int copy_range(tern_ckpt *c, const char *name, const array_crc_rec *rows, uint64_t nrows,
                      size_t es, uint64_t offset, uint64_t count, void *buf, tern_error *err)
{
    hid_t d;
    tern_h5_hdr h;
    if (open_array(c, name, &d, &h, NULL, err))
        return -1;
    hid_t t = H5Dget_type(d);
    /* a piece is at most max(1 MiB, one element), and elements lie in the file */
    size_t cap = es > TERN_ARRAY_CRC_PIECE ? es : TERN_ARRAY_CRC_PIECE;
    unsigned char *tmp = malloc(cap);
    int rc = tmp && t >= 0 ? 0 : tern_error_set(err, ENOMEM, "%s: out of memory", c->info.path);
    uint64_t end = offset + count;
    for (uint64_t i = 0; i < nrows && rc == 0; i++) {
        const array_crc_rec *r = &rows[i];
        if (r->offset + r->count <= offset || r->offset >= end)
            continue;
        rc = check_piece(c, name, d, t, r, es, tmp, err);
        uint64_t lo = r->offset > offset ? r->offset : offset;
        uint64_t hi = r->offset + r->count < end ? r->offset + r->count : end;
        if (rc == 0)
            memcpy((char *)buf + (lo - offset) * es, tmp + (lo - r->offset) * es, (hi - lo) * es);
    }
    free(tmp);
    if (t >= 0)
        H5Tclose(t);
    H5Dclose(d);
    return rc;
}

int tern_r_read_array(tern_ckpt *c, const char *name, uint64_t offset, uint64_t count,
                      void *buf, tern_error *err)
{
    tern_error scratch;
    if (!err)
        err = &scratch;
    const char *p = c->info.path;
    size_t es;
    uint64_t total;
    if (tern_r_array_info(c, name, &es, &total, NULL, err))
        return -1;
    if (offset > total || count > total - offset)
        return tern_error_set(err, EINVAL, "%s: array '%s': range [%" PRIu64 ", +%" PRIu64
                              ") beyond its %" PRIu64 " elements", p, name, offset, count, total);
    if (!count)
        return 0;
    array_crc_rec *rows = NULL;
    uint64_t nrows = 0;
    int rc = read_crc_rows(c, name, es, &rows, &nrows, err);
    uint64_t covered = 0;
    for (uint64_t i = 0; rc == 0 && i < nrows; i++)
        covered += rows[i].count;
    if (rc == 0 && covered != total)
        rc = tern_error_set(err, EIO, "%s: array '%s': CRC table does not cover the range", p, name);
    if (rc == 0)
        rc = copy_range(c, name, rows, nrows, es, offset, count, buf, err);
    free(rows);
    return rc;
}

int tern_r_array_desc(tern_ckpt *c, const char *name, tern_array_desc *desc, tern_error *err)
{
    tern_error scratch;
    if (!err)
        err = &scratch;
    /* the same checks as every read: attributes, counts */
    if (tern_r_array_info(c, name, NULL, NULL, NULL, err))
        return -1;
    hid_t d;
    tern_h5_hdr h;
    int kind;
    if (open_array(c, name, &d, &h, &kind, err))
        return -1;
    memset(desc, 0, sizeof *desc);
    hsize_t dims[TERN_ARRAY_MAX_DIMS];
    hid_t sp = H5Dget_space(d);
    int nd = sp < 0 ? -1 : H5Sget_simple_extent_dims(sp, dims, NULL);
    if (sp >= 0)
        H5Sclose(sp);
    H5Dclose(d);
    if (nd != h.rank)
        return tern_error_set(err, EIO, "%s: array '%s': dataspace unreadable", c->info.path, name);
    desc->kind = kind;
    desc->ndims = nd;
    for (int k = 0; k < nd; k++)
        desc->dims[k] = dims[k];
    return 0;
}

int tern_r_arrays(tern_ckpt *c, tern_array_entry **arrs, int *n, tern_error *err)
{
    tern_error scratch;
    if (!err)
        err = &scratch;
    *arrs = NULL;
    *n = 0;
    hid_t g;
    char why[256], name[TERN_NAME_MAX + 2];
    int rc = tern_r_open_obj(c, c->file, "/arrays", 0, &g, NULL, why, sizeof why);
    if (rc)
        return rc > 0 ? 0 : tern_error_set(err, EIO, "%s: /arrays: %s", c->info.path, why);
    H5G_info_t gi;
    if (H5Gget_info(g, &gi) < 0 || gi.nlinks > INT32_MAX)
        rc = tern_error_set(err, EIO, "%s: /arrays unreadable", c->info.path);
    tern_array_entry *v = rc || !gi.nlinks ? NULL : calloc((size_t)gi.nlinks, sizeof *v);
    if (!rc && gi.nlinks && !v)
        rc = tern_error_set(err, ENOMEM, "%s: out of memory", c->info.path);
    for (hsize_t i = 0; rc == 0 && i < gi.nlinks; i++) {
        ssize_t l = H5Lget_name_by_idx(g, ".", H5_INDEX_NAME, H5_ITER_INC, i, name, sizeof name,
                                       H5P_DEFAULT);
        if (l < 0 || (size_t)l >= sizeof name - 1) {
            rc = tern_error_set(err, EIO, "%s: /arrays unreadable", c->info.path);
            break;
        }
        tern_array_entry *e = &v[i];
        snprintf(e->name, sizeof e->name, "%s", name);
        rc = tern_r_array_info(c, name, &e->elem_size, &e->total, NULL, err);
        if (!rc)
            rc = tern_r_array_desc(c, name, &e->desc, err);
    }
    H5Gclose(g);
    if (rc) {
        free(v);
        return -1;
    }
    *arrs = v;
    *n = (int)gi.nlinks;
    return 0;
}
