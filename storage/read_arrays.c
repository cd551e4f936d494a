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

/* /arrays/NAME opened, checked and described. */
static int open_array(tern_ckpt *c, const char *name, hid_t *d, tern_h5_hdr *h, tern_error *err)
{
    const char *p = c->info.path;
    char path[300], why[256];
    if (!tern_name_ok(name, TERN_NAME_MAX + 1))
        return tern_error_set(err, EINVAL, "%s: array '%s': bad name", p, name);
    snprintf(path, sizeof path, "/arrays/%s", name);
    uint64_t n;
    int rc = H5Lexists(c->file, "/arrays", H5P_DEFAULT) <= 0
                 ? 1 : tern_r_open_1d(c, c->file, path, -1, d, &n, h, why, sizeof why);
    if (rc > 0)
        return tern_error_set(err, ENOENT, "%s: array '%s': not in checkpoint", p, name);
    if (rc < 0)
        return tern_error_set(err, EIO, "%s: array '%s': %s", p, name, why);
    if (h->type_class != TERN_H5T_OPAQUE) {
        H5Dclose(*d);
        return tern_error_set(err, EIO, "%s: array '%s': not an array of opaque elements", p, name);
    }
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
    if (open_array(c, name, &d, &h, err))
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

/* One CRC piece (row r) read into tmp and checked. */
static int check_piece(tern_ckpt *c, const char *name, hid_t d, hid_t t, const array_crc_rec *r,
                       size_t es, unsigned char *tmp, tern_error *err)
{
    const char *p = c->info.path;
    if (tern_r_read_rows(d, t, r->offset, r->count, tmp))
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
    if (open_array(c, name, &d, &h, err))
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
