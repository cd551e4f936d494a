#include "layout.h"
#include "tern_store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static hid_t seg_t = -1, chunk_t = -1, acrc_t = -1;

hid_t tern_h5_seg_type(void)
{
    if (seg_t < 0) {
        hid_t s = H5Tcopy(H5T_C_S1);
        H5Tset_size(s, TERN_SEG_NAME_FIELD);
        H5Tset_strpad(s, H5T_STR_NULLTERM);
        seg_t = H5Tcreate(H5T_COMPOUND, sizeof(seg_rec));
        H5Tinsert(seg_t, "name", HOFFSET(seg_rec, name), s);
        H5Tinsert(seg_t, "size", HOFFSET(seg_rec, size), H5T_STD_U64LE);
        H5Tinsert(seg_t, "stored", HOFFSET(seg_rec, stored), H5T_STD_U64LE);
        H5Tinsert(seg_t, "first_chunk", HOFFSET(seg_rec, first_chunk), H5T_STD_U64LE);
        H5Tinsert(seg_t, "nchunks", HOFFSET(seg_rec, nchunks), H5T_STD_U64LE);
        H5Tclose(s);
    }
    return seg_t;
}

hid_t tern_h5_chunk_type(void)
{
    if (chunk_t < 0) {
        chunk_t = H5Tcreate(H5T_COMPOUND, sizeof(chunk_rec));
        H5Tinsert(chunk_t, "data", HOFFSET(chunk_rec, data), H5T_STD_U32LE);
        H5Tinsert(chunk_t, "kind", HOFFSET(chunk_rec, kind), H5T_STD_U32LE);
        H5Tinsert(chunk_t, "offset", HOFFSET(chunk_rec, offset), H5T_STD_U64LE);
        H5Tinsert(chunk_t, "raw", HOFFSET(chunk_rec, raw), H5T_STD_U32LE);
        H5Tinsert(chunk_t, "stored", HOFFSET(chunk_rec, stored), H5T_STD_U32LE);
        H5Tinsert(chunk_t, "crc", HOFFSET(chunk_rec, crc), H5T_STD_U32LE);
        H5Tinsert(chunk_t, "reserved", HOFFSET(chunk_rec, reserved), H5T_STD_U32LE);
    }
    return chunk_t;
}

hid_t tern_h5_array_crc_type(void)
{
    if (acrc_t < 0) {
        acrc_t = H5Tcreate(H5T_COMPOUND, sizeof(array_crc_rec));
        H5Tinsert(acrc_t, "offset", HOFFSET(array_crc_rec, offset), H5T_STD_U64LE);
        H5Tinsert(acrc_t, "count", HOFFSET(array_crc_rec, count), H5T_STD_U64LE);
        H5Tinsert(acrc_t, "crc", HOFFSET(array_crc_rec, crc), H5T_STD_U32LE);
        H5Tinsert(acrc_t, "rank", HOFFSET(array_crc_rec, rank), H5T_STD_U32LE);
    }
    return acrc_t;
}

/* Native types: tern writes the bytes as they lie in memory. */
static hid_t int_type(int is_signed, size_t es)
{
    switch (es) {
    case 1: return is_signed ? H5T_NATIVE_INT8 : H5T_NATIVE_UINT8;
    case 2: return is_signed ? H5T_NATIVE_INT16 : H5T_NATIVE_UINT16;
    case 4: return is_signed ? H5T_NATIVE_INT32 : H5T_NATIVE_UINT32;
    case 8: return is_signed ? H5T_NATIVE_INT64 : H5T_NATIVE_UINT64;
    }
    return -1;
}

hid_t tern_h5_elem_type(int kind, size_t es)
{
    hid_t t = -1, f;
    switch (kind) {
    case TERN_ELEM_INT:
    case TERN_ELEM_UINT:
        t = int_type(kind == TERN_ELEM_INT, es);
        return t < 0 ? -1 : H5Tcopy(t);
    case TERN_ELEM_FLOAT:
        return es == 4 ? H5Tcopy(H5T_NATIVE_FLOAT) : es == 8 ? H5Tcopy(H5T_NATIVE_DOUBLE) : -1;
    case TERN_ELEM_COMPLEX:
        /* C99's complex and Fortran's COMPLEX: real part, then imaginary;
         * {r, i} is what h5py maps to numpy's complex dtypes */
        f = es == 8 ? H5T_NATIVE_FLOAT : es == 16 ? H5T_NATIVE_DOUBLE : -1;
        if (f < 0 || (t = H5Tcreate(H5T_COMPOUND, es)) < 0)
            return -1;
        if (H5Tinsert(t, "r", 0, f) < 0 || H5Tinsert(t, "i", es / 2, f) < 0) {
            H5Tclose(t);
            return -1;
        }
        return t;
    case TERN_ELEM_OPAQUE:
        t = H5Tcreate(H5T_OPAQUE, es);
        if (t >= 0)
            H5Tset_tag(t, "tern array element");
        return t;
    }
    return -1;
}

