/* Reading checkpoints: plain sec2 HDF5, no MPI. Every chunk handed out has
 * been decoded and CRC-checked; every error names the file, and where it
 * applies the rank, segment and chunk. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "codec.h"
#include "layout.h"
#include "tern_store.h"

struct tern_ckpt {
    hid_t file;
    int fd;                   /* HDF5's own descriptor (sec2), not ours to close */
    tern_ckpt_info info;
};

static void free_info(tern_ckpt_info *in)
{
    for (int i = 0; i < in->nnodes; i++) {
        free(in->nodes[i].topology_xml);
        free(in->nodes[i].ranks);
    }
    free(in->nodes);
    in->nodes = NULL;
    in->nnodes = 0;
}

static void tern_ckpt_close_impl(tern_ckpt *c)
{
    if (!c)
        return;
    if (c->file >= 0)
        H5Fclose(c->file);
    free_info(&c->info);
    free(c);
}

const tern_ckpt_info *tern_ckpt_get_info(const tern_ckpt *c)
{
    return &c->info;
}

static int read_nodes(tern_ckpt *c)
{
    int32_t nn = 0;
    if (tern_attr_get_i32(c->file, "nnodes", &nn) || nn < 0)
        return -1;
    c->info.nodes = calloc(nn ? nn : 1, sizeof *c->info.nodes);
    if (!c->info.nodes)
        return -1;
    for (int i = 0; i < nn; i++) {
        char name[64];
        snprintf(name, sizeof name, "/nodes/%06d", i);
        if (H5Lexists(c->file, "/nodes", H5P_DEFAULT) <= 0 ||
            H5Lexists(c->file, name, H5P_DEFAULT) <= 0)
            return -1;
        hid_t g = H5Gopen2(c->file, name, H5P_DEFAULT);
        if (g < 0)
            return -1;
        tern_node_info *n = &c->info.nodes[i];
        c->info.nnodes = i + 1;
        tern_attr_get_str(g, "host", n->host, sizeof n->host);
        size_t cnt = 0;
        int32_t *rk = NULL;
        if (tern_attr_get_i32s(g, "ranks", &rk, &cnt) == 0) {
            n->ranks = malloc((cnt ? cnt : 1) * sizeof *n->ranks);
            for (size_t j = 0; n->ranks && j < cnt; j++)
                n->ranks[j] = rk[j];
            n->nranks = (int)cnt;
            free(rk);
        }
        hid_t d = H5Dopen2(g, "topology", H5P_DEFAULT);
        if (d >= 0) {
            hid_t t = H5Dget_type(d);
            size_t sz = H5Tget_size(t);
            hid_t mt = H5Tcopy(H5T_C_S1);
            H5Tset_size(mt, sz + 1);
            n->topology_xml = calloc(1, sz + 1);
            if (n->topology_xml && H5Dread(d, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, n->topology_xml) < 0)
                n->topology_xml[0] = '\0';
            H5Tclose(mt);
            H5Tclose(t);
            H5Dclose(d);
        }
        if (!n->topology_xml)
            n->topology_xml = strdup("");
        H5Gclose(g);
    }
    return 0;
}

static int open_file(const char *path, tern_ckpt **out, tern_error *err)
{
    size_t plen = strlen(path);
    if (plen > 8 && !strcmp(path + plen - 8, ".partial"))
        return tern_error_set(err, EINVAL, "%s: an unfinished write, not a committed checkpoint",
                              path);
    struct stat st;
    if (stat(path, &st) < 0)
        return tern_error_set(err, errno, "%s: %s", path,
                              errno == ENOENT ? "no such file or directory" : strerror(errno));
    unsigned char sig[8] = {0};
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return tern_error_set(err, errno, "%s: %s", path, strerror(errno));
    ssize_t k = pread(fd, sig, sizeof sig, 0);
    close(fd);
    static const unsigned char h5sig[8] = {0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'};
    if (k != 8 || memcmp(sig, h5sig, 8))
        return tern_error_set(err, EINVAL, "%s: not an HDF5 file", path);
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    H5Pset_fapl_sec2(fapl);
#if H5_VERSION_GE(1, 10, 7)
    /* A committed checkpoint never changes, so no lock is needed; and flock
     * fails on some shared file systems, which would make a restart on
     * other nodes fail to read a perfectly good file. */
    H5Pset_file_locking(fapl, 0, 1);
#endif
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, fapl);
    char h5[256];
    tern_h5_last_error(h5, sizeof h5);  /* before any call clears the stack */
    H5Pclose(fapl);
    if (f < 0) {
        if (strstr(h5, "truncated"))
            return tern_error_set(err, EIO, "%s: truncated file (%lld bytes on disk)", path,
                                  (long long)st.st_size);
        return tern_error_set(err, EIO, "%s: damaged HDF5 file: %s", path, h5);
    }
    int32_t ver = 0;
    if (tern_attr_get_i32(f, "tern_format_version", &ver)) {
        H5Fclose(f);
        return tern_error_set(err, EINVAL, "%s: not a tern checkpoint (no tern_format_version)", path);
    }
    if (ver > TERN_FORMAT_VERSION) {
        H5Fclose(f);
        return tern_error_set(err, EPROTONOSUPPORT, "%s: format version %d is newer than this "
                              "tern reads (%d); use a newer tern", path, ver, TERN_FORMAT_VERSION);
    }
    tern_ckpt *c = calloc(1, sizeof *c);
    if (!c) {
        H5Fclose(f);
        return tern_error_set(err, ENOMEM, "out of memory");
    }
    c->file = f;
    c->fd = -1;
    int *vfd = NULL;
    if (H5Fget_vfd_handle(f, H5P_DEFAULT, (void **)&vfd) >= 0 && vfd)
        c->fd = *vfd;
    tern_ckpt_info *in = &c->info;
    in->format_version = ver;
    int32_t nr = -1;
    int bad = tern_attr_get_str(f, "job", in->job, sizeof in->job) |
              tern_attr_get_u64(f, "epoch", &in->epoch) |
              tern_attr_get_i32(f, "nranks", &nr) |
              tern_attr_get_i64(f, "created", &in->created);
    tern_attr_get_str(f, "tern_version", in->tern_version, sizeof in->tern_version);
    tern_attr_get_str(f, "mpi_version", in->mpi_version, sizeof in->mpi_version);
    tern_attr_get_u64(f, "logical_bytes", &in->logical_bytes);
    tern_attr_get_u64(f, "stored_bytes", &in->stored_bytes);
    in->nranks = nr;
    snprintf(in->path, sizeof in->path, "%s", path);
    if (bad || nr < 1) {
        tern_ckpt_close(c);
        return tern_error_set(err, EINVAL, "%s: damaged checkpoint: root attributes missing", path);
    }
    if (read_nodes(c)) {
        tern_ckpt_close(c);
        return tern_error_set(err, EINVAL, "%s: damaged checkpoint: node records missing", path);
    }
    *out = c;
    return 0;
}

