/* The commit's layout phase (phases 1 and 2 in writer.c): one allgather
 * agrees on the plan, then groups, tables, arrays and node records are
 * created collectively (parallel HDF5 wants every rank to create every
 * object, with the same sizes), and each rank writes its slabs of the global
 * arrays and, on a node leader, the node's topology.
 *
 * Every rank makes every HDF5 call here, in the same order and with the same
 * arguments, whatever went wrong on it before: parallel HDF5 keeps one
 * metadata cache per rank and needs them identical, and a rank that skipped
 * a creation would leave the others waiting for it in the file's collective
 * close (docs/storage.md, "When things go wrong"). So the stages never stop
 * early: a rank's own failure (a raw write on a full disk) only makes it skip
 * its remaining raw writes, and is agreed on at the end of the phase.
 * Everything the phase allocates is allocated before an exchange that tells
 * every rank whether some rank is short of memory, never between two
 * collective calls. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "topo.h"
#include "writer_int.h"

#ifndef TERN_VERSION
#define TERN_VERSION "0.0.0"
#endif

/* Records go to the file as they lie in memory (tern_w_write_rows), and the
 * file's record types are little-endian (layout.c). */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the writer stores its records as they lie in memory: little-endian hosts only"
#endif

hid_t tern_w_raw_dcpl(void)
{
    /* contiguous and allocated at creation, so that the dataset's address is
     * known at once and tern writes its bytes itself; never filled, so HDF5
     * writes nothing there */
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    H5Pset_layout(dcpl, H5D_CONTIGUOUS);
    H5Pset_alloc_time(dcpl, H5D_ALLOC_TIME_EARLY);
    H5Pset_fill_time(dcpl, H5D_FILL_TIME_NEVER);
    return dcpl;
}

int tern_w_write_rows(tern_ckpt_writer *w, hid_t d, const char *phase, const char *what,
                      size_t row_bytes, uint64_t first, uint64_t n, const void *buf,
                      tern_error *err)
{
    if (!n)
        return 0;
    /* Not H5Dwrite: a write that fails inside HDF5's MPI-IO driver leaves
     * nothing but an MPI error class to report, and the driver's idea of the
     * end of file unknown (the reservation needs it, write_close.c). */
    haddr_t base = H5Dget_offset(d);
    if (base == HADDR_UNDEF)
        return tern_error_set(err, EIO, "%s: rank %d: %s has no file offset", w->partial,
                              w->rank, what);
    int e = tern_w_injected(w, phase);
    struct iovec v = {(void *)buf, (size_t)(n * row_bytes)};
    if (!e && tern_w_pwritev(w->fd, &v, 1, (off_t)(base + first * row_bytes)))
        e = errno;
    if (e)
        return tern_error_set(err, e, "%s: rank %d: writing %s: %s", w->partial, w->rank, what,
                              strerror(e));
    return 0;
}

/* Keeps one failure: every stage runs whatever happened before it (its HDF5
 * calls are collective), and err keeps the first message. */
static void keep_first(int *local, tern_error *err, int rc, const tern_error *e)
{
    if (rc && !*local) {
        *local = rc;
        *err = *e;
    }
}

/* Rank 0's root metadata, identical on every rank (attribute writes are
 * collective in parallel HDF5 and must carry the same values). One
 * broadcast carries it all, user attributes included when they are small. */
typedef struct root_meta {
    char mpi[MPI_MAX_LIBRARY_VERSION_STRING];
    char job[256];
    int64_t created;
    uint64_t blob_len;        /* user attributes as "k\0v\0k\0v\0" */
    char blob[3072];          /* their first piece; the rest follows in pieces this size */
} root_meta;

/* What the layout allocates, allocated before the exchange that follows it
 * (the plan's allgather, or the counts' one for the attribute blob). */
typedef struct layout_bufs {
    root_meta rm;
    char *blob;               /* rank 0's user attributes, on every rank */
    uint64_t *counts;         /* [size][1 + narrs]: each rank's failure flag, then its array counts */
    int *nodeof;              /* node number of each leader rank */
    int32_t *ranks;           /* the ranks of one node */
    uint64_t *cnts;           /* one array's counts, by rank */
    array_crc_rec *crc;       /* CRC rows of this rank's largest slab */
} layout_bufs;

