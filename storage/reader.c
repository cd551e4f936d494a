/* Reading checkpoints: plain sec2 HDF5, no MPI. Every chunk handed out has
 * been decoded and CRC-checked; every error names the file, and where it
 * applies the rank, segment and chunk. This file opens a checkpoint (the
 * file itself, its root attributes, its node records) and holds the public
 * entry points; read_seg.c reads rank tables and chunks, read_arrays.c
 * global arrays, read_extents.c hands out where a segment's bytes lie in the
 * file, read_verify.c checks a whole checkpoint. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "reader_int.h"

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

/* ---- node records ------------------------------------------------------ */

/* The node's topology: a scalar string data set, at most the file's size. */
static char *read_topology(tern_ckpt *c, hid_t g)
{
    hid_t d;
    tern_h5_hdr h;
    char why[256];
    char *xml = NULL;
    if (tern_r_open_obj(c, g, "topology", 1, &d, &h, why, sizeof why)) {
        tern_h5_quiet_at_exit();
        return strdup("");
    }
    if (h.type_class == TERN_H5T_STRING && h.rank == 0 && h.npoints == 1 &&
        h.type_size < c->fsize && (xml = calloc(1, (size_t)h.type_size + 1))) {
        hid_t mt = H5Tcopy(H5T_C_S1);
        H5Tset_size(mt, (size_t)h.type_size + 1);
        if (H5Dread(d, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, xml) < 0)
            xml[0] = '\0';
        H5Tclose(mt);
    }
    H5Dclose(d);
    if (!xml || !xml[0])
        tern_h5_quiet_at_exit();   /* a damaged topology is no error, but HDF5 saw one */
    return xml ? xml : strdup("");
}

/* Node i: host, ranks, topology. A missing host or topology reads as "". */
static int read_node(tern_ckpt *c, int i, tern_node_info *n, tern_error *err)
{
    char name[64], why[256];
    snprintf(name, sizeof name, "/nodes/%06d", i);
    hid_t g;
    int rc = tern_r_open_obj(c, c->file, name, 0, &g, NULL, why, sizeof why);
    if (rc)
        return rc > 0 ? tern_error_set(err, EINVAL, "%s: damaged checkpoint: node records "
                                       "missing", c->info.path)
                      : tern_error_set(err, EIO, "%s: %s: %s", c->info.path, name, why);
    tern_attr_get_str(g, "host", n->host, sizeof n->host);
    size_t cnt = 0;
    int32_t *rk = NULL;
    rc = tern_attr_get_i32s(g, "ranks", &rk, &cnt) || cnt > (size_t)INT32_MAX ? -1 : 0;
    n->ranks = rk;
    n->nranks = rc ? 0 : (int)cnt;
    n->topology_xml = read_topology(c, g);
    H5Gclose(g);
    if (rc || !n->topology_xml)
        return tern_error_set(err, EINVAL, "%s: damaged checkpoint: node records missing",
                              c->info.path);
    return 0;
}

/* The node records list every rank 0..nranks-1 exactly once: what bounds
 * nranks by what the file holds (a damaged nranks of 2^31-1 would make
 * every reader walk two billion missing ranks). */
static int ranks_covered(const tern_ckpt *c)
{
    const tern_ckpt_info *in = &c->info;
    uint64_t listed = 0;
    for (int i = 0; i < in->nnodes; i++)
        listed += (uint64_t)in->nodes[i].nranks;
    if (listed != (uint64_t)in->nranks)
        return -1;
    unsigned char *seen = calloc((size_t)listed, 1);
    int rc = seen ? 0 : -1;
    for (int i = 0; i < in->nnodes && !rc; i++)
        for (int j = 0; j < in->nodes[i].nranks && !rc; j++) {
            int32_t r = in->nodes[i].ranks[j];
            if (r < 0 || r >= in->nranks || seen[r]++)
                rc = -1;
        }
    free(seen);
    return rc;
}

static int read_nodes(tern_ckpt *c, tern_error *err)
{
    const char *p = c->info.path;
    int32_t nn = 0;
    hid_t g;
    H5G_info_t gi;
    char why[256];
    int rc = tern_r_open_obj(c, c->file, "/nodes", 0, &g, NULL, why, sizeof why);
    if (rc < 0)
        return tern_error_set(err, EIO, "%s: /nodes: %s", p, why);
    if (rc == 0 && H5Gget_info(g, &gi) < 0)
        gi.nlinks = 0;
    if (rc == 0)
        H5Gclose(g);
    if (rc || tern_attr_get_i32(c->file, "nnodes", &nn) || nn < 1 || (hsize_t)nn > gi.nlinks ||
        nn > c->info.nranks)
        return tern_error_set(err, EINVAL, "%s: damaged checkpoint: node records missing", p);
    c->info.nodes = calloc((size_t)nn, sizeof *c->info.nodes);
    if (!c->info.nodes)
        return tern_error_set(err, ENOMEM, "%s: out of memory", p);
    for (int i = 0; i < nn; i++) {
        c->info.nnodes = i + 1;
        if (read_node(c, i, &c->info.nodes[i], err))
            return -1;
    }
    if (ranks_covered(c))
        return tern_error_set(err, EINVAL, "%s: damaged checkpoint: the node records do not "
                              "list ranks 0..%d once each (nranks %d)", p, c->info.nranks - 1,
                              c->info.nranks);
    return 0;
}