static int tern_ckpt_open_impl(const char *path, tern_ckpt **out, tern_error *err)
{
    tern_error scratch;
    if (!err)
        err = &scratch;
    tern_error_clear(err);
    tern_h5_quiet();
    *out = NULL;
    struct stat st;
    if (path && stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
        uint64_t *ep;
        int n;
        if (tern_store_list(path, &ep, &n, err))
            return -1;
        if (n == 0) {
            free(ep);
            return tern_error_set(err, ENOENT, "%s: no committed checkpoint", path);
        }
        char file[4096];
        tern_store_path(path, ep[n - 1], file, sizeof file);
        free(ep);
        return open_file(file, out, err);
    }
    if (!path)
        return tern_error_set(err, EINVAL, "tern_ckpt_open: NULL path");
    return open_file(path, out, err);
}

static int tern_ckpt_open_epoch_impl(const char *dir, uint64_t epoch, tern_ckpt **out, tern_error *err)
{
    char file[4096];
    tern_store_path(dir, epoch, file, sizeof file);
    tern_error scratch;
    if (!err)
        err = &scratch;
    tern_error_clear(err);
    tern_h5_quiet();
    *out = NULL;
    return open_file(file, out, err);
}

/* ---- rank tables ------------------------------------------------------- */

typedef struct rank_tables {
    hid_t g;
    seg_rec *segs;
    uint64_t nsegs;
} rank_tables;

static int read_table(hid_t g, const char *name, hid_t type, size_t esz, void **rows,
                      uint64_t *n)
{
    if (H5Lexists(g, name, H5P_DEFAULT) <= 0)
        return -1;
    hid_t d = H5Dopen2(g, name, H5P_DEFAULT);
    if (d < 0)
        return -1;
    hid_t sp = H5Dget_space(d);
    hssize_t np = H5Sget_simple_extent_npoints(sp);
    int rc = -1;
    if (np >= 0) {
        *rows = calloc(np ? (size_t)np : 1, esz);
        if (*rows && (np == 0 || H5Dread(d, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, *rows) >= 0)) {
            *n = (uint64_t)np;
            rc = 0;
        } else {
            free(*rows);
            *rows = NULL;
        }
    }
    H5Sclose(sp);
    H5Dclose(d);
    return rc;
}

static int open_rank(tern_ckpt *c, int rank, rank_tables *rt, tern_error *err)
{
    memset(rt, 0, sizeof *rt);
    rt->g = -1;
    const char *p = c->info.path;
    if (rank < 0 || rank >= c->info.nranks)
        return tern_error_set(err, EINVAL, "%s: rank %d: no such rank (checkpoint has %d)",
                              p, rank, c->info.nranks);
    char grp[64];
    tern_rank_group(rank, grp, sizeof grp);
    if (H5Lexists(c->file, "/ranks", H5P_DEFAULT) <= 0 ||
        H5Lexists(c->file, grp, H5P_DEFAULT) <= 0)
        return tern_error_set(err, ENOENT, "%s: rank %d: missing from checkpoint", p, rank);
    rt->g = H5Gopen2(c->file, grp, H5P_DEFAULT);
    if (rt->g < 0)
        return tern_error_set(err, EIO, "%s: rank %d: cannot open its group", p, rank);
    if (read_table(rt->g, "segments", tern_h5_seg_type(), sizeof(seg_rec), (void **)&rt->segs,
                   &rt->nsegs)) {
        H5Gclose(rt->g);
        rt->g = -1;
        return tern_error_set(err, EIO, "%s: rank %d: segment table unreadable", p, rank);
    }
    for (uint64_t i = 0; i < rt->nsegs; i++)
        rt->segs[i].name[TERN_SEG_NAME_FIELD - 1] = '\0';
    return 0;
}

static void close_rank(rank_tables *rt)
{
    if (rt->g >= 0)
        H5Gclose(rt->g);
    free(rt->segs);
    rt->g = -1;
    rt->segs = NULL;
}

