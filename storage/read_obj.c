/* Opening a checkpoint's objects: the link looked up, the object's header
 * checked from the file's own bytes (h5check.h) and only then handed to
 * HDF5; data sets are checked against what the writer makes (1-D,
 * contiguous, their bytes inside the file, the expected type) before a
 * single row is read. */
#include <stdio.h>
#include <stdlib.h>

#include "reader_int.h"

/* Refused: HDF5 may have been left with state that it reports at exit. */
static int refused(char *why, size_t len, const char *what)
{
    snprintf(why, len, "%s", what);
    tern_h5_quiet_at_exit();
    return -1;
}

int tern_r_open_obj(const tern_ckpt *c, hid_t loc, const char *name, int dataset, hid_t *out,
                    tern_h5_hdr *h, char *why, size_t len)
{
    *out = -1;
    if (H5Lexists(loc, name, H5P_DEFAULT) <= 0)
        return 1;
    H5O_info_t oi;
    if (H5Oget_info_by_name2(loc, name, &oi, H5O_INFO_BASIC, H5P_DEFAULT) < 0)
        return refused(why, len, "object header unreadable");
    if (oi.type != (dataset ? H5O_TYPE_DATASET : H5O_TYPE_GROUP))
        return refused(why, len, dataset ? "not a data set" : "not a group");
    tern_h5_hdr own;
    char what[200], msg[256];
    if (tern_h5_check_header(c->fd, c->fsize, oi.addr, NULL, h ? h : &own, what, sizeof what)) {
        snprintf(msg, sizeof msg, "damaged object header (%s)", what);
        return refused(why, len, msg);
    }
    *out = dataset ? H5Dopen2(loc, name, H5P_DEFAULT) : H5Gopen2(loc, name, H5P_DEFAULT);
    return *out < 0 ? refused(why, len, "cannot open") : 0;
}

static int close_refused(hid_t *d, char *why, size_t len, const char *what)
{
    H5Dclose(*d);
    *d = -1;
    return refused(why, len, what);
}

int tern_r_open_1d(const tern_ckpt *c, hid_t loc, const char *name, hid_t type, hid_t *d,
                   uint64_t *n, tern_h5_hdr *h, char *why, size_t len)
{
    tern_h5_hdr own;
    if (!h)
        h = &own;
    int rc = tern_r_open_obj(c, loc, name, 1, d, h, why, len);
    if (rc)
        return rc;
    uint64_t bytes;
    if (h->rank != 1 || h->layout != TERN_H5L_CONTIGUOUS ||
        tern_r_mul(h->npoints, h->type_size, &bytes) || bytes != h->bytes ||
        (bytes && h->addr == TERN_H5_UNDEF))
        return close_refused(d, why, len, "not a contiguous 1-D data set filling its bytes");
    if (type >= 0) {
        hid_t ft = H5Dget_type(*d);
        htri_t eq = ft >= 0 ? H5Tequal(ft, type) : -1;
        if (ft >= 0)
            H5Tclose(ft);
        if (eq <= 0)
            return close_refused(d, why, len, "data set of an unexpected type");
    }
    *n = h->npoints;
    return 0;
}

int tern_r_read_rows(hid_t d, hid_t type, uint64_t first, uint64_t n, void *buf)
{
    if (!n)
        return 0;
    hid_t fs = H5Dget_space(d);
    hsize_t start = first, cnt = n;
    herr_t e = fs < 0 ? -1 : H5Sselect_hyperslab(fs, H5S_SELECT_SET, &start, NULL, &cnt, NULL);
    hid_t ms = e < 0 ? -1 : H5Screate_simple(1, &cnt, NULL);
    if (ms >= 0)
        e = H5Dread(d, type, ms, fs, H5P_DEFAULT, buf);
    if (ms >= 0)
        H5Sclose(ms);
    if (fs >= 0)
        H5Sclose(fs);
    return ms < 0 || e < 0 ? -1 : 0;
}

int tern_r_read_table(const tern_ckpt *c, hid_t loc, const char *name, hid_t type,
                      size_t row_bytes, void **rows, uint64_t *n, hid_t *keep, char *why,
                      size_t len)
{
    hid_t d;
    *rows = NULL;
    if (keep)
        *keep = -1;
    int rc = tern_r_open_1d(c, loc, name, type, &d, n, NULL, why, len);
    if (rc)
        return rc;
    /* n * row_bytes is the data set's bytes, inside the file */
    *rows = *n ? malloc((size_t)*n * row_bytes) : NULL;
    if (*n && (!*rows || tern_r_read_rows(d, type, 0, *n, *rows))) {
        snprintf(why, len, "%s", *rows ? "unreadable" : "out of memory");
        free(*rows);
        *rows = NULL;
        rc = -1;
    }
    if (keep && !rc)
        *keep = d;
    else
        H5Dclose(d);
    return rc;
}