/* ---- the file ---------------------------------------------------------- */

/* The groups below the root that readers walk through: their headers are
 * checked before HDF5 looks anything up in them. Missing ones are fine
 * here; whoever needs one reports it. */
static int check_top(tern_ckpt *c, tern_error *err)
{
    static const char *const top[] = {"/attrs", "/nodes", "/ranks", "/arrays", "/arrays_crc"};
    char why[256];
    H5O_info_t oi;
    tern_h5_hdr h = {0};
    int rc = H5Oget_info2(c->file, &oi, H5O_INFO_BASIC) < 0
                 ? -1 : tern_h5_check_header(c->fd, c->fsize, oi.addr, "tern_format_version", &h,
                                             why, sizeof why);
    if (rc && !h.has_attr)   /* some other HDF5 file, or too damaged to tell */
        return tern_error_set(err, EINVAL, "%s: not a tern checkpoint (no tern_format_version)",
                              c->info.path);
    if (rc)
        return tern_error_set(err, EIO, "%s: /: damaged object header (%s)", c->info.path, why);
    for (size_t i = 0; i < sizeof top / sizeof *top; i++) {
        hid_t g;
        rc = tern_r_open_obj(c, c->file, top[i], 0, &g, NULL, why, sizeof why);
        if (rc < 0)
            return tern_error_set(err, EIO, "%s: %s: %s", c->info.path, top[i], why);
        if (rc == 0)
            H5Gclose(g);
    }
    return 0;
}

/* Root attributes into c->info; API mode from /attrs. */
static int read_root(tern_ckpt *c, tern_error *err)
{
    tern_ckpt_info *in = &c->info;
    hid_t f = c->file;
    int32_t nr = -1;
    int bad = tern_attr_get_str(f, "job", in->job, sizeof in->job) |
              tern_attr_get_u64(f, "epoch", &in->epoch) |
              tern_attr_get_i32(f, "nranks", &nr) |
              tern_attr_get_i64(f, "created", &in->created) |
              tern_attr_get_u64(f, "chunk_bytes", &c->chunk_bytes);
    tern_attr_get_str(f, "tern_version", in->tern_version, sizeof in->tern_version);
    tern_attr_get_str(f, "mpi_version", in->mpi_version, sizeof in->mpi_version);
    int32_t minor = 0;
    if (tern_attr_get_i32(f, "tern_format_minor", &minor) == 0 && minor > 0)
        c->minor = minor;   /* missing or damaged: the oldest, whose rules are the fewest */
    tern_attr_get_u64(f, "logical_bytes", &in->logical_bytes);
    tern_attr_get_u64(f, "stored_bytes", &in->stored_bytes);
    in->nranks = nr;
    if (bad || nr < 1)
        return tern_error_set(err, EINVAL, "%s: damaged checkpoint: root attributes missing",
                              in->path);
    if (!c->chunk_bytes || c->chunk_bytes > TERN_MAX_CHUNK)
        return tern_error_set(err, EINVAL, "%s: damaged checkpoint: chunk_bytes %" PRIu64
                              " out of range", in->path, c->chunk_bytes);
    hid_t g;
    char why[256], mode[16] = "", proto[16] = "";
    if (tern_r_open_obj(c, f, "/attrs", 0, &g, NULL, why, sizeof why) == 0) {
        tern_attr_get_str(g, "tern_mode", mode, sizeof mode);
        tern_attr_get_str(g, "tern_protocol", proto, sizeof proto);
        H5Gclose(g);
    }
    c->api = !strcmp(mode, "api");
    c->protocol = atoi(proto);
    return 0;
}