static int tern_ckpt_segments_impl(tern_ckpt *c, int rank, tern_segment_info **segs, int *nsegs,
                       tern_error *err)
{
    tern_error scratch;
    if (!err)
        err = &scratch;
    rank_tables rt;
    if (open_rank(c, rank, &rt, err))
        return -1;
    tern_segment_info *s = calloc(rt.nsegs ? rt.nsegs : 1, sizeof *s);
    if (!s) {
        close_rank(&rt);
        return tern_error_set(err, ENOMEM, "out of memory");
    }
    for (uint64_t i = 0; i < rt.nsegs; i++) {
        snprintf(s[i].name, sizeof s[i].name, "%s", rt.segs[i].name);
        s[i].size = rt.segs[i].size;
        s[i].stored = rt.segs[i].stored;
    }
    *segs = s;
    *nsegs = (int)rt.nsegs;
    close_rank(&rt);
    return 0;
}

/* Reads, decodes and checks every chunk of one segment, handing each to
 * sink (or, with dst, decoding straight into dst). */
/* Open data.K of a rank's group into *data (closing the one open before),
 * unless it is already open. */
static int open_data(hid_t g, const char *p, int rank, const char *seg, uint64_t i,
                     uint32_t k, hid_t *data, uint32_t *data_k, tern_error *err)
{
    if (k == *data_k)
        return 0;
    if (*data >= 0)
        H5Dclose(*data);
    char dn[32];
    snprintf(dn, sizeof dn, "data.%u", k);
    *data = H5Lexists(g, dn, H5P_DEFAULT) > 0 ? H5Dopen2(g, dn, H5P_DEFAULT) : -1;
    *data_k = k;
    if (*data < 0)
        return tern_error_set(err, EIO, "%s: rank %d: segment '%s': chunk %" PRIu64
                              ": data.%u missing", p, rank, seg, i, k);
    return 0;
}

/* Read chunk i's stored bytes from data (into stored), decode them into out
 * (r->raw bytes) and check the CRC. Errors name file, rank, segment, chunk. */
static int fetch_chunk(hid_t data, const chunk_rec *r, const char *p, int rank,
                       const char *seg, uint64_t i, unsigned char *stored,
                       unsigned char *out, tern_error *err)
{
    if (r->stored) {
        hid_t fs = H5Dget_space(data);
        hsize_t start = r->offset, cnt = r->stored, dim = 0;
        H5Sget_simple_extent_dims(fs, &dim, NULL);
        herr_t e = -1;
        if (start <= dim && cnt <= dim - start) {
            H5Sselect_hyperslab(fs, H5S_SELECT_SET, &start, NULL, &cnt, NULL);
            hid_t ms = H5Screate_simple(1, &cnt, NULL);
            e = H5Dread(data, H5T_NATIVE_UCHAR, ms, fs, H5P_DEFAULT, stored);
            H5Sclose(ms);
        }
        H5Sclose(fs);
        if (e < 0)
            return tern_error_set(err, EIO, "%s: rank %d: segment '%s': chunk %" PRIu64
                                  ": cannot read stored bytes (short file?)", p, rank, seg, i);
    }
    if (tern_chunk_decode((int)r->kind, stored, r->stored, out, r->raw))
        return tern_error_set(err, EIO, "%s: rank %d: segment '%s': chunk %" PRIu64
                              ": stored bytes do not decode (kind %u)", p, rank, seg, i, r->kind);
    uint32_t crc = tern_crc32(out, r->raw);
    if (crc != r->crc)
        return tern_error_set(err, EIO, "%s: rank %d: segment '%s': chunk %" PRIu64
                              ": CRC mismatch (stored %08x, computed %08x)", p, rank, seg, i,
                              r->crc, crc);
    return 0;
}

/* The chunk index rows of segment s, malloc'd into *out (NULL when there are
 * none), checked against the index's extent and the segment's size (the
 * segment reader and the extents reader both start here). Returns 0, or -1
 * with err; either way the caller frees *out. */
static int read_chunk_index(const char *p, hid_t g, int rank, const seg_rec *s, chunk_rec **out,
                            tern_error *err)
{
    chunk_rec *ch = NULL;
    *out = NULL;
    hid_t dch = H5Dopen2(g, "chunks", H5P_DEFAULT);
    if (dch < 0)
        return tern_error_set(err, EIO, "%s: rank %d: chunk index missing", p, rank);
    hid_t sp = H5Dget_space(dch);
    hssize_t total = H5Sget_simple_extent_npoints(sp);
    int rc = 0;
    if (total < 0 || s->first_chunk > (uint64_t)total || s->nchunks > (uint64_t)total - s->first_chunk) {
        rc = tern_error_set(err, EIO, "%s: rank %d: segment '%s': chunk index out of range",
                            p, rank, s->name);
    } else if (s->nchunks) {
        ch = malloc(s->nchunks * sizeof *ch);
        hsize_t start = s->first_chunk, cnt = s->nchunks;
        H5Sselect_hyperslab(sp, H5S_SELECT_SET, &start, NULL, &cnt, NULL);
        hid_t ms = H5Screate_simple(1, &cnt, NULL);
        if (!ch || H5Dread(dch, tern_h5_chunk_type(), ms, sp, H5P_DEFAULT, ch) < 0)
            rc = tern_error_set(err, EIO, "%s: rank %d: segment '%s': chunk index unreadable",
                                p, rank, s->name);
        H5Sclose(ms);
    }
    H5Sclose(sp);
    H5Dclose(dch);
    uint64_t sum = 0;
    for (uint64_t i = 0; rc == 0 && i < s->nchunks; i++)
        sum += ch[i].raw;
    if (rc == 0 && sum != s->size)
        rc = tern_error_set(err, EIO, "%s: rank %d: segment '%s': chunks hold %" PRIu64
                            " bytes, table says %" PRIu64, p, rank, s->name, sum, s->size);
    *out = ch;
    return rc;
}

