/* Object headers parsed from the file's bytes, every field checked against
 * the message, the header chunk and the file it lies in (h5check.h). The
 * encodings are those of the HDF5 file format specification (version 2.0,
 * HDF5 1.8-1.10): object header prefixes and message envelopes of version 1
 * and 2, and the attribute, datatype, dataspace, layout, fill value,
 * continuation and symbol table messages. */
#define _GNU_SOURCE
#include "h5check.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum {
    MSG_NIL = 0x00, MSG_SPACE = 0x01, MSG_DTYPE = 0x03, MSG_FILL_OLD = 0x04,
    MSG_FILL = 0x05, MSG_LAYOUT = 0x08, MSG_ATTR = 0x0c, MSG_MTIME_OLD = 0x0e,
    MSG_CONT = 0x10, MSG_STAB = 0x11, MSG_MTIME = 0x12, MSG_AINFO = 0x15,
    MSG_REFCOUNT = 0x16,
};

#define MAX_CHUNKS 64             /* header chunks of one object */
#define MAX_HEADER (16u << 20)    /* their bytes together */
#define MAX_DEPTH 3               /* compound members of compound members */
#define MSG_SHARED 0x02           /* message flag: stored elsewhere */

/* A bounded cursor: a read past the end sets bad and yields zeros. */
typedef struct cur {
    const unsigned char *p;
    size_t n, at;
    int bad;
} cur;

static uint64_t take(cur *c, size_t k)
{
    if (c->bad || k > c->n - c->at) {
        c->bad = 1;
        return 0;
    }
    uint64_t v = 0;
    for (size_t i = 0; i < k && i < 8; i++)
        v |= (uint64_t)c->p[c->at + i] << (8 * i);
    c->at += k;
    return v;
}

static void skip(cur *c, uint64_t k)
{
    if (c->bad || k > c->n - c->at)
        c->bad = 1;
    else
        c->at += (size_t)k;
}

/* The next k bytes as a cursor of their own. */
static cur part(cur *c, uint64_t k)
{
    cur s = {c->p + c->at, 0, 0, 1};
    if (!c->bad && k <= c->n - c->at) {
        s.n = (size_t)k;
        s.bad = 0;
        c->at += (size_t)k;
    } else {
        c->bad = 1;
    }
    return s;
}

static size_t pad8(size_t n)
{
    return (n + 7) & ~(size_t)7;
}

typedef struct chk {
    int fd;
    uint64_t fsize;
    const char *attr;         /* the attribute to look for, or NULL */
    tern_h5_hdr *h;
    char *why;
    size_t len;
    int version;              /* of the header, 1 or 2 */
    int crt_order;            /* version 2: messages carry a creation order */
    uint64_t chunk[MAX_CHUNKS], chunk_len[MAX_CHUNKS];
    int nchunks;
    uint64_t total;
    int ndtype, nspace, nlayout;
} chk;