/* Version, root attributes, node records of the open file. */
static int read_header(tern_ckpt *c, tern_error *err)
{
    const char *path = c->info.path;
    hid_t fcpl = H5Fget_create_plist(c->file);
    size_t so = 0, sl = 0;
    if (fcpl >= 0) {
        H5Pget_sizes(fcpl, &so, &sl);
        H5Pclose(fcpl);
    }
    if (so != 8 || sl != 8)   /* what every writer makes and h5check.h parses */
        return tern_error_set(err, EINVAL, "%s: damaged HDF5 file: %zu-byte addresses, %zu-byte "
                              "lengths", path, so, sl);
    if (check_top(c, err))
        return -1;
    int32_t ver = 0;
    if (tern_attr_get_i32(c->file, "tern_format_version", &ver))
        return tern_error_set(err, EINVAL, "%s: not a tern checkpoint (no tern_format_version)",
                              path);
    if (ver > TERN_FORMAT_VERSION)
        return tern_error_set(err, EPROTONOSUPPORT, "%s: format version %d is newer than this "
                              "tern reads (%d); use a newer tern", path, ver, TERN_FORMAT_VERSION);
    c->info.format_version = ver;
    return read_root(c, err) || read_nodes(c, err) ? -1 : 0;
}

/* A regular file, opened without blocking (a FIFO or a device would block
 * a plain open or read forever, or do worse): stat first, so that nothing
 * but a regular file is opened at all, then fstat of the descriptor to be
 * sure it is the same file. Returns the descriptor, or -1 with err. */
static int open_regular(const char *path, struct stat *st, tern_error *err)
{
    if (stat(path, st) < 0)
        return tern_error_set(err, errno, "%s: %s", path,
                              errno == ENOENT ? "no such file or directory" : strerror(errno));
    if (!S_ISREG(st->st_mode))
        return tern_error_set(err, EINVAL, "%s: not a regular file", path);
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return tern_error_set(err, errno, "%s: %s", path, strerror(errno));
    struct stat now;
    if (fstat(fd, &now) < 0 || !S_ISREG(now.st_mode) || now.st_dev != st->st_dev ||
        now.st_ino != st->st_ino) {
        close(fd);
        return tern_error_set(err, EINVAL, "%s: not a regular file", path);
    }
    *st = now;
    return fd;
}

/* HDF5 opens the very file checked above: through /proc/self/fd when there
 * is one (a path replaced in between is not followed), else by path and
 * then compared. */
static hid_t h5_open(const char *path, int fd, const struct stat *st, char *h5, size_t len)
{
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    H5Pset_fapl_sec2(fapl);
#if H5_VERSION_GE(1, 10, 7)
    /* A committed checkpoint never changes, so no lock is needed; and flock
     * fails on some shared file systems, which would make a restart on
     * other nodes fail to read a perfectly good file. */
    H5Pset_file_locking(fapl, 0, 1);
#endif
    char self[64];
    snprintf(self, sizeof self, "/proc/self/fd/%d", fd);
    hid_t f = H5Fopen(access(self, F_OK) == 0 ? self : path, H5F_ACC_RDONLY, fapl);
    tern_h5_last_error(h5, len);  /* before any call clears the stack */
    H5Pclose(fapl);
    int *vfd = NULL;
    struct stat now;
    if (f >= 0 && (H5Fget_vfd_handle(f, H5P_DEFAULT, (void **)&vfd) < 0 || !vfd ||
                   fstat(*vfd, &now) < 0 || now.st_dev != st->st_dev || now.st_ino != st->st_ino)) {
        H5Fclose(f);
        snprintf(h5, len, "the file changed while being opened");
        return -1;
    }
    return f;
}