int tern_h5_elem_kind(hid_t t)
{
    size_t es = H5Tget_size(t);
    hid_t want = -1;
    int kind = -1;
    switch (H5Tget_class(t)) {
    case H5T_OPAQUE:
        return TERN_ELEM_OPAQUE;
    case H5T_INTEGER:
        kind = H5Tget_sign(t) == H5T_SGN_2 ? TERN_ELEM_INT : TERN_ELEM_UINT;
        break;
    case H5T_FLOAT:
        kind = TERN_ELEM_FLOAT;
        break;
    case H5T_COMPOUND:
        kind = TERN_ELEM_COMPLEX;
        break;
    default:
        return -1;
    }
    /* exactly the type the writer makes of that kind and size, nothing
     * that would need a conversion to land in the caller's buffer */
    want = tern_h5_elem_type(kind, es);
    htri_t eq = want < 0 ? 0 : H5Tequal(t, want);
    if (want >= 0)
        H5Tclose(want);
    return eq > 0 ? kind : -1;
}

void tern_elem_kind_name(int kind, size_t es, char *buf, size_t len)
{
    static const char *const names[] = {"opaque", "int", "uint", "float", "complex"};
    const char *n = kind >= 0 && kind <= TERN_ELEM_COMPLEX ? names[kind] : "unknown";
    snprintf(buf, len, "%s%zu", n, kind == TERN_ELEM_OPAQUE ? es : es * 8);
}

void tern_h5_quiet(void)
{
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
}

static void quiet_now(void)
{
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
}

void tern_h5_quiet_at_exit(void)
{
    static int registered;
    if (!__atomic_exchange_n(&registered, 1, __ATOMIC_SEQ_CST))
        atexit(quiet_now);
}

static herr_t walk_cb(unsigned n, const H5E_error2_t *e, void *data)
{
    (void)n;
    char **out = data;
    /* The walk goes from the innermost frame outwards; keep the first. */
    if (!*out && e->desc && e->desc[0])
        *out = strdup(e->desc);
    return 0;
}

void tern_h5_last_error(char *buf, size_t len)
{
    char *d = NULL;
    H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, walk_cb, &d);
    snprintf(buf, len, "%s", d ? d : "");
    free(d);
}

void tern_rank_group(int rank, char *buf, size_t len)
{
    snprintf(buf, len, "/ranks/%06d", rank);
}

int tern_name_ok(const char *n, size_t field)
{
    static const char ok[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-";
    size_t len = n ? strnlen(n, field) : field;
    /* "." and ".." would make odd HDF5 link names */
    return len > 0 && len < field && len <= TERN_NAME_MAX && strspn(n, ok) == len &&
           strcmp(n, ".") && strcmp(n, "..");
}

static int put(hid_t obj, const char *name, hid_t ftype, hid_t mtype,
               const void *v, size_t n, int scalar)
{
    hsize_t dims = n;
    hid_t sp = scalar ? H5Screate(H5S_SCALAR) : H5Screate_simple(1, &dims, NULL);
    if (sp < 0)
        return -1;
    hid_t a = H5Acreate2(obj, name, ftype, sp, H5P_DEFAULT, H5P_DEFAULT);
    int rc = -1;
    if (a >= 0) {
        rc = H5Awrite(a, mtype, v) < 0 ? -1 : 0;
        H5Aclose(a);
    }
    H5Sclose(sp);
    return rc;
}

int tern_attr_put_str(hid_t obj, const char *name, const char *value)
{
    /* Fixed-length, NUL-terminated: h5dump prints it as plain text. */
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, strlen(value) + 1);
    H5Tset_strpad(t, H5T_STR_NULLTERM);
    int rc = put(obj, name, t, t, value, 1, 1);
    H5Tclose(t);
    return rc;
}

int tern_attr_put_u64(hid_t obj, const char *name, uint64_t v)
{
    return put(obj, name, H5T_STD_U64LE, H5T_NATIVE_UINT64, &v, 1, 1);
}

int tern_attr_put_i64(hid_t obj, const char *name, int64_t v)
{
    return put(obj, name, H5T_STD_I64LE, H5T_NATIVE_INT64, &v, 1, 1);
}

int tern_attr_put_u32(hid_t obj, const char *name, uint32_t v)
{
    return put(obj, name, H5T_STD_U32LE, H5T_NATIVE_UINT32, &v, 1, 1);
}

int tern_attr_put_i32(hid_t obj, const char *name, int32_t v)
{
    return put(obj, name, H5T_STD_I32LE, H5T_NATIVE_INT32, &v, 1, 1);
}