static int bad(chk *k, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int bad(chk *k, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(k->why, k->len, fmt, ap);
    va_end(ap);
    return -1;
}

static uint64_t mul_sat(uint64_t a, uint64_t b)
{
    return a && b > UINT64_MAX / a ? UINT64_MAX : a * b;
}

/* Bytes the format uses for a compound member's offset (version 3): as few
 * as the compound's size needs. */
static size_t offset_bytes(uint64_t size)
{
    size_t n = 1;
    while (n < 8 && (size >> (8 * n)))
        n++;
    return n;
}

static int dtype(chk *k, cur *c, int depth, int *cls_out, uint64_t *size_out);

static int compound(chk *k, cur *c, unsigned ver, uint32_t bits, uint64_t size, int depth)
{
    unsigned nm = bits & 0xffff;
    if (!nm || depth >= MAX_DEPTH)
        return bad(k, "compound datatype with %u members at depth %d", nm, depth);
    for (unsigned i = 0; i < nm; i++) {
        const unsigned char *z = c->bad ? NULL : memchr(c->p + c->at, 0, c->n - c->at);
        if (!z)
            return bad(k, "compound member name not terminated");
        size_t nl = (size_t)(z - (c->p + c->at)) + 1;
        skip(c, ver < 3 ? pad8(nl) : nl);
        uint64_t off = take(c, ver < 3 ? 4 : offset_bytes(size));
        if (ver == 1) {
            unsigned ndims = (unsigned)take(c, 1);
            skip(c, 27);          /* reserved, permutation, reserved, 4 sizes */
            if (ndims)
                return bad(k, "array member in a compound datatype");
        }
        int mc;
        uint64_t ms;
        if (c->bad || dtype(k, c, depth + 1, &mc, &ms))
            return c->bad ? bad(k, "compound datatype truncated") : -1;
        if (mc != TERN_H5T_INTEGER && mc != TERN_H5T_FLOAT && mc != TERN_H5T_STRING)
            return bad(k, "compound member of class %d", mc);
        if (off > size || ms > size - off)
            return bad(k, "compound member outside its compound");
    }
    return 0;
}

/* One datatype encoding (with its members), within c. */
static int dtype(chk *k, cur *c, int depth, int *cls_out, uint64_t *size_out)
{
    unsigned cv = (unsigned)take(c, 1), cls = cv & 15, ver = cv >> 4;
    uint32_t bits = (uint32_t)take(c, 3);
    uint64_t size = take(c, 4);
    if (c->bad)
        return bad(k, "datatype truncated");
    if (ver < 1 || ver > 3 || !size)
        return bad(k, "datatype version %u, size %llu", ver, (unsigned long long)size);
    *cls_out = (int)cls;
    *size_out = size;
    switch (cls) {
    case TERN_H5T_INTEGER: {
        uint64_t off = take(c, 2), prec = take(c, 2);
        if (size > 16 || !prec || off + prec > 8 * size)
            return bad(k, "integer datatype of %llu bytes, precision %llu at bit %llu",
                       (unsigned long long)size, (unsigned long long)prec,
                       (unsigned long long)off);
        break;
    }
    case TERN_H5T_FLOAT: {
        /* bit offset and precision, then the exponent's and the mantissa's
         * place and size, and the exponent bias: every field inside the
         * precision (a typed array's elements; HDF5 converts nothing there
         * since the reader reads them with the file's own type) */
        uint64_t off = take(c, 2), prec = take(c, 2);
        uint64_t epos = take(c, 1), esz = take(c, 1), mpos = take(c, 1), msz = take(c, 1);
        skip(c, 4);
        if (size > 16 || !prec || off + prec > 8 * size || !esz || !msz ||
            epos + esz > prec || mpos + msz > prec)
            return bad(k, "float datatype of %llu bytes, precision %llu at bit %llu",
                       (unsigned long long)size, (unsigned long long)prec,
                       (unsigned long long)off);
        break;
    }
    case TERN_H5T_STRING:
        break;
    case TERN_H5T_OPAQUE:
        skip(c, bits & 0xff);     /* the tag */
        break;
    case TERN_H5T_COMPOUND:
        return compound(k, c, ver, bits, size, depth);
    default:
        return bad(k, "datatype class %u, which tern never writes", cls);
    }
    return c->bad ? bad(k, "datatype truncated") : 0;
}

static int dspace(chk *k, cur *c, int *rank, uint64_t *npoints)
{
    unsigned ver = (unsigned)take(c, 1), r = (unsigned)take(c, 1), flags = (unsigned)take(c, 1);
    unsigned type = 1;
    if (ver == 1)
        skip(c, 5);
    else if (ver == 2)
        type = (unsigned)take(c, 1);
    else
        return bad(k, "dataspace version %u", ver);
    if (r > 32 || type > 2 || (type != 1 && r))
        return bad(k, "dataspace of rank %u, type %u", r, type);
    uint64_t np = type == 2 ? 0 : 1;
    for (unsigned i = 0; i < r; i++)
        np = mul_sat(np, take(c, 8));
    if (flags & 1)
        skip(c, 8 * (uint64_t)r);     /* maximum sizes */
    if (ver == 1 && (flags & 2))
        skip(c, 8 * (uint64_t)r);     /* permutation */
    if (c->bad)
        return bad(k, "dataspace truncated");
    *rank = (int)r;
    *npoints = np;
    return 0;
}

static int attribute(chk *k, cur *m)
{
    unsigned ver = (unsigned)take(m, 1), flags = (unsigned)take(m, 1);
    size_t nl = (size_t)take(m, 2), tl = (size_t)take(m, 2), sl = (size_t)take(m, 2);
    if (ver == 3)
        skip(m, 1);               /* name encoding */
    if (m->bad || ver < 1 || ver > 3 || flags || !nl)
        return bad(k, "attribute message version %u, flags %u", ver, flags);
    cur name = part(m, nl);
    if (name.bad || name.p[nl - 1] != 0)
        return bad(k, "attribute name outside its message");
    if (ver == 1)
        skip(m, pad8(nl) - nl);
    cur t = part(m, tl);
    int cls, rank;
    uint64_t size, np;
    if (ver == 1)
        skip(m, pad8(tl) - tl);
    cur s = part(m, sl);
    if (ver == 1)
        skip(m, pad8(sl) - sl);
    if (m->bad)
        return bad(k, "attribute parts outside its message");
    if (dtype(k, &t, 0, &cls, &size) || dspace(k, &s, &rank, &np))
        return -1;
    if (cls != TERN_H5T_INTEGER && cls != TERN_H5T_STRING)
        return bad(k, "attribute of datatype class %d", cls);
    if (mul_sat(np, size) > m->n - m->at)
        return bad(k, "attribute data outside its message");
    k->h->nattrs++;
    if (k->attr && !strcmp((const char *)name.p, k->attr))
        k->h->has_attr = 1;
    return 0;
}

static int layout(chk *k, cur *c)
{
    unsigned ver = (unsigned)take(c, 1), cls = (unsigned)take(c, 1);
    if (ver != 3 && ver != 4)
        return bad(k, "layout message version %u, which tern never writes", ver);
    if (cls == TERN_H5L_COMPACT) {
        uint64_t n = take(c, 2);
        skip(c, n);
        k->h->bytes = n;
    } else if (cls == TERN_H5L_CONTIGUOUS) {
        k->h->addr = take(c, 8);
        k->h->bytes = take(c, 8);
        if (k->h->addr != TERN_H5_UNDEF &&
            (k->h->addr > k->fsize || k->h->bytes > k->fsize - k->h->addr))
            return bad(k, "data set bytes outside the file");
    } else {
        return bad(k, "layout class %u (chunked or virtual), which tern never reads", cls);
    }
    k->h->layout = (int)cls;
    return c->bad ? bad(k, "layout message truncated") : 0;
}

static int fill(chk *k, cur *c, int old)
{
    unsigned ver = old ? 0 : (unsigned)take(c, 1);
    int has = old;
    if (ver == 1 || ver == 2) {
        skip(c, 2);               /* allocation and write times */
        has = ver == 1 || take(c, 1);
    } else if (ver == 3) {
        has = (take(c, 1) & 0x20) != 0;
    } else if (!old) {
        return bad(k, "fill value message version %u", ver);
    }
    if (has)
        skip(c, take(c, 4));
    return c->bad ? bad(k, "fill value outside its message") : 0;
}

static int address_ok(const chk *k, uint64_t a)
{
    return a == TERN_H5_UNDEF || a < k->fsize;
}

static int continuation(chk *k, cur *c)
{
    uint64_t a = take(c, 8), n = take(c, 8);
    if (c->bad || a > k->fsize || n > k->fsize - a || n < 8)
        return bad(k, "header continuation outside the file");
    for (int i = 0; i < k->nchunks; i++)
        if (k->chunk[i] == a)
            return bad(k, "header continuation loops back");
    if (k->nchunks == MAX_CHUNKS || n > MAX_HEADER - k->total)
        return bad(k, "object header too large");
    k->chunk[k->nchunks] = a;
    k->chunk_len[k->nchunks++] = n;
    k->total += n;
    return 0;
}

/* The messages tern writes and HDF5 decodes for it; everything else is
 * refused (filters, external files, links, comments, shared tables...). */
static int message(chk *k, unsigned type, unsigned flags, cur *m)
{
    if (flags & MSG_SHARED)
        return bad(k, "shared message of type %u, which tern never writes", type);
    int cls, rank;
    uint64_t size, np;
    switch (type) {
    case MSG_NIL:
        return 0;
    case MSG_SPACE:
        k->nspace++;
        if (dspace(k, m, &rank, &np))
            return -1;
        k->h->rank = rank;
        k->h->npoints = np;
        return 0;
    case MSG_DTYPE:
        k->ndtype++;
        if (dtype(k, m, 0, &cls, &size))
            return -1;
        k->h->type_class = cls;
        k->h->type_size = size;
        return 0;
    case MSG_FILL_OLD:
    case MSG_FILL:
        return fill(k, m, type == MSG_FILL_OLD);
    case MSG_LAYOUT:
        k->nlayout++;
        return layout(k, m);
    case MSG_ATTR:
        return attribute(k, m);
    case MSG_MTIME_OLD:
    case MSG_MTIME:
    case MSG_REFCOUNT:
        return m->n >= (type == MSG_MTIME_OLD ? 16u : type == MSG_MTIME ? 8u : 5u)
                   ? 0 : bad(k, "message of type %u truncated", type);
    case MSG_CONT:
        return continuation(k, m);
    case MSG_STAB: {
        uint64_t bt = take(m, 8), heap = take(m, 8);
        k->h->is_group = 1;
        return !m->bad && address_ok(k, bt) && address_ok(k, heap)
                   ? 0 : bad(k, "symbol table outside the file");
    }
    case MSG_AINFO: {
        unsigned fl = (unsigned)(take(m, 2) >> 8);
        if (fl & 1)
            skip(m, 2);
        uint64_t heap = take(m, 8);
        return !m->bad && heap == TERN_H5_UNDEF
                   ? 0 : bad(k, "dense attribute storage, which tern never writes");
    }
    default:
        return bad(k, "header message of type %u, which tern never writes", type);
    }
}

/* The messages of one chunk: bytes [0, n) of b. */
static int messages(chk *k, const unsigned char *b, size_t n)
{
    cur c = {b, n, 0, 0};
    size_t env = k->version == 1 ? 8 : 4 + (k->crt_order ? 2 : 0);
    while (n - c.at >= env) {
        unsigned type = (unsigned)take(&c, k->version == 1 ? 2 : 1);
        uint64_t size = take(&c, 2);
        unsigned flags = (unsigned)take(&c, 1);
        skip(&c, k->version == 1 ? 3 : k->crt_order ? 2 : 0);
        cur m = part(&c, size);
        if (c.bad)
            return bad(k, "header message of type %u outside its chunk", type);
        if (message(k, type, flags, &m))
            return -1;
    }
    /* version 1: messages fill the chunk; version 2: a gap may end it */
    return k->version == 1 && c.at != n ? bad(k, "header chunk ends inside a message") : 0;
}

static unsigned char *read_at(chk *k, uint64_t a, uint64_t n)
{
    if (a > k->fsize || n > k->fsize - a || n > MAX_HEADER)
        return NULL;
    unsigned char *b = malloc(n ? (size_t)n : 1);
    for (uint64_t got = 0; b && got < n;) {
        ssize_t r = pread(k->fd, b + got, (size_t)(n - got), (off_t)(a + got));
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            free(b);
            return NULL;
        }
        got += (uint64_t)r;
    }
    return b;
}