static int open_file(const char *path, tern_ckpt **out, tern_error *err)
{
    size_t plen = strlen(path);
    if (plen > 8 && !strcmp(path + plen - 8, ".partial"))
        return tern_error_set(err, EINVAL, "%s: an unfinished write, not a committed checkpoint",
                              path);
    struct stat st;
    int fd = open_regular(path, &st, err);
    if (fd < 0)
        return -1;
    unsigned char sig[8] = {0};
    static const unsigned char h5sig[8] = {0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'};
    char h5[256] = "";
    hid_t f = -1;
    int noth5 = pread(fd, sig, sizeof sig, 0) != 8 || memcmp(sig, h5sig, 8);
    if (!noth5)
        f = h5_open(path, fd, &st, h5, sizeof h5);
    close(fd);
    if (noth5)
        return tern_error_set(err, EINVAL, "%s: not an HDF5 file", path);
    if (f < 0) {
        if (strstr(h5, "truncated"))
            return tern_error_set(err, EIO, "%s: truncated file (%lld bytes on disk)", path,
                                  (long long)st.st_size);
        return tern_error_set(err, EIO, "%s: damaged HDF5 file: %s", path, h5);
    }
    tern_ckpt *c = calloc(1, sizeof *c);
    if (!c) {
        H5Fclose(f);
        return tern_error_set(err, ENOMEM, "%s: out of memory", path);
    }
    c->file = f;
    int *vfd = NULL;
    H5Fget_vfd_handle(f, H5P_DEFAULT, (void **)&vfd);   /* checked by h5_open */
    c->fd = *vfd;
    c->fsize = (uint64_t)st.st_size;
    snprintf(c->info.path, sizeof c->info.path, "%s", path);
    if (read_header(c, err)) {
        tern_ckpt_close_impl(c);
        return -1;
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

/* ---- segments ---------------------------------------------------------- */

static int tern_ckpt_segments_impl(tern_ckpt *c, int rank, tern_segment_info **segs, int *nsegs,
                       tern_error *err)
{
    tern_error scratch;
    if (!err)
        err = &scratch;
    rank_tables rt;
    if (tern_r_open_rank(c, rank, &rt, err))
        return -1;
    if (rt.nsegs > (uint64_t)INT32_MAX) {
        tern_r_close_rank(&rt);
        return tern_error_set(err, EIO, "%s: rank %d: %" PRIu64 " segments", c->info.path, rank,
                              rt.nsegs);
    }
    tern_segment_info *s = calloc(rt.nsegs ? rt.nsegs : 1, sizeof *s);
    if (!s) {
        tern_r_close_rank(&rt);
        return tern_error_set(err, ENOMEM, "%s: rank %d: out of memory", c->info.path, rank);
    }
    for (uint64_t i = 0; i < rt.nsegs; i++) {
        snprintf(s[i].name, sizeof s[i].name, "%s", rt.segs[i].name);
        s[i].size = rt.segs[i].size;
        s[i].stored = rt.segs[i].stored;
    }
    *segs = s;
    *nsegs = (int)rt.nsegs;
    tern_r_close_rank(&rt);
    return 0;
}

/* Segment name of rank into buf, whose size *len must be its size (len NULL:
 * to sink instead). */
static int read_impl(tern_ckpt *c, int rank, const char *name, const uint64_t *len, void *buf,
                     tern_sink_fn sink, void *ctx, tern_error *err)
{
    tern_error scratch;
    if (!err)
        err = &scratch;
    rank_tables rt;
    const seg_rec *s;
    if (tern_r_open_seg(c, rank, name, &rt, &s, err))
        return -1;
    int rc = len && s->size != *len
                 ? tern_error_set(err, EINVAL, "%s: rank %d: segment '%s': has %" PRIu64
                                  " bytes, caller expects %" PRIu64, c->info.path, rank, name,
                                  s->size, *len)
                 : tern_r_read_segment(c, rank, &rt, s, buf, sink, ctx, err);
    tern_r_close_rank(&rt);
    return rc;
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
    return tern_h5_reader_done(m, tern_ckpt_open_impl(path, out, err));
}

int tern_ckpt_open_epoch(const char *dir, uint64_t epoch, tern_ckpt **out, tern_error *err)
{
    tern_h5_mute_t m = tern_h5_mute();
    return tern_h5_reader_done(m, tern_ckpt_open_epoch_impl(dir, epoch, out, err));
}

int tern_ckpt_segments(tern_ckpt *c, int rank, tern_segment_info **segs, int *nsegs, tern_error *err)
{
    tern_h5_mute_t m = tern_h5_mute();
    return tern_h5_reader_done(m, tern_ckpt_segments_impl(c, rank, segs, nsegs, err));
}

int tern_ckpt_read(tern_ckpt *c, int rank, const char *name, void *buf, uint64_t len, tern_error *err)
{
    tern_h5_mute_t m = tern_h5_mute();
    return tern_h5_reader_done(m, read_impl(c, rank, name, &len, buf, NULL, NULL, err));
}

int tern_ckpt_read_fn(tern_ckpt *c, int rank, const char *name, tern_sink_fn sink, void *ctx, tern_error *err)
{
    tern_h5_mute_t m = tern_h5_mute();
    return tern_h5_reader_done(m, read_impl(c, rank, name, NULL, NULL, sink, ctx, err));
}

int tern_ckpt_array_info(tern_ckpt *c, const char *name, size_t *elem_size, uint64_t *total, uint64_t **rank_counts, tern_error *err)
{
    tern_h5_mute_t m = tern_h5_mute();
    return tern_h5_reader_done(m, tern_r_array_info(c, name, elem_size, total, rank_counts, err));
}

int tern_ckpt_read_array(tern_ckpt *c, const char *name, uint64_t offset, uint64_t count, void *buf, tern_error *err)
{
    tern_h5_mute_t m = tern_h5_mute();
    return tern_h5_reader_done(m, tern_r_read_array(c, name, offset, count, buf, err));
}

int tern_ckpt_array_desc(tern_ckpt *c, const char *name, tern_array_desc *desc, tern_error *err)
{
    tern_h5_mute_t m = tern_h5_mute();
    return tern_h5_reader_done(m, tern_r_array_desc(c, name, desc, err));
}

int tern_ckpt_arrays(tern_ckpt *c, tern_array_entry **arrs, int *n, tern_error *err)
{
    tern_h5_mute_t m = tern_h5_mute();
    return tern_h5_reader_done(m, tern_r_arrays(c, arrs, n, err));
}
