#include "ckpt_mut.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <string.h>
#include <zlib.h>

void cm_quiet(void)
{
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
}

hid_t cm_open(const char *file, unsigned mode)
{
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    H5Pset_file_locking(fapl, 0, 1);
    hid_t f = H5Fopen(file, mode, fapl);
    H5Pclose(fapl);
    return f;
}

static int table_type(hid_t d, cm_table *t)
{
    hid_t ty = H5Dget_type(d);
    if (ty < 0)
        return -1;
    t->row = H5Tget_size(ty);
    int rc = t->row ? 0 : -1;
    if (!rc && H5Tget_class(ty) == H5T_COMPOUND) {
        int n = H5Tget_nmembers(ty);
        for (int i = 0; i < n && t->nmembers < CM_MAX_MEMBERS; i++) {
            char *name = H5Tget_member_name(ty, (unsigned)i);
            hid_t mt = H5Tget_member_type(ty, (unsigned)i);
            if (name && mt >= 0) {
                int k = t->nmembers++;
                snprintf(t->m[k].name, sizeof t->m[k].name, "%s", name);
                t->m[k].off = H5Tget_member_offset(ty, (unsigned)i);
                t->m[k].size = H5Tget_size(mt);
                t->m[k].cls = H5Tget_class(mt);
            }
            if (mt >= 0)
                H5Tclose(mt);
            H5free_memory(name);
        }
    }
    H5Tclose(ty);
    return rc;
}

int cm_table_get(hid_t f, const char *path, cm_table *t)
{
    memset(t, 0, sizeof *t);
    if (H5Lexists(f, path, H5P_DEFAULT) <= 0)
        return -1;
    hid_t d = H5Dopen2(f, path, H5P_DEFAULT);
    if (d < 0)
        return -1;
    haddr_t a = H5Dget_offset(d);
    hid_t sp = H5Dget_space(d);
    hssize_t np = sp >= 0 ? H5Sget_simple_extent_npoints(sp) : -1;
    if (sp >= 0)
        H5Sclose(sp);
    int rc = -1;
    if (a != HADDR_UNDEF && np > 0 && table_type(d, t) == 0) {
        t->file_off = a;
        t->nrows = (uint64_t)np;
        t->bytes = H5Dget_storage_size(d);
        rc = t->bytes == t->nrows * t->row ? 0 : -1;
    }
    H5Dclose(d);
    return rc;
}

int cm_member(const cm_table *t, const char *name)
{
    for (int i = 0; i < t->nmembers; i++)
        if (!strcmp(t->m[i].name, name))
            return i;
    return -1;
}

void cm_put_le(unsigned char *buf, size_t size, uint64_t v)
{
    for (size_t i = 0; i < size; i++)
        buf[i] = i < 8 ? (unsigned char)(v >> (8 * i)) : 0;
}

int cm_field_where(const cm_table *t, uint64_t row, const char *field, uint64_t *off,
                   size_t *size)
{
    int k = cm_member(t, field);
    if (k < 0 || row >= t->nrows)
        return -1;
    *off = t->file_off + row * t->row + t->m[k].off;
    *size = t->m[k].size;
    return 0;
}

/* The attribute's bytes in its own type: integers are edited in place. */
int cm_attr_set(hid_t f, const char *obj, const char *name, uint64_t idx, uint64_t v)
{
    /* opened through its object: H5Awrite of an attribute opened by path
     * fails in HDF5 1.10 ("can't locate open attribute") */
    hid_t o = H5Oopen(f, obj, H5P_DEFAULT);
    hid_t a = o < 0 ? -1 : H5Aopen(o, name, H5P_DEFAULT);
    if (o >= 0)
        H5Oclose(o);
    if (a < 0)
        return -1;
    hid_t ty = H5Aget_type(a), sp = H5Aget_space(a);
    hssize_t np = H5Sget_simple_extent_npoints(sp);
    size_t esz = H5Tget_size(ty);
    H5T_class_t cls = H5Tget_class(ty);
    int rc = -1;
    unsigned char *b = np > 0 && esz ? calloc((size_t)np, esz) : NULL;
    if (b && (cls == H5T_INTEGER || (cls == H5T_STRING && !H5Tis_variable_str(ty))) &&
        H5Aread(a, ty, b) >= 0) {
        if (cls == H5T_INTEGER && idx < (uint64_t)np) {
            cm_put_le(b + idx * esz, esz, v);
            rc = 0;
        } else if (cls == H5T_STRING && np == 1 && idx < esz) {
            b[idx] = (unsigned char)v;
            rc = 0;
        }
        if (rc == 0 && H5Awrite(a, ty, b) < 0)
            rc = -1;
    }
    free(b);
    H5Sclose(sp);
    H5Tclose(ty);
    H5Aclose(a);
    return rc;
}