static int read_segment(tern_ckpt *c, int rank, rank_tables *rt, const seg_rec *s,
                        unsigned char *dst, tern_sink_fn sink, void *ctx, tern_error *err)
{
    const char *p = c->info.path;
    chunk_rec *ch = NULL;
    int rc = read_chunk_index(p, rt->g, rank, s, &ch, err);
    unsigned char *stored = NULL, *raw = NULL;
    size_t stored_cap = 0, raw_cap = 0;
    hid_t data = -1;
    uint32_t data_k = UINT32_MAX;
    uint64_t off = 0;
    for (uint64_t i = 0; rc == 0 && i < s->nchunks; i++) {
        chunk_rec *r = &ch[i];
        if (r->raw > TERN_MAX_CHUNK || r->stored > r->raw + r->raw / 8 + 1024) {
            rc = tern_error_set(err, EIO, "%s: rank %d: segment '%s': chunk %" PRIu64
                                ": bad sizes in chunk index", p, rank, s->name, i);
            break;
        }
        if (r->stored && r->stored > stored_cap) {
            free(stored);
            stored = malloc(stored_cap = r->stored);
        }
        unsigned char *out = dst ? dst + off : NULL;
        if (!out) {
            if (r->raw > raw_cap) {
                free(raw);
                raw = malloc(raw_cap = r->raw);
            }
            out = raw;
        }
        if ((r->stored && !stored) || (r->raw && !out)) {
            rc = tern_error_set(err, ENOMEM, "out of memory");
            break;
        }
        if (r->stored && open_data(rt->g, p, rank, s->name, i, r->data, &data, &data_k, err)) {
            rc = -1;
            break;
        }
        if (fetch_chunk(data, r, p, rank, s->name, i, stored, out, err)) {
            rc = -1;
            break;
        }
        if (sink && sink(ctx, off, out, r->raw, err)) {
            rc = tern_error_prefix(err, "%s: rank %d: segment '%s': ", p, rank, s->name);
            break;
        }
        off += r->raw;
    }
    if (data >= 0)
        H5Dclose(data);
    free(stored);
    free(raw);
    free(ch);
    return rc;
}

static const seg_rec *find_seg(rank_tables *rt, const char *name)
{
    for (uint64_t i = 0; i < rt->nsegs; i++)
        if (!strcmp(rt->segs[i].name, name))
            return &rt->segs[i];
    return NULL;
}

static int tern_ckpt_read_impl(tern_ckpt *c, int rank, const char *name, void *buf, uint64_t len,
                   tern_error *err)
{
    tern_error scratch;
    if (!err)
        err = &scratch;
    rank_tables rt;
    if (open_rank(c, rank, &rt, err))
        return -1;
    const seg_rec *s = find_seg(&rt, name);
    int rc;
    if (!s)
        rc = tern_error_set(err, ENOENT, "%s: rank %d: segment '%s': not in checkpoint",
                            c->info.path, rank, name);
    else if (s->size != len)
        rc = tern_error_set(err, EINVAL, "%s: rank %d: segment '%s': has %" PRIu64
                            " bytes, caller expects %" PRIu64, c->info.path, rank, name,
                            s->size, len);
    else
        rc = read_segment(c, rank, &rt, s, buf, NULL, NULL, err);
    close_rank(&rt);
    return rc;
}

static int tern_ckpt_read_fn_impl(tern_ckpt *c, int rank, const char *name, tern_sink_fn sink,
                      void *ctx, tern_error *err)
{
    tern_error scratch;
    if (!err)
        err = &scratch;
    rank_tables rt;
    if (open_rank(c, rank, &rt, err))
        return -1;
    const seg_rec *s = find_seg(&rt, name);
    int rc = s ? read_segment(c, rank, &rt, s, NULL, sink, ctx, err)
               : tern_error_set(err, ENOENT, "%s: rank %d: segment '%s': not in checkpoint",
                                c->info.path, rank, name);
    close_rank(&rt);
    return rc;
}

/* ---- extents: where a segment's bytes lie in the file ------------------- */

int tern_ckpt_dup_fd(tern_ckpt *c)
{
    if (!c || c->fd < 0) {
        errno = EBADF;
        return -1;
    }
    return fcntl(c->fd, F_DUPFD_CLOEXEC, 0);
}

static int add_extent(tern_extent **v, uint64_t *n, uint64_t *cap, int kind, uint64_t off,
                      uint64_t len, uint64_t foff)
{
    if (*n) {
        tern_extent *p = &(*v)[*n - 1];
        if (p->kind == kind && p->offset + p->len == off &&
            (kind != TERN_EXTENT_FILE || p->file_offset + p->len == foff)) {
            p->len += len;
            return 0;
        }
    }
    if (*n == *cap) {
        uint64_t nc = *cap ? *cap * 2 : 64;
        tern_extent *nv = realloc(*v, nc * sizeof *nv);
        if (!nv)
            return -1;
        *v = nv;
        *cap = nc;
    }
    (*v)[(*n)++] = (tern_extent){off, len, kind == TERN_EXTENT_FILE ? foff : 0, kind, 0};
    return 0;
}

/* RAW chunks that tern_ckpt_extents hands out as file extents. Their CRCs
 * are computed where the bytes lie in the page cache, through read-only
 * windows of the file (64 MiB: a mapping per chunk costs more than the copy
 * it saves), else through a slice buffer that stays in the CPU cache;
 * nothing is copied out. A big segment is split between this thread and one
 * helper when there is a second CPU: the check is then about as fast as a
 * plain read of the file (TERN_STORE_CRC_THREADS=1 keeps it in one). */