int tern_attr_put_i32s(hid_t obj, const char *name, const int32_t *v, size_t n)
{
    return put(obj, name, H5T_STD_I32LE, H5T_NATIVE_INT32, v, n, 0);
}

int tern_attr_put_u64s(hid_t obj, const char *name, const uint64_t *v, size_t n)
{
    return put(obj, name, H5T_STD_U64LE, H5T_NATIVE_UINT64, v, n, 0);
}

static hid_t open_attr(hid_t obj, const char *name)
{
    if (H5Aexists(obj, name) <= 0)
        return -1;
    return H5Aopen(obj, name, H5P_DEFAULT);
}

/* Elements of attribute a, or -1 when its dataspace is not simple. */
static hssize_t attr_points(hid_t a)
{
    hid_t sp = H5Aget_space(a);
    hssize_t np = sp >= 0 ? H5Sget_simple_extent_npoints(sp) : -1;
    if (sp >= 0)
        H5Sclose(sp);
    return np;
}

/* A plain integer type: HDF5 converts those safely (a damaged precision or
 * bit offset makes its conversion crash). */
static int plain_integer(hid_t a)
{
    hid_t t = H5Aget_type(a);
    int ok = t >= 0 && H5Tget_class(t) == H5T_INTEGER && H5Tget_size(t) <= 8 &&
             H5Tget_precision(t) == 8 * H5Tget_size(t) && H5Tget_offset(t) == 0;
    if (t >= 0)
        H5Tclose(t);
    return ok;
}

char *tern_attr_get_str_alloc(hid_t obj, const char *name)
{
    hid_t a = open_attr(obj, name);
    if (a < 0)
        return NULL;
    char *out = NULL;
    hid_t ft = H5Aget_type(a);
    /* one string: HDF5 writes every element, whatever the buffer */
    if (H5Tget_class(ft) == H5T_STRING && !H5Tis_variable_str(ft) && attr_points(a) == 1) {
        size_t sz = H5Tget_size(ft);
        hid_t mt = H5Tcopy(H5T_C_S1);
        H5Tset_size(mt, sz + 1);
        H5Tset_strpad(mt, H5T_STR_NULLTERM);
        out = calloc(1, sz + 1);
        if (out && H5Aread(a, mt, out) < 0) {
            free(out);
            out = NULL;
        }
        H5Tclose(mt);
    }
    H5Tclose(ft);
    H5Aclose(a);
    return out;
}

int tern_attr_get_str(hid_t obj, const char *name, char *buf, size_t len)
{
    char *s = tern_attr_get_str_alloc(obj, name);
    if (!s)
        return -1;
    snprintf(buf, len, "%s", s);
    free(s);
    return 0;
}

static int get_scalar(hid_t obj, const char *name, hid_t mtype, void *v)
{
    hid_t a = open_attr(obj, name);
    if (a < 0)
        return -1;
    int rc = attr_points(a) == 1 && plain_integer(a) && H5Aread(a, mtype, v) >= 0 ? 0 : -1;
    H5Aclose(a);
    return rc;
}

int tern_attr_get_u64(hid_t obj, const char *name, uint64_t *v)
{
    return get_scalar(obj, name, H5T_NATIVE_UINT64, v);
}

int tern_attr_get_i64(hid_t obj, const char *name, int64_t *v)
{
    return get_scalar(obj, name, H5T_NATIVE_INT64, v);
}

int tern_attr_get_u32(hid_t obj, const char *name, uint32_t *v)
{
    return get_scalar(obj, name, H5T_NATIVE_UINT32, v);
}

int tern_attr_get_i32(hid_t obj, const char *name, int32_t *v)
{
    return get_scalar(obj, name, H5T_NATIVE_INT32, v);
}

static int get_vec(hid_t obj, const char *name, hid_t mtype, size_t esz,
                   void **v, size_t *n)
{
    hid_t a = open_attr(obj, name);
    if (a < 0)
        return -1;
    /* the elements lie in the checked header: np is bounded by the file */
    hssize_t np = plain_integer(a) ? attr_points(a) : -1;
    int rc = -1;
    if (np >= 0) {
        *v = malloc(esz * (np ? (size_t)np : 1));
        if (*v && H5Aread(a, mtype, *v) >= 0) {
            *n = (size_t)np;
            rc = 0;
        } else {
            free(*v);
            *v = NULL;
        }
    }
    H5Aclose(a);
    return rc;
}

int tern_attr_get_i32s(hid_t obj, const char *name, int32_t **v, size_t *n)
{
    return get_vec(obj, name, H5T_NATIVE_INT32, sizeof **v, (void **)v, n);
}

int tern_attr_get_u64s(hid_t obj, const char *name, uint64_t **v, size_t *n)
{
    return get_vec(obj, name, H5T_NATIVE_UINT64, sizeof **v, (void **)v, n);
}