/* The prefix at addr: the first chunk's messages are [*m, *m + *n). */
static int prefix(chk *k, uint64_t addr, uint64_t *m, uint64_t *n)
{
    unsigned char b[40] = {0};
    uint64_t avail = addr < k->fsize ? k->fsize - addr : 0;
    unsigned char *p = read_at(k, addr, avail < sizeof b ? avail : sizeof b);
    if (!p)
        return bad(k, "object header outside the file");
    memcpy(b, p, avail < sizeof b ? (size_t)avail : sizeof b);
    free(p);
    cur c = {b, sizeof b, 0, 0};
    if (b[0] == 1) {
        k->version = 1;
        skip(&c, 8);              /* version, reserved, messages, references */
        *n = take(&c, 4);
        *m = addr + 16;
    } else if (!memcmp(b, "OHDR", 4) && b[4] == 2) {
        k->version = 2;
        skip(&c, 5);
        unsigned fl = (unsigned)take(&c, 1);
        k->crt_order = (fl & 0x04) != 0;
        skip(&c, ((fl & 0x20) ? 16 : 0) + ((fl & 0x10) ? 4 : 0));
        *n = take(&c, (size_t)1 << (fl & 3));
        *m = addr + c.at;
    } else {
        return bad(k, "no object header at address %llu", (unsigned long long)addr);
    }
    if (*m > k->fsize || *n > k->fsize - *m || *n > MAX_HEADER)
        return bad(k, "object header outside the file");
    return 0;
}