enum { FC_OK = 0, FC_BAD = 1, FC_SHORT = 2 };

typedef struct file_chunk {
    uint64_t index, foff;
    uint32_t raw, crc;
    uint32_t got;             /* computed CRC */
    int32_t state;            /* FC_* */
} file_chunk;

typedef struct fc_job {
    int fd;
    file_chunk *v;
    uint64_t n;
    const file_chunk *bad;    /* first failing chunk of this job */
} fc_job;

static void *check_job(void *arg)
{
    enum { SLICE = 256 << 10, WINDOW = 64 << 20, WINDOW_ALIGN = 2 << 20 };
    fc_job *j = arg;
    struct stat st;
    uint64_t fsize = fstat(j->fd, &st) == 0 ? (uint64_t)st.st_size : 0;
    void *win = MAP_FAILED;
    uint64_t win_lo = 0, win_len = 0;
    int use_win = !getenv("TERN_STORE_NO_MMAP");
    unsigned char *slice = NULL;
    for (uint64_t i = 0; i < j->n && !j->bad; i++) {
        file_chunk *f = &j->v[i];
        if (f->foff + f->raw > fsize) {
            f->state = FC_SHORT;
            j->bad = f;
            break;
        }
        if (win != MAP_FAILED && (f->foff < win_lo || f->foff + f->raw > win_lo + win_len)) {
            munmap(win, win_len);
            win = MAP_FAILED;
        }
        if (win == MAP_FAILED && use_win) {
            win_lo = f->foff & ~(uint64_t)(WINDOW_ALIGN - 1);
            win_len = WINDOW;
            if (win_len < f->foff + f->raw - win_lo)
                win_len = f->foff + f->raw - win_lo;
            if (win_lo + win_len > fsize)
                win_len = fsize - win_lo;
            win = mmap(NULL, win_len, PROT_READ, MAP_SHARED, j->fd, (off_t)win_lo);
            if (win == MAP_FAILED)
                use_win = 0;
        }
        uint32_t crc = 0;
        if (win != MAP_FAILED) {
            crc = tern_crc32((const unsigned char *)win + (f->foff - win_lo), f->raw);
        } else {
            if (!slice && !(slice = malloc(SLICE))) {
                f->state = FC_SHORT;
                j->bad = f;
                break;
            }
            for (uint64_t o = 0; o < f->raw;) {
                size_t n = f->raw - o < SLICE ? (size_t)(f->raw - o) : SLICE;
                ssize_t k = pread(j->fd, slice, n, (off_t)(f->foff + o));
                if (k <= 0) {
                    if (k < 0 && errno == EINTR)
                        continue;
                    f->state = FC_SHORT;
                    break;
                }
                crc = tern_crc32_update(crc, slice, (size_t)k);
                o += (uint64_t)k;
            }
        }
        if (f->state == FC_OK && crc != f->crc) {
            f->state = FC_BAD;
            f->got = crc;
        }
        if (f->state != FC_OK)
            j->bad = f;
    }
    if (win != MAP_FAILED)
        munmap(win, win_len);
    free(slice);
    return NULL;
}

static const file_chunk *check_file_chunks(int fd, file_chunk *v, uint64_t n)
{
    uint64_t total = 0;
    for (uint64_t i = 0; i < n; i++)
        total += v[i].raw;
    int threads = sysconf(_SC_NPROCESSORS_ONLN) > 1 ? 2 : 1;
    const char *e = getenv("TERN_STORE_CRC_THREADS");
    if (e && atoi(e) >= 1)
        threads = atoi(e) > 1 ? 2 : 1;
    fc_job jobs[2] = {{fd, v, n, NULL}, {fd, NULL, 0, NULL}};
    pthread_t th;
    int helper = 0;
    if (threads > 1 && total >= (32u << 20)) {
        /* the helper takes the second half of the bytes */
        uint64_t half = 0, m = 0;
        while (m < n && half + v[m].raw <= total / 2)
            half += v[m++].raw;
        jobs[0].n = m;
        jobs[1] = (fc_job){fd, v + m, n - m, NULL};
        helper = m < n && pthread_create(&th, NULL, check_job, &jobs[1]) == 0;
        if (!helper)
            jobs[0].n = n;
    }
    check_job(&jobs[0]);
    if (helper)
        pthread_join(th, NULL);
    return jobs[0].bad ? jobs[0].bad : jobs[1].bad;
}