static uint64_t crc_per(const warr *a)   /* elements per array CRC piece */
{
    uint64_t per = TERN_ARRAY_CRC_PIECE / a->elem;
    return per ? per : 1;
}

/* Rank 0's user attributes as "k\0v\0k\0v\0" (NULL when out of memory). */
static char *pack_attrs(const tern_ckpt_writer *w, uint64_t *len)
{
    *len = 0;
    for (int i = 0; i < w->nattrs; i++)
        *len += strlen(w->attrs[i].key) + strlen(w->attrs[i].value) + 2;
    char *blob = malloc(*len + 1), *p = blob;
    for (int i = 0; blob && i < w->nattrs; i++) {
        p = stpcpy(p, w->attrs[i].key) + 1;
        p = stpcpy(p, w->attrs[i].value) + 1;
    }
    if (blob)
        blob[*len] = '\0';
    return blob;
}

static int bufs_alloc(tern_ckpt_writer *w, layout_bufs *b, tern_error *err)
{
    size_t n = (size_t)w->size;
    uint64_t rows = 1;
    for (int i = 0; i < w->narrs; i++) {
        uint64_t r = (w->arrs[i].count + crc_per(&w->arrs[i]) - 1) / crc_per(&w->arrs[i]);
        rows = r > rows ? r : rows;
    }
    b->counts = malloc(n * (1 + (size_t)w->narrs) * sizeof *b->counts);
    b->nodeof = malloc(n * sizeof *b->nodeof);
    b->ranks = malloc(n * sizeof *b->ranks);
    b->cnts = malloc(n * sizeof *b->cnts);
    b->crc = malloc(rows * sizeof *b->crc);
    if (w->rank == 0)
        b->blob = pack_attrs(w, &b->rm.blob_len);
    if (!b->counts || !b->nodeof || !b->ranks || !b->cnts || !b->crc || (w->rank == 0 && !b->blob))
        return tern_error_set(err, ENOMEM, "rank %d: out of memory", w->rank);
    return 0;
}

static void bufs_free(layout_bufs *b)
{
    free(b->blob);
    free(b->counts);
    free(b->nodeof);
    free(b->ranks);
    free(b->cnts);
    free(b->crc);
}

static void fill_root_meta(const tern_ckpt_writer *w, root_meta *rm)
{
    snprintf(rm->mpi, sizeof rm->mpi, "none (serial)");
    if (!tern_w_serial(w)) {
        int len = 0;
        PMPI_Get_library_version(rm->mpi, &len);
        rm->mpi[len < (int)sizeof rm->mpi ? len : (int)sizeof rm->mpi - 1] = '\0';
        /* Open MPI's string ends with a newline and can run on; keep line 1. */
        char *nl = strchr(rm->mpi, '\n');
        if (nl)
            *nl = '\0';
    }
    snprintf(rm->job, sizeof rm->job, "%s", w->job);
    rm->created = (int64_t)time(NULL);
}

/* Rank 0's root metadata and user attributes, on every rank. Attributes
 * longer than rm.blob follow in pieces of that size, so that a rank that
 * cannot allocate the blob still takes part in every broadcast. Returns 0,
 * or -1 when this rank is out of memory. */
static int share_root_meta(tern_ckpt_writer *w, layout_bufs *b)
{
    root_meta *rm = &b->rm;
    size_t piece = sizeof rm->blob;
    if (w->rank == 0) {
        fill_root_meta(w, rm);
        memcpy(rm->blob, b->blob, rm->blob_len < piece ? rm->blob_len : piece);
    }
    if (!tern_w_serial(w)) {
        PMPI_Bcast(rm, sizeof *rm, MPI_BYTE, 0, w->comm);
        if (w->rank != 0 && (b->blob = malloc(rm->blob_len + 1))) {
            memcpy(b->blob, rm->blob, rm->blob_len < piece ? rm->blob_len : piece);
            b->blob[rm->blob_len] = '\0';
        }
        for (uint64_t off = piece; off < rm->blob_len; off += piece) {
            size_t n = rm->blob_len - off < piece ? (size_t)(rm->blob_len - off) : piece;
            if (w->rank == 0)
                memcpy(rm->blob, b->blob + off, n);
            PMPI_Bcast(rm->blob, (int)n, MPI_BYTE, 0, w->comm);
            if (w->rank != 0 && b->blob)
                memcpy(b->blob + off, rm->blob, n);
        }
    }
    snprintf(w->job, sizeof w->job, "%s", rm->job);
    return b->blob ? 0 : -1;
}