/* Chunk i (0: the first, after the prefix), read and parsed; a version 2
 * continuation is "OCHK", messages, checksum. */
static int chunk(chk *k, int i, uint64_t m, uint64_t n)
{
    unsigned char *b = read_at(k, m, n);
    if (!b)
        return bad(k, "header chunk outside the file");
    int rc;
    if (i == 0 || k->version == 1)
        rc = messages(k, b, (size_t)n);
    else if (n >= 8 && !memcmp(b, "OCHK", 4))
        rc = messages(k, b + 4, (size_t)n - 8);
    else
        rc = bad(k, "header continuation without its signature");
    free(b);
    return rc;
}

int tern_h5_check_header(int fd, uint64_t fsize, uint64_t addr, const char *attr,
                         tern_h5_hdr *h, char *why, size_t len)
{
    memset(h, 0, sizeof *h);
    h->type_class = -1;
    h->layout = TERN_H5L_NONE;
    h->addr = TERN_H5_UNDEF;
    chk k = {.fd = fd, .fsize = fsize, .attr = attr, .h = h, .why = why, .len = len};
    uint64_t m = 0, n = 0;
    if (prefix(&k, addr, &m, &n))
        return -1;
    k.total = n;
    if (chunk(&k, 0, m, n))
        return -1;
    for (int i = 0; i < k.nchunks; i++)
        if (chunk(&k, i + 1, k.chunk[i], k.chunk_len[i]))
            return -1;
    int parts = (k.ndtype > 0) + (k.nspace > 0) + (k.nlayout > 0);
    if (k.ndtype > 1 || k.nspace > 1 || k.nlayout > 1 || (parts && parts < 3))
        return bad(&k, "data set header with %d datatype, %d dataspace and %d layout messages",
                   k.ndtype, k.nspace, k.nlayout);
    h->is_dataset = parts == 3;
    if (h->is_dataset && h->is_group)
        return bad(&k, "object header of both a group and a data set");
    return 0;
}