static int tern_ckpt_extents_impl(tern_ckpt *c, int rank, const char *name, tern_sink_fn sink,
                                  void *ctx, tern_extent **ext, uint64_t *next, tern_error *err)
{
    const char *p = c->info.path;
    *ext = NULL;
    *next = 0;
    rank_tables rt;
    if (open_rank(c, rank, &rt, err))
        return -1;
    const seg_rec *s = find_seg(&rt, name);
    if (!s) {
        close_rank(&rt);
        return tern_error_set(err, ENOENT, "%s: rank %d: segment '%s': not in checkpoint", p,
                              rank, name);
    }
    chunk_rec *ch = NULL;
    int rc = read_chunk_index(p, rt.g, rank, s, &ch, err);
    struct stat fst;
    uint64_t fsize = c->fd >= 0 && fstat(c->fd, &fst) == 0 ? (uint64_t)fst.st_size : 0;
    file_chunk *fc = NULL;
    uint64_t nfc = 0, fc_cap = 0;
    unsigned char *stored = NULL, *raw = NULL;
    size_t stored_cap = 0, raw_cap = 0;
    uint64_t cap = 0, off = 0;
    hid_t data = -1;
    uint32_t data_k = UINT32_MAX;
    haddr_t data_addr = HADDR_UNDEF;
    hsize_t data_dim = 0;
    uint64_t ch_fail = 0;
    for (uint64_t i = 0; rc == 0 && i < s->nchunks; i++) {
        chunk_rec *r = &ch[i];
        ch_fail = i;   /* where the loop stopped, if it failed */
        if (r->raw > TERN_MAX_CHUNK || r->stored > r->raw + r->raw / 8 + 1024 ||
            (r->kind == TERN_CHUNK_RAW && r->stored != r->raw)) {
            rc = tern_error_set(err, EIO, "%s: rank %d: segment '%s': chunk %" PRIu64
                                ": bad sizes in chunk index", p, rank, s->name, i);
            break;
        }
        if (r->stored && r->data != data_k) {
            if (open_data(rt.g, p, rank, s->name, i, r->data, &data, &data_k, err)) {
                rc = -1;
                break;
            }
            hid_t fs = H5Dget_space(data);
            H5Sget_simple_extent_dims(fs, &data_dim, NULL);
            H5Sclose(fs);
            data_addr = H5Dget_offset(data);   /* contiguous: where data.K starts */
        }
        if (r->stored && (r->offset > data_dim || r->stored > data_dim - r->offset)) {
            rc = tern_error_set(err, EIO, "%s: rank %d: segment '%s': chunk %" PRIu64
                                ": cannot read stored bytes (short file?)", p, rank, s->name, i);
            break;
        }
        uint64_t foff = data_addr != HADDR_UNDEF ? (uint64_t)data_addr + r->offset : 0;
        int mappable = r->kind == TERN_CHUNK_RAW && c->fd >= 0 && data_addr != HADDR_UNDEF &&
                       r->raw % TERN_PAGE_ALIGN == 0 && off % TERN_PAGE_ALIGN == 0 &&
                       foff % TERN_PAGE_ALIGN == 0;
        if (mappable) {
            if (foff + r->raw > fsize) {
                rc = tern_error_set(err, EIO, "%s: rank %d: segment '%s': chunk %" PRIu64
                                    ": cannot read stored bytes (short file?)", p, rank,
                                    s->name, i);
                break;
            }
            /* checked below, all together (in two threads when it pays) */
            if (nfc == fc_cap) {
                uint64_t nc = fc_cap ? fc_cap * 2 : 64;
                file_chunk *nv = realloc(fc, nc * sizeof *nv);
                if (!nv) {
                    rc = tern_error_set(err, ENOMEM, "out of memory");
                    break;
                }
                fc = nv;
                fc_cap = nc;
            }
            fc[nfc++] = (file_chunk){i, foff, r->raw, r->crc, 0, 0};
            if (add_extent(ext, next, &cap, TERN_EXTENT_FILE, off, r->raw, foff)) {
                rc = tern_error_set(err, ENOMEM, "out of memory");
                break;
            }
            off += r->raw;
            continue;
        }
        if (r->kind == TERN_CHUNK_ZERO) {
            if (r->crc != tern_zero_crc32(r->raw)) {
                rc = tern_error_set(err, EIO, "%s: rank %d: segment '%s': chunk %" PRIu64
                                    ": CRC mismatch (stored %08x, computed %08x)", p, rank,
                                    s->name, i, r->crc, tern_zero_crc32(r->raw));
                break;
            }
            if (add_extent(ext, next, &cap, TERN_EXTENT_ZERO, off, r->raw, 0)) {
                rc = tern_error_set(err, ENOMEM, "out of memory");
                break;
            }
            off += r->raw;
            continue;
        }
        /* anything else: decoded, checked and handed to sink */
        if (r->stored > stored_cap) {
            free(stored);
            stored = malloc(stored_cap = r->stored);
        }
        if (r->raw > raw_cap) {
            free(raw);
            raw = malloc(raw_cap = r->raw);
        }
        if ((r->stored && !stored) || (r->raw && !raw)) {
            rc = tern_error_set(err, ENOMEM, "out of memory");
            break;
        }
        if (fetch_chunk(data, r, p, rank, s->name, i, stored, raw, err)) {
            rc = -1;
            break;
        }
        if (sink && sink(ctx, off, raw, r->raw, err)) {
            rc = tern_error_prefix(err, "%s: rank %d: segment '%s': ", p, rank, s->name);
            break;
        }
        if (add_extent(ext, next, &cap, TERN_EXTENT_DATA, off, r->raw, 0)) {
            rc = tern_error_set(err, ENOMEM, "out of memory");
            break;
        }
        off += r->raw;
    }
    /* The RAW chunks before the first failure (if any) are checked now; the
     * first bad chunk in segment order is the one reported. */
    uint64_t limit = rc ? ch_fail : UINT64_MAX, nchk = 0;
    while (nchk < nfc && fc[nchk].index < limit)
        nchk++;
    const file_chunk *bad = nchk ? check_file_chunks(c->fd, fc, nchk) : NULL;
    if (bad) {
        if (bad->state == FC_SHORT)
            rc = tern_error_set(err, EIO, "%s: rank %d: segment '%s': chunk %" PRIu64
                                ": cannot read stored bytes (short file?)", p, rank, s->name,
                                bad->index);
        else
            rc = tern_error_set(err, EIO, "%s: rank %d: segment '%s': chunk %" PRIu64
                                ": CRC mismatch (stored %08x, computed %08x)", p, rank,
                                s->name, bad->index, bad->crc, bad->got);
    }
    free(fc);
    if (data >= 0)
        H5Dclose(data);
    free(stored);
    free(raw);
    free(ch);
    close_rank(&rt);
    if (rc) {
        free(*ext);
        *ext = NULL;
        *next = 0;
    }
    return rc;
}