static int write_root_attrs(tern_ckpt_writer *w, const layout_bufs *b, int nnodes, tern_error *err)
{
    const root_meta *rm = &b->rm;
    hid_t f = w->file;
    int rc = 0;
    rc |= tern_attr_put_i32(f, "tern_format_version", TERN_FORMAT_VERSION);
    rc |= tern_attr_put_i32(f, "tern_format_minor", tern_w_minor0() ? 0 : TERN_FORMAT_MINOR);
    rc |= tern_attr_put_str(f, "job", w->job);
    rc |= tern_attr_put_u64(f, "epoch", w->epoch);
    rc |= tern_attr_put_i32(f, "nranks", w->size);
    rc |= tern_attr_put_i64(f, "created", rm->created);
    rc |= tern_attr_put_str(f, "tern_version", TERN_VERSION);
    rc |= tern_attr_put_str(f, "mpi_version", rm->mpi);
    rc |= tern_attr_put_u64(f, "chunk_bytes", w->opts.chunk_bytes);
    if (!tern_w_minor0())
        rc |= tern_attr_put_u64(f, "raw_align", TERN_RAW_ALIGN);
    rc |= tern_attr_put_i32(f, "compress_level", w->opts.compress_level);
    rc |= tern_attr_put_i32(f, "nnodes", nnodes);

    hid_t g = H5Gcreate2(f, "attrs", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (g < 0)
        rc = -1;
    for (const char *p = b->blob; g >= 0 && p < b->blob + rm->blob_len;) {
        const char *k = p, *v = p + strlen(p) + 1;
        rc |= tern_attr_put_str(g, k, v);
        p = v + strlen(v) + 1;
    }
    if (g >= 0)
        H5Gclose(g);
    return rc ? tern_error_set(err, EIO, "%s: writing root attributes", w->partial) : 0;
}

static hid_t create_topology(hid_t ng, uint64_t len)
{
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, len);
    H5Tset_strpad(t, H5T_STR_NULLTERM);
    hid_t sp = H5Screate(H5S_SCALAR);
    hid_t dcpl = tern_w_raw_dcpl();
    hid_t d = H5Dcreate2(ng, "topology", t, sp, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    H5Pclose(dcpl);
    H5Sclose(sp);
    H5Tclose(t);
    return d;
}

/* /nodes/NNNNNN: host, ranks, topology. Node leaders come from
 * PMPI_Comm_split_type(SHARED); each leader writes its own XML (unless this
 * rank has already failed). */
static int write_nodes(tern_ckpt_writer *w, const plan_rec *all, layout_bufs *b,
                       int *nnodes_out, tern_error *err)
{
    const char *xml = w->node_rank == 0 ? tern_topo_xml() : "";
    /* nodes in order of their leaders' ranks */
    int nn = 0;
    for (int r = 0; r < w->size; r++)
        if (all[r].leader == r)
            b->nodeof[r] = nn++;
    *nnodes_out = nn;
    int bad = 0, rc = 0;
    hid_t g = H5Gcreate2(w->file, "nodes", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    bad |= g < 0;
    for (int r = 0; r < w->size; r++) {
        if (all[r].leader != r)
            continue;
        int n = 0;
        for (int q = 0; q < w->size; q++)
            if (all[q].leader == r)
                b->ranks[n++] = q;
        char name[32];
        snprintf(name, sizeof name, "%06d", b->nodeof[r]);
        hid_t ng = H5Gcreate2(g, name, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
        bad |= ng < 0;
        bad |= tern_attr_put_str(ng, "host", all[r].host) != 0;
        bad |= tern_attr_put_i32s(ng, "ranks", b->ranks, (size_t)n) != 0;
        hid_t d = create_topology(ng, all[r].xml_len + 1);
        bad |= d < 0;
        if (r == w->rank && !bad)
            rc = tern_w_write_rows(w, d, "layout", "node topology", all[r].xml_len + 1, 0, 1,
                                   xml, err);
        if (d >= 0)
            H5Dclose(d);
        if (ng >= 0)
            H5Gclose(ng);
    }
    if (g >= 0)
        H5Gclose(g);
    if (bad && !rc) {
        char h5[256];
        tern_h5_last_error(h5, sizeof h5);
        return tern_error_set(err, EIO, "%s: writing node records: %s", w->partial, h5);
    }
    return rc;
}

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
    const unsigned char *c = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ c[i]) * 1099511628211ull;
    return h;
}

static hid_t create_table(hid_t loc, const char *name, hid_t type, uint64_t n)
{
    hsize_t dims = n;
    hid_t sp = H5Screate_simple(1, &dims, NULL);
    hid_t dcpl = tern_w_raw_dcpl();
    hid_t d = H5Dcreate2(loc, name, type, sp, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    H5Pclose(dcpl);
    H5Sclose(sp);
    return d;
}

/* /arrays/NAME: total elements of type t, shaped as a->desc says (the
 * first extent is what the rows of all ranks add up to), laid out like a
 * table: contiguous, allocated early, written by tern. */
static hid_t create_array(hid_t loc, const warr *a, hid_t t, uint64_t total)
{
    hsize_t dims[TERN_ARRAY_MAX_DIMS];
    uint64_t row = 1;
    for (int k = 1; k < a->desc.ndims; k++) {
        dims[k] = a->desc.dims[k];
        row *= a->desc.dims[k];   /* checked by tern_ckpt_put_array_desc */
    }
    dims[0] = total / row;
    hid_t sp = t < 0 ? -1 : H5Screate_simple(a->desc.ndims, dims, NULL);
    hid_t dcpl = tern_w_raw_dcpl();
    hid_t d = sp < 0 ? -1 : H5Dcreate2(loc, a->name, t, sp, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    H5Pclose(dcpl);
    if (sp >= 0)
        H5Sclose(sp);
    return d;
}

/* This rank's slab of array a at element mine_off and its CRC rows (one per
 * piece of at most 1 MiB) at row my_row. */
static int write_slab(tern_ckpt_writer *w, const warr *a, hid_t d, hid_t dc, uint64_t mine_off,
                      uint64_t my_row, array_crc_rec *cr, tern_error *err)
{
    if (!a->count)
        return 0;
    char what[TERN_NAME_MAX + 32];
    snprintf(what, sizeof what, "array '%s'", a->name);
    if (tern_w_write_rows(w, d, "layout", what, a->elem, mine_off, a->count, a->buf, err))
        return -1;
    /* the slab is in the page cache now: start its writeback */
    if (tern_w_early_writeback())
        sync_file_range(w->fd, (off_t)(H5Dget_offset(d) + mine_off * a->elem),
                        (off_t)(a->count * a->elem), SYNC_FILE_RANGE_WRITE);
    uint64_t per = crc_per(a), nrows = (a->count + per - 1) / per;
    for (uint64_t j = 0; j < nrows; j++) {
        uint64_t o = j * per, n = a->count - o < per ? a->count - o : per;
        cr[j].offset = mine_off + o;
        cr[j].count = n;
        cr[j].crc = tern_crc32((const char *)a->buf + o * a->elem, n * a->elem);
        cr[j].rank = (uint32_t)w->rank;
    }
    snprintf(what, sizeof what, "array '%s' CRCs", a->name);
    return tern_w_write_rows(w, dc, "layout", what, sizeof *cr, my_row, nrows, cr, err);
}

/* Global array i: one dataset, rank r's slab at the sum of the counts of
 * ranks < r, and its CRC table (collective); then this rank's slab, unless
 * it has failed already. */
static int write_array(tern_ckpt_writer *w, hid_t ga, hid_t gc, int i, layout_bufs *b,
                       int failed, tern_error *err)
{
    const warr *a = &w->arrs[i];
    uint64_t per = crc_per(a), total = 0, mine_off = 0, rows = 0, my_row = 0;
    for (int r = 0; r < w->size; r++) {
        uint64_t c = b->counts[(size_t)r * (1 + (size_t)w->narrs) + 1 + (size_t)i];
        if (r == w->rank) {
            mine_off = total;
            my_row = rows;
        }
        b->cnts[r] = c;
        total += c;
        rows += (c + per - 1) / per;
    }
    hid_t t = tern_h5_elem_type(a->desc.kind, a->elem);
    hid_t d = create_array(ga, a, t, total);
    hid_t dc = create_table(gc, a->name, tern_h5_array_crc_type(), rows);
    if (t >= 0)
        H5Tclose(t);
    int bad = d < 0 || dc < 0;
    bad |= tern_attr_put_u64s(d, "rank_counts", b->cnts, (size_t)w->size) != 0;
    bad |= tern_attr_put_u64(d, "elem_size", a->elem) != 0;
    int rc = 0;
    if (bad) {
        char h5[256];
        tern_h5_last_error(h5, sizeof h5);
        rc = tern_error_set(err, EIO, "%s: rank %d: array '%s': %s", w->partial, w->rank,
                            a->name, h5);
    } else if (!failed) {
        rc = write_slab(w, a, d, dc, mine_off, my_row, b->crc, err);
    }
    if (d >= 0)
        H5Dclose(d);
    if (dc >= 0)
        H5Dclose(dc);
    return rc;
}

static int write_arrays(tern_ckpt_writer *w, layout_bufs *b, int failed, tern_error *err)
{
    if (!w->narrs)
        return 0;
    int rc = 0;
    hid_t ga = H5Gcreate2(w->file, "arrays", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    hid_t gc = H5Gcreate2(w->file, "arrays_crc", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (ga < 0 || gc < 0)
        rc = tern_error_set(err, EIO, "%s: creating arrays", w->partial);
    tern_error e;
    for (int i = 0; i < w->narrs; i++)
        keep_first(&rc, err, write_array(w, ga, gc, i, b, failed || rc, &e), &e);
    if (ga >= 0)
        H5Gclose(ga);
    if (gc >= 0)
        H5Gclose(gc);
    return rc;
}

/* Phase 1: the plan. Chunk counts are fixed and the layout's buffers
 * allocated here; every rank learns every rank's counts, host and node
 * leader (in w->scratch, as plan_rec) and whether anybody failed so far. */
static int plan(tern_ckpt_writer *w, layout_bufs *b, tern_error *err)
{
    int local = 0;
    if (w->poisoned) {
        *err = w->first_err;
        local = -1;
    }
    uint64_t nch = 0;
    for (int i = 0; i < w->nsegs; i++) {
        wseg *s = &w->segs[i];
        s->first_chunk = nch;
        s->nchunks = (s->len + w->opts.chunk_bytes - 1) / w->opts.chunk_bytes;
        s->stored = 0;
        nch += s->nchunks;
    }
    w->nchunks = nch;
    w->chunks = calloc(nch ? nch : 1, sizeof *w->chunks);
    if (!w->chunks && !local)
        local = tern_error_set(err, ENOMEM, "rank %d: out of memory for %" PRIu64 " chunks",
                               w->rank, nch);
    tern_error e;
    keep_first(&local, err, bufs_alloc(w, b, &e), &e);
    plan_rec mine;
    memset(&mine, 0, sizeof mine);
    mine.fail = local != 0;
    mine.narrs = w->narrs;
    mine.nsegs = (uint64_t)w->nsegs;
    mine.nchunks = nch;
    mine.arr_hash = 1469598103934665603ull;
    mine.leader = w->node_leader;
    mine.xml_len = w->node_rank == 0 ? strlen(tern_topo_xml()) : 0;
    tern_store_hostname(mine.host, sizeof mine.host);
    for (int i = 0; i < w->narrs; i++) {
        mine.arr_hash = fnv(mine.arr_hash, w->arrs[i].name, strlen(w->arrs[i].name) + 1);
        mine.arr_hash = fnv(mine.arr_hash, &w->arrs[i].elem, sizeof w->arrs[i].elem);
        /* kind and row extents too: one dataset has one type and shape */
        mine.arr_hash = fnv(mine.arr_hash, &w->arrs[i].desc, sizeof w->arrs[i].desc);
    }
    plan_rec *all = w->scratch;
    if (tern_w_serial(w))
        all[0] = mine;
    else
        PMPI_Allgather(&mine, sizeof mine, MPI_BYTE, all, sizeof mine, MPI_BYTE, w->comm);
    int rc = 0, any_fail = 0;
    for (int r = 0; r < w->size; r++)
        any_fail |= all[r].fail;
    if (any_fail)   /* everyone saw it: fetch the message */
        rc = tern_w_agree(w, local, err);
    for (int r = 1; r < w->size && !rc; r++)
        if (all[r].narrs != all[0].narrs || all[r].arr_hash != all[0].arr_hash)
            rc = tern_error_set(err, EINVAL, "%s: tern_ckpt_put_array calls differ between "
                                "rank 0 and rank %d (same names, element sizes and order "
                                "are required)", w->partial, r);
    return rc ? -1 : 0;
}

/* The last exchange before anything is created: every rank's array counts
 * and whether it has all the layout needs (the root metadata's blob came
 * after the plan). 0 when every rank goes on, else the agreed failure. */
static int exchange_counts(tern_ckpt_writer *w, layout_bufs *b, int local, tern_error *err)
{
    size_t stride = 1 + (size_t)w->narrs;
    uint64_t *mine = b->counts + (size_t)w->rank * stride;
    mine[0] = local != 0;
    for (int i = 0; i < w->narrs; i++)
        mine[1 + i] = w->arrs[i].count;
    if (!tern_w_serial(w))
        PMPI_Allgather(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, b->counts, (int)stride, MPI_UINT64_T,
                       w->comm);
    int any_fail = 0;
    for (int r = 0; r < w->size; r++)
        any_fail |= b->counts[(size_t)r * stride] != 0;
    if (any_fail) {
        tern_w_agree(w, local, err);
        return -1;
    }
    return 0;
}

/* /ranks/RRRRRR/{segments,chunks} of every rank, sized by the plan; this
 * rank's two stay open for phase 4. */
static int create_rank_tables(tern_ckpt_writer *w, const plan_rec *all, hid_t *my_segs,
                              hid_t *my_chunks, tern_error *err)
{
    int bad = 0;
    hid_t g = H5Gcreate2(w->file, "ranks", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    bad |= g < 0;
    for (int r = 0; r < w->size; r++) {
        char name[32];
        snprintf(name, sizeof name, "%06d", r);
        hid_t rg = H5Gcreate2(g, name, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
        hid_t ds = create_table(rg, "segments", tern_h5_seg_type(), all[r].nsegs);
        hid_t dc = create_table(rg, "chunks", tern_h5_chunk_type(), all[r].nchunks);
        bad |= rg < 0 || ds < 0 || dc < 0;
        if (r == w->rank) {
            *my_segs = ds;
            *my_chunks = dc;
        } else {
            if (ds >= 0)
                H5Dclose(ds);
            if (dc >= 0)
                H5Dclose(dc);
        }
        if (rg >= 0)
            H5Gclose(rg);
    }
    if (g >= 0)
        H5Gclose(g);
    if (bad) {
        char h5[256];
        tern_h5_last_error(h5, sizeof h5);
        return tern_error_set(err, EIO, "%s: creating rank tables: %s", w->partial, h5);
    }
    return 0;
}

/* Phase 2 once every rank can go on: every stage runs on every rank. */
static int create_all(tern_ckpt_writer *w, layout_bufs *b, hid_t *my_segs, hid_t *my_chunks,
                      tern_error *err)
{
    const plan_rec *all = w->scratch;
    tern_error e;
    int local = 0, nnodes = 0;
    keep_first(&local, err, write_nodes(w, all, b, &nnodes, &e), &e);
    keep_first(&local, err, write_root_attrs(w, b, nnodes, &e), &e);
    keep_first(&local, err, create_rank_tables(w, all, my_segs, my_chunks, &e), &e);
    keep_first(&local, err, write_arrays(w, b, local, &e), &e);
    return tern_w_agree(w, local, err);
}

int tern_w_layout(tern_ckpt_writer *w, hid_t *my_segs, hid_t *my_chunks, tern_error *err)
{
    layout_bufs b;
    memset(&b, 0, sizeof b);
    int rc = plan(w, &b, err);
    if (!rc) {
        int local = share_root_meta(w, &b) ? tern_error_set(err, ENOMEM, "rank %d: out of memory",
                                                            w->rank) : 0;
        rc = exchange_counts(w, &b, local, err);
    }
    if (!rc)
        rc = create_all(w, &b, my_segs, my_chunks, err);
    bufs_free(&b);
    return rc;
}