int cm_seal_segments(hid_t f, const char *table)
{
    hid_t d = H5Lexists(f, table, H5P_DEFAULT) > 0 ? H5Dopen2(f, table, H5P_DEFAULT) : -1;
    if (d < 0)
        return -1;
    /* the rows in the file's own type: the bytes as they lie in the file */
    hid_t ty = H5Dget_type(d), sp = H5Dget_space(d);
    hssize_t np = sp >= 0 ? H5Sget_simple_extent_npoints(sp) : -1;
    size_t bytes = np > 0 && ty >= 0 ? (size_t)np * H5Tget_size(ty) : 0;
    unsigned char *b = bytes ? malloc(bytes) : NULL;
    int rc = np < 0 || (bytes && (!b || H5Dread(d, ty, H5S_ALL, H5S_ALL, H5P_DEFAULT, b) < 0));
    uint32_t crc = rc ? 0 : (uint32_t)crc32(0, b, (uInt)bytes);
    free(b);
    if (!rc && H5Aexists(d, "crc") <= 0) {   /* a table made anew: its attribute too */
        hid_t as = H5Screate(H5S_SCALAR);
        hid_t a = H5Acreate2(d, "crc", H5T_STD_U32LE, as, H5P_DEFAULT, H5P_DEFAULT);
        rc = a < 0 || H5Awrite(a, H5T_NATIVE_UINT32, &crc) < 0;
        if (a >= 0)
            H5Aclose(a);
        H5Sclose(as);
    } else if (!rc) {
        hid_t a = H5Aopen(d, "crc", H5P_DEFAULT);
        rc = a < 0 || H5Awrite(a, H5T_NATIVE_UINT32, &crc) < 0;
        if (a >= 0)
            H5Aclose(a);
    }
    if (sp >= 0)
        H5Sclose(sp);
    if (ty >= 0)
        H5Tclose(ty);
    H5Dclose(d);
    return rc ? -1 : 0;
}

int cm_header_addr(hid_t f, const char *obj, uint64_t *addr)
{
    H5O_info_t oi;
    if (H5Oget_info_by_name2(f, obj, &oi, H5O_INFO_BASIC, H5P_DEFAULT) < 0)
        return -1;
    *addr = oi.addr;
    return 0;
}

static uint64_t le(const unsigned char *p, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

/* One chunk [at, at + n) of messages: the one wanted, or continuations. */
static int scan_chunk(int fd, uint64_t at, uint64_t n, unsigned type, const char *attr,
                      uint64_t *off, uint64_t *len, uint64_t *cont, int *ncont)
{
    unsigned char *b = n && n < (64u << 20) ? malloc(n) : NULL;
    if (!b || pread(fd, b, n, (off_t)at) != (ssize_t)n) {
        free(b);
        return -1;
    }
    int rc = 1;
    for (uint64_t i = 0; rc == 1 && i + 8 <= n;) {
        unsigned t = (unsigned)le(b + i, 2);
        uint64_t size = le(b + i + 2, 2);
        if (i + 8 + size > n)
            break;
        const unsigned char *m = b + i + 8;
        if (t == 0x10 && size >= 16 && *ncont < 16) {
            cont[2 * *ncont] = le(m, 8);
            cont[2 * (*ncont)++ + 1] = le(m + 8, 8);
        }
        if (t == type && (!attr || (size > 8 && !strncmp((const char *)m + 8, attr, size - 8)))) {
            *off = at + i + 8;
            *len = size;
            rc = 0;
        }
        i += 8 + size;
    }
    free(b);
    return rc;
}

int cm_find_msg(int fd, uint64_t addr, unsigned type, const char *attr, uint64_t *off,
                uint64_t *len)
{
    unsigned char p[16];
    if (pread(fd, p, sizeof p, (off_t)addr) != (ssize_t)sizeof p || p[0] != 1)
        return -1;   /* version 1 headers only: what the writer makes */
    uint64_t cont[32];
    int ncont = 0;
    int rc = scan_chunk(fd, addr + 16, le(p + 8, 4), type, attr, off, len, cont, &ncont);
    for (int i = 0; rc == 1 && i < ncont; i++)
        rc = scan_chunk(fd, cont[2 * i], cont[2 * i + 1], type, attr, off, len, cont, &ncont);
    return rc == 0 ? 0 : -1;
}