/* ---- arrays ------------------------------------------------------------ */

static hid_t open_array(tern_ckpt *c, const char *name, tern_error *err)
{
    char path[300];
    snprintf(path, sizeof path, "/arrays/%s", name);
    if (H5Lexists(c->file, "/arrays", H5P_DEFAULT) <= 0 ||
        H5Lexists(c->file, path, H5P_DEFAULT) <= 0) {
        tern_error_set(err, ENOENT, "%s: array '%s': not in checkpoint", c->info.path, name);
        return -1;
    }
    hid_t d = H5Dopen2(c->file, path, H5P_DEFAULT);
    if (d < 0)
        tern_error_set(err, EIO, "%s: array '%s': cannot open", c->info.path, name);
    return d;
}

static int tern_ckpt_array_info_impl(tern_ckpt *c, const char *name, size_t *elem_size, uint64_t *total,
                         uint64_t **rank_counts, tern_error *err)
{
    tern_error scratch;
    if (!err)
        err = &scratch;
    hid_t d = open_array(c, name, err);
    if (d < 0)
        return -1;
    uint64_t es = 0;
    uint64_t *cnts = NULL;
    size_t n = 0;
    hid_t sp = H5Dget_space(d);
    hsize_t dim = 0;
    H5Sget_simple_extent_dims(sp, &dim, NULL);
    H5Sclose(sp);
    int rc = 0;
    if (tern_attr_get_u64(d, "elem_size", &es) || tern_attr_get_u64s(d, "rank_counts", &cnts, &n) ||
        (int)n != c->info.nranks)
        rc = tern_error_set(err, EIO, "%s: array '%s': attributes missing", c->info.path, name);
    H5Dclose(d);
    if (rc) {
        free(cnts);
        return -1;
    }
    if (elem_size)
        *elem_size = es;
    if (total)
        *total = dim;
    if (rank_counts)
        *rank_counts = cnts;
    else
        free(cnts);
    return 0;
}

static int tern_ckpt_read_array_impl(tern_ckpt *c, const char *name, uint64_t offset, uint64_t count,
                         void *buf, tern_error *err)
{
    tern_error scratch;
    if (!err)
        err = &scratch;
    const char *p = c->info.path;
    size_t es;
    uint64_t total;
    if (tern_ckpt_array_info(c, name, &es, &total, NULL, err))
        return -1;
    if (offset > total || count > total - offset)
        return tern_error_set(err, EINVAL, "%s: array '%s': range [%" PRIu64 ", +%" PRIu64
                              ") beyond its %" PRIu64 " elements", p, name, offset, count, total);
    if (!count)
        return 0;
    char cpath[300];
    snprintf(cpath, sizeof cpath, "arrays_crc/%s", name);
    array_crc_rec *rows = NULL;
    uint64_t nrows = 0;
    hid_t root = c->file;
    if (H5Lexists(root, "arrays_crc", H5P_DEFAULT) <= 0 ||
        read_table(root, cpath, tern_h5_array_crc_type(), sizeof *rows, (void **)&rows, &nrows))
        return tern_error_set(err, EIO, "%s: array '%s': CRC table missing", p, name);
    hid_t d = open_array(c, name, err);
    if (d < 0) {
        free(rows);
        return -1;
    }
    hid_t t = H5Dget_type(d);
    unsigned char *tmp = NULL;
    size_t tmp_cap = 0;
    int rc = 0;
    uint64_t end = offset + count, covered = 0;
    /* Whole CRC pieces are read and checked; the requested part is copied. */
    for (uint64_t i = 0; i < nrows && rc == 0; i++) {
        array_crc_rec *r = &rows[i];
        if (r->offset + r->count <= offset || r->offset >= end)
            continue;
        size_t bytes = r->count * es;
        if (bytes > tmp_cap) {
            free(tmp);
            tmp = malloc(tmp_cap = bytes);
        }
        if (!tmp) {
            rc = tern_error_set(err, ENOMEM, "out of memory");
            break;
        }
        hid_t fs = H5Dget_space(d);
        hsize_t st = r->offset, cn = r->count;
        herr_t e = -1;
        if (r->offset <= total && r->count <= total - r->offset) {
            H5Sselect_hyperslab(fs, H5S_SELECT_SET, &st, NULL, &cn, NULL);
            hid_t ms = H5Screate_simple(1, &cn, NULL);
            e = H5Dread(d, t, ms, fs, H5P_DEFAULT, tmp);
            H5Sclose(ms);
        }
        H5Sclose(fs);
        if (e < 0) {
            rc = tern_error_set(err, EIO, "%s: array '%s': cannot read elements %" PRIu64
                                "..%" PRIu64, p, name, r->offset, r->offset + r->count);
            break;
        }
        uint32_t crc = tern_crc32(tmp, bytes);
        if (crc != r->crc) {
            rc = tern_error_set(err, EIO, "%s: rank %u: array '%s': elements %" PRIu64 "..%"
                                PRIu64 ": CRC mismatch (stored %08x, computed %08x)", p,
                                r->rank, name, r->offset, r->offset + r->count, r->crc, crc);
            break;
        }
        uint64_t lo = r->offset > offset ? r->offset : offset;
        uint64_t hi = r->offset + r->count < end ? r->offset + r->count : end;
        memcpy((char *)buf + (lo - offset) * es, tmp + (lo - r->offset) * es, (hi - lo) * es);
        covered += hi - lo;
    }
    if (rc == 0 && covered != count)
        rc = tern_error_set(err, EIO, "%s: array '%s': CRC table does not cover the range", p, name);
    free(tmp);
    free(rows);
    H5Tclose(t);
    H5Dclose(d);
    return rc;
}

/* ---- verify ------------------------------------------------------------ */

static int verify_arrays(tern_ckpt *c, tern_error *err)
{
    if (H5Lexists(c->file, "/arrays", H5P_DEFAULT) <= 0)
        return 0;
    hid_t g = H5Gopen2(c->file, "/arrays", H5P_DEFAULT);
    H5G_info_t gi;
    int rc = 0;
    if (g < 0 || H5Gget_info(g, &gi) < 0)
        rc = tern_error_set(err, EIO, "%s: /arrays unreadable", c->info.path);
    for (hsize_t i = 0; rc == 0 && i < gi.nlinks; i++) {
        char name[TERN_NAME_MAX + 2];
        if (H5Lget_name_by_idx(g, ".", H5_INDEX_NAME, H5_ITER_INC, i, name, sizeof name,
                               H5P_DEFAULT) < 0) {
            rc = tern_error_set(err, EIO, "%s: /arrays unreadable", c->info.path);
            break;
        }
        size_t es;
        uint64_t total;
        if (tern_ckpt_array_info(c, name, &es, &total, NULL, err))
            return -1;
        /* read in slices, every piece is checked on the way */
        uint64_t step = (64u << 20) / es ? (64u << 20) / es : 1;
        void *buf = malloc((total < step ? total : step) * es + 1);
        for (uint64_t o = 0; buf && rc == 0 && o < total; o += step)
            rc = tern_ckpt_read_array(c, name, o, total - o < step ? total - o : step, buf, err);
        free(buf);
    }
    if (g >= 0)
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
        rank_tables rt;
        int rc = open_rank(c, r, &rt, &e);
        for (uint64_t i = 0; rc == 0 && i < rt.nsegs; i++)
            rc = read_segment(c, r, &rt, &rt.segs[i], NULL, NULL, NULL, &e);
        if (rt.g >= 0)
            close_rank(&rt);
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

/* ---- public entry points: HDF5 printing muted while they run ---------- */

void tern_ckpt_close(tern_ckpt *c)
{
    tern_h5_mute_t m = tern_h5_mute();
    tern_ckpt_close_impl(c);
    tern_h5_unmute(m);
}

int tern_ckpt_open(const char *path, tern_ckpt **out, tern_error *err)
{
    tern_h5_mute_t m = tern_h5_mute();
    int rc = tern_ckpt_open_impl(path, out, err);
    tern_h5_unmute(m);
    return rc;
}

int tern_ckpt_open_epoch(const char *dir, uint64_t epoch, tern_ckpt **out, tern_error *err)
{
    tern_h5_mute_t m = tern_h5_mute();
    int rc = tern_ckpt_open_epoch_impl(dir, epoch, out, err);
    tern_h5_unmute(m);
    return rc;
}

int tern_ckpt_segments(tern_ckpt *c, int rank, tern_segment_info **segs, int *nsegs, tern_error *err)
{
    tern_h5_mute_t m = tern_h5_mute();
    int rc = tern_ckpt_segments_impl(c, rank, segs, nsegs, err);
    tern_h5_unmute(m);
    return rc;
}

int tern_ckpt_read(tern_ckpt *c, int rank, const char *name, void *buf, uint64_t len, tern_error *err)
{
    tern_h5_mute_t m = tern_h5_mute();
    int rc = tern_ckpt_read_impl(c, rank, name, buf, len, err);
    tern_h5_unmute(m);
    return rc;
}

int tern_ckpt_read_fn(tern_ckpt *c, int rank, const char *name, tern_sink_fn sink, void *ctx, tern_error *err)
{
    tern_h5_mute_t m = tern_h5_mute();
    int rc = tern_ckpt_read_fn_impl(c, rank, name, sink, ctx, err);
    tern_h5_unmute(m);
    return rc;
}

int tern_ckpt_extents(tern_ckpt *c, int rank, const char *name, tern_sink_fn sink, void *ctx,
                      tern_extent **ext, uint64_t *next, tern_error *err)
{
    tern_error scratch;
    if (!err)
        err = &scratch;
    tern_h5_mute_t m = tern_h5_mute();
    int rc = tern_ckpt_extents_impl(c, rank, name, sink, ctx, ext, next, err);
    tern_h5_unmute(m);
    return rc;
}

int tern_ckpt_array_info(tern_ckpt *c, const char *name, size_t *elem_size, uint64_t *total, uint64_t **rank_counts, tern_error *err)
{
    tern_h5_mute_t m = tern_h5_mute();
    int rc = tern_ckpt_array_info_impl(c, name, elem_size, total, rank_counts, err);
    tern_h5_unmute(m);
    return rc;
}

int tern_ckpt_read_array(tern_ckpt *c, const char *name, uint64_t offset, uint64_t count, void *buf, tern_error *err)
{
    tern_h5_mute_t m = tern_h5_mute();
    int rc = tern_ckpt_read_array_impl(c, name, offset, count, buf, err);
    tern_h5_unmute(m);
    return rc;
}

int tern_ckpt_verify(tern_ckpt *c, tern_verify_report_fn report, void *ctx, tern_error *err)
{
    tern_h5_mute_t m = tern_h5_mute();
    int rc = tern_ckpt_verify_impl(c, report, ctx, err);
    tern_h5_unmute(m);
    return rc;
}
