/* The writer: begin, put*, commit (the two-phase protocol), abort.
 *
 * Commit phases; none starts before every rank knows how the previous one
 * went (an allgather that carries statuses, or tern_w_agree), so every rank
 * leaves with the same outcome and nobody waits for a rank that gave up:
 *   1 plan      one allgather: counts, put_array calls, host and node leader;
 *   2 layout    groups, tables, arrays and node records are created
 *               collectively; arrays and topology are written;
 *   3 data      chunk data in rounds (write_data.c);
 *   4 tables    each rank writes its segment table and chunk index; one
 *               allgather brings statuses and totals; space is reserved;
 *               the file is closed;
 *   5 durable   one rank per node fsyncs the file (that flushes every
 *               rank's pages on that node);
 *   6 commit    rank 0 renames .partial into place, syncs the directory,
 *               rewrites MANIFEST, prunes old checkpoints in the background.
 * A failure before 6 removes the .partial file; the previous checkpoint was
 * never touched. docs/storage.md tells the whole story.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include "manifest.h"
#include "topo.h"
#include "views.h"
#include "writer_int.h"

#ifndef TERN_VERSION
#define TERN_VERSION "0.0.0"
#endif

/* What every rank tells the others before anything is created: one
 * allgather carries the plan (segment and chunk counts, put_array calls)
 * and the node record (host name, node leader, size of its XML). */
typedef struct plan_rec {
    int32_t fail;
    int32_t narrs;
    uint64_t nsegs;
    uint64_t nchunks;
    uint64_t arr_hash;
    int32_t leader;           /* rank of this rank's node leader */
    int32_t pad;
    uint64_t xml_len;         /* leaders only */
    char host[256];
} plan_rec;

int tern_w_minor0(void)
{
    static int v = -1;
    if (v < 0) {
        const char *e = getenv("TERN_STORE_FORMAT_MINOR0");
        v = e && *e && strcmp(e, "0");
    }
    return v;
}

double tern_w_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

/* TERN_STORE_TRACE=1: rank 0 prints how long each commit phase took. */
static void trace(tern_ckpt_writer *w, const char *phase)
{
    static int on = -1;
    if (on < 0) {
        const char *e = getenv("TERN_STORE_TRACE");
        on = e && *e && strcmp(e, "0");
    }
    if (on && w->rank == 0) {
        double t = tern_w_now();
        fprintf(stderr, "tern-store: epoch %llu: %-8s %8.4f s\n", (unsigned long long)w->epoch,
                phase, t - w->t_last);
        w->t_last = t;
    }
}

void tern_store_opts_default(tern_store_opts *o)
{
    memset(o, 0, sizeof *o);
    o->job = NULL;
    o->compress_level = 1;
    o->keep = 2;
    o->chunk_bytes = 0;
    o->disk_bytes_per_s = 0;
}

static int serial(const tern_ckpt_writer *w)
{
    return w->comm == MPI_COMM_NULL;
}

void tern_w_wait(MPI_Request *req)
{
    /* Ranks wait here while others write or one rank fsyncs. A blocking MPI
     * call would spin at full speed and, with more ranks than cores (or
     * next to the application's threads), steal the CPU from the ranks that
     * still work; testing with short, growing sleeps costs at most ~0.5 ms. */
    int done = 0;
    long ns = 10000;
    for (;;) {
        PMPI_Test(req, &done, MPI_STATUS_IGNORE);
        if (done)
            return;
        struct timespec ts = {0, ns};
        nanosleep(&ts, NULL);
        if (ns < 500000)
            ns += ns / 2;
    }
}

int tern_w_agree(tern_ckpt_writer *w, int local_rc, tern_error *err)
{
    if (serial(w))
        return local_rc ? -1 : 0;
    /* The root cause wins: a failure flagged as early (a chunk write that
     * filled the disk) beats what it caused on other ranks afterwards (their
     * table writes on the full disk), then the lowest rank. */
    int mine = !local_rc ? 2 * w->size : w->err_early ? w->rank : w->size + w->rank, key;
    MPI_Request req;
    PMPI_Iallreduce(&mine, &key, 1, MPI_INT, MPI_MIN, w->comm, &req);
    tern_w_wait(&req);
    if (key == 2 * w->size)
        return 0;
    int low = key % w->size;
    /* Everyone reports the lowest failing rank's reason, so the job's log
     * says the same thing whichever rank it comes from. */
    struct {
        int code;
        char msg[TERN_ERROR_MAX];
    } m;
    if (w->rank == low) {
        m.code = err->code ? err->code : -1;
        memcpy(m.msg, err->msg, sizeof m.msg);
    }
    PMPI_Ibcast(&m, sizeof m, MPI_BYTE, low, w->comm, &req);
    tern_w_wait(&req);
    err->code = m.code;
    memcpy(err->msg, m.msg, sizeof err->msg);
    return -1;
}

static int valid_name(const char *n)
{
    size_t len = n ? strlen(n) : 0;
    if (len == 0 || len > TERN_NAME_MAX)
        return 0;
    for (const char *p = n; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
              (*p >= '0' && *p <= '9') || *p == '_' || *p == '.' || *p == '-'))
            return 0;
    /* "." and ".." would make odd HDF5 link names */
    return strcmp(n, ".") && strcmp(n, "..");
}

static void free_writer(tern_ckpt_writer *w)
{
    if (!w)
        return;
    if (w->comm != MPI_COMM_NULL)
        PMPI_Comm_free(&w->comm);
    for (int i = 0; i < w->nattrs; i++) {
        free(w->attrs[i].key);
        free(w->attrs[i].value);
    }
    free(w->attrs);
    free(w->segs);
    free(w->arrs);
    free(w->chunks);
    free(w->round_bytes);
    free(w->scratch);
    free(w);
}

/* Collective: closes everything and removes the partial file.
 *
 * Closing a parallel HDF5 file flushes metadata with collective sync points;
 * if the disk is full one rank's write fails, it leaves the flush early and
 * the others wait for it forever. So the data is dropped first (truncating
 * the doomed file frees its blocks) and only then is the file closed. */
static void discard(tern_ckpt_writer *w)
{
    if (!serial(w))
        PMPI_Barrier(w->comm);            /* nobody is still writing */
    if (w->rank == 0 && w->fd >= 0 && ftruncate(w->fd, 0) != 0) {
        /* nothing better to do: the close below may then fail */
    }
    if (!serial(w))
        PMPI_Barrier(w->comm);
    if (w->fd >= 0)
        close(w->fd);
    w->fd = -1;
    if (w->file >= 0)
        H5Fclose(w->file);
    w->file = -1;
    if (w->rank == 0)
        unlink(w->partial);
    if (!serial(w))
        PMPI_Barrier(w->comm);
}

static int fail_out(tern_ckpt_writer *w, tern_error *err)
{
    discard(w);
    free_writer(w);
    (void)err;
    return -1;
}

static int tern_ckpt_begin_impl(MPI_Comm comm, const char *dir, uint64_t epoch,
                    const tern_store_opts *opts, tern_ckpt_writer **out,
                    tern_error *err)
{
    tern_error scratch;
    if (!err)
        err = &scratch;
    tern_error_clear(err);
    *out = NULL;
    tern_h5_quiet();
    tern_ckpt_writer *w = calloc(1, sizeof *w);
    if (!w)
        return tern_error_set(err, ENOMEM, "out of memory");
    w->file = -1;
    w->fd = -1;
    w->comm = MPI_COMM_NULL;
    w->size = 1;
    w->node_size = 1;
    w->t0 = w->t_last = tern_w_now();
    if (opts)
        w->opts = *opts;
    else
        tern_store_opts_default(&w->opts);
    if (!w->opts.chunk_bytes)
        w->opts.chunk_bytes = TERN_DEFAULT_CHUNK;
    if (w->opts.chunk_bytes > TERN_MAX_CHUNK)
        w->opts.chunk_bytes = TERN_MAX_CHUNK;
    if (w->opts.chunk_bytes < TERN_SPARSE_BLOCK)   /* a 32-byte index row per chunk */
        w->opts.chunk_bytes = TERN_SPARSE_BLOCK;
    /* whole pages, so that every chunk but a segment's last starts and ends
     * on a page of the segment (RAW chunks can then be mapped from the file) */
    if (!tern_w_minor0())
        w->opts.chunk_bytes = (w->opts.chunk_bytes + TERN_RAW_ALIGN - 1) / TERN_RAW_ALIGN * TERN_RAW_ALIGN;
    if (w->opts.keep < 1)
        w->opts.keep = 1;
    if (!w->opts.disk_bytes_per_s)
        w->opts.disk_bytes_per_s = 1.2e9;
    snprintf(w->job, sizeof w->job, "%s", w->opts.job ? w->opts.job : "unnamed");
    w->opts.job = w->job;
    w->epoch = epoch;
    int local = 0;
    if (comm != MPI_COMM_NULL) {
        int inited = 0;
        PMPI_Initialized(&inited);
        if (!inited) {
            free(w);
            return tern_error_set(err, EINVAL, "tern_ckpt_begin: MPI is not initialised "
                                  "(use MPI_COMM_NULL for a serial checkpoint)");
        }
        PMPI_Comm_dup(comm, &w->comm);
        PMPI_Comm_rank(w->comm, &w->rank);
        PMPI_Comm_size(w->comm, &w->size);
        /* The node: its size shares out the disk rate, its leader (lowest
         * rank there) writes the topology and fsyncs for everyone. */
        MPI_Comm node;
        PMPI_Comm_split_type(w->comm, MPI_COMM_TYPE_SHARED, w->rank, MPI_INFO_NULL, &node);
        PMPI_Comm_size(node, &w->node_size);
        PMPI_Comm_rank(node, &w->node_rank);
        w->node_leader = w->rank;
        PMPI_Bcast(&w->node_leader, 1, MPI_INT, 0, node);
        PMPI_Comm_free(&node);
    }
    /* Receive buffer of every allgather of this checkpoint, allocated now so
     * that a rank short of memory fails where everybody agrees on it, not
     * in the middle of a collective. */
    w->scratch = malloc((size_t)w->size * sizeof(plan_rec));
    if (!w->scratch) {
        local = tern_error_set(err, ENOMEM, "rank %d: out of memory", w->rank);
    } else if (!dir || !dir[0] || strlen(dir) > PATH_MAX - 64) {
        local = tern_error_set(err, EINVAL, "tern_ckpt_begin: bad directory name");
    } else {
        snprintf(w->dir, sizeof w->dir, "%s", dir);
        tern_store_partial_path(dir, epoch, w->partial, sizeof w->partial);
    }
    if (!local && w->opts.refuse)
        local = tern_error_set(err, ECANCELED, "%s", w->opts.refuse);
    if (!local && w->rank == 0) {
        uint64_t *ep = NULL;
        int n = 0;
        local = tern_dir_prepare(dir, err);
        if (!local)
            local = tern_dir_clean_leftovers(dir, err);
        if (!local)
            local = tern_store_list(dir, &ep, &n, err);
        if (!local && n > 0 && ep[n - 1] >= epoch)
            local = tern_error_set(err, EEXIST, "%s: epoch %" PRIu64 " is not newer than the "
                                   "latest committed checkpoint (epoch %" PRIu64 ")",
                                   dir, epoch, ep[n - 1]);
        free(ep);
    }
    if (tern_w_agree(w, local, err)) {
        free_writer(w);
        return -1;
    }
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    if (serial(w)) {
        H5Pset_fapl_sec2(fapl);
#if H5_VERSION_GE(1, 10, 7)
        H5Pset_file_locking(fapl, 0, 1);   /* the .partial name is the lock */
#endif
    } else {
        H5Pset_fapl_mpio(fapl, w->comm, MPI_INFO_NULL);
        H5Pset_all_coll_metadata_ops(fapl, 1);
        H5Pset_coll_metadata_write(fapl, 1);
    }
    /* Chunk data lands on page boundaries: whole-page writes are cheaper,
     * and RAW chunks (padded to pages inside data.K, write_data.c) can be
     * mapped straight from the file by a reader. Every data.K that holds a
     * page-multiple RAW chunk is at least a page long, so a threshold of one
     * page aligns all of them. */
    if (tern_w_minor0())   /* tests: the layout of format 1.0 */
        H5Pset_alignment(fapl, 65536, 4096);
    else
        H5Pset_alignment(fapl, TERN_RAW_ALIGN, TERN_RAW_ALIGN);
    w->file = H5Fcreate(w->partial, H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
    char h5[256];
    tern_h5_last_error(h5, sizeof h5);  /* before any call clears the stack */
    H5Pclose(fapl);
    if (w->file < 0) {
        local = tern_error_set(err, EIO, "%s: cannot create: %s", w->partial, h5);
    }
    if (tern_w_agree(w, local, err))
        return fail_out(w, err);
    /* A rank that cannot open its descriptor fails the commit (agreed on in
     * its first phase); no extra round trip here. */
    w->fd = open(w->partial, O_WRONLY | O_CLOEXEC);
    if (w->fd < 0) {
        tern_error_set(&w->first_err, errno, "%s: rank %d: open: %s", w->partial, w->rank,
                       strerror(errno));
        w->poisoned = 1;
    }
    *out = w;
    trace(w, "begin");
    return 0;
}

static int poison(tern_ckpt_writer *w, tern_error *err)
{
    if (!w->poisoned) {
        w->poisoned = 1;
        w->first_err = *err;
    }
    return -1;
}

static int add_seg(tern_ckpt_writer *w, const char *name, uint64_t len,
                   const void *buf, tern_fill_fn fill, void *ctx, tern_error *err)
{
    tern_error scratch;
    if (!err)
        err = &scratch;
    if (!w)
        return tern_error_set(err, EINVAL, "tern_ckpt_put: no writer");
    if (!valid_name(name))
        return poison(w, (tern_error_set(err, EINVAL, "rank %d: bad segment name '%s' "
                          "(want [A-Za-z0-9_.-]{1,200})", w->rank, name ? name : "(null)"), err));
    for (int i = 0; i < w->nsegs; i++)
        if (!strcmp(w->segs[i].name, name))
            return poison(w, (tern_error_set(err, EEXIST, "rank %d: segment '%s' put twice",
                                             w->rank, name), err));
    if (len && !buf && !fill)
        return poison(w, (tern_error_set(err, EINVAL, "rank %d: segment '%s': NULL buffer",
                                         w->rank, name), err));
    if (w->nsegs == w->capsegs) {
        int nc = w->capsegs ? w->capsegs * 2 : 16;
        wseg *ns = realloc(w->segs, nc * sizeof *ns);
        if (!ns)
            return poison(w, (tern_error_set(err, ENOMEM, "rank %d: out of memory", w->rank), err));
        w->segs = ns;
        w->capsegs = nc;
    }
    wseg *s = &w->segs[w->nsegs++];
    memset(s, 0, sizeof *s);
    snprintf(s->name, sizeof s->name, "%s", name);
    s->len = len;
    s->buf = fill ? NULL : (buf ? buf : (const void *)"");
    s->fill = fill;
    s->ctx = ctx;
    return 0;
}

int tern_ckpt_put(tern_ckpt_writer *w, const char *name, const void *buf,
                  size_t len, tern_error *err)
{
    return add_seg(w, name, len, buf, NULL, NULL, err);
}

int tern_ckpt_put_fn(tern_ckpt_writer *w, const char *name, uint64_t len,
                     tern_fill_fn fill, void *ctx, tern_error *err)
{
    tern_error scratch;
    if (!fill && w)
        return poison(w, (tern_error_set(err ? err : &scratch, EINVAL,
                                         "rank %d: segment '%s': NULL fill function",
                                         w->rank, name ? name : "(null)"), err ? err : &scratch));
    return add_seg(w, name, len, NULL, fill, ctx, err);
}

int tern_ckpt_put_array(tern_ckpt_writer *w, const char *name, size_t elem_size,
                        uint64_t count, const void *buf, tern_error *err)
{
    tern_error scratch;
    if (!err)
        err = &scratch;
    if (!w)
        return tern_error_set(err, EINVAL, "tern_ckpt_put_array: no writer");
    if (!valid_name(name))
        return poison(w, (tern_error_set(err, EINVAL, "rank %d: bad array name '%s'",
                                         w->rank, name ? name : "(null)"), err));
    if (elem_size == 0 || (count && !buf))
        return poison(w, (tern_error_set(err, EINVAL, "rank %d: array '%s': bad element "
                                         "size or NULL buffer", w->rank, name), err));
    for (int i = 0; i < w->narrs; i++)
        if (!strcmp(w->arrs[i].name, name))
            return poison(w, (tern_error_set(err, EEXIST, "rank %d: array '%s' put twice",
                                             w->rank, name), err));
    if (w->narrs == w->caparrs) {
        int nc = w->caparrs ? w->caparrs * 2 : 8;
        warr *na = realloc(w->arrs, nc * sizeof *na);
        if (!na)
            return poison(w, (tern_error_set(err, ENOMEM, "rank %d: out of memory", w->rank), err));
        w->arrs = na;
        w->caparrs = nc;
    }
    warr *a = &w->arrs[w->narrs++];
    snprintf(a->name, sizeof a->name, "%s", name);
    a->elem = elem_size;
    a->count = count;
    a->buf = buf;
    return 0;
}

int tern_ckpt_set_attr(tern_ckpt_writer *w, const char *key, const char *value,
                       tern_error *err)
{
    tern_error scratch;
    if (!err)
        err = &scratch;
    if (!w)
        return tern_error_set(err, EINVAL, "tern_ckpt_set_attr: no writer");
    if (!valid_name(key) || !value)
        return tern_error_set(err, EINVAL, "bad attribute '%s'", key ? key : "(null)");
    if (w->rank != 0)
        return 0;
    for (int i = 0; i < w->nattrs; i++)
        if (!strcmp(w->attrs[i].key, key)) {
            char *v = strdup(value);
            if (!v)
                return tern_error_set(err, ENOMEM, "out of memory");
            free(w->attrs[i].value);
            w->attrs[i].value = v;
            return 0;
        }
    wattr *na = realloc(w->attrs, (w->nattrs + 1) * sizeof *na);
    if (!na)
        return tern_error_set(err, ENOMEM, "out of memory");
    w->attrs = na;
    w->attrs[w->nattrs].key = strdup(key);
    w->attrs[w->nattrs].value = strdup(value);
    w->nattrs++;
    return 0;
}

/* ---- commit ------------------------------------------------------------ */

/* Rank 0's root metadata, identical on every rank (attribute writes are
 * collective in parallel HDF5 and must carry the same values). One
 * broadcast carries it all, user attributes included when they are small. */
typedef struct root_meta {
    char mpi[MPI_MAX_LIBRARY_VERSION_STRING];
    char job[256];
    int64_t created;
    uint64_t blob_len;        /* user attributes as "k\0v\0k\0v\0" */
    char blob[3072];          /* inline when blob_len fits */
} root_meta;

static int write_root_attrs(tern_ckpt_writer *w, int nnodes)
{
    root_meta *rm = calloc(1, sizeof *rm);
    if (!rm)
        return -1;
    char *blob = NULL;
    if (w->rank == 0) {
        snprintf(rm->mpi, sizeof rm->mpi, "none (serial)");
        if (!serial(w)) {
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
        for (int i = 0; i < w->nattrs; i++)
            rm->blob_len += strlen(w->attrs[i].key) + strlen(w->attrs[i].value) + 2;
        blob = malloc(rm->blob_len + 1);
        char *p = blob;
        for (int i = 0; blob && i < w->nattrs; i++) {
            p = stpcpy(p, w->attrs[i].key) + 1;
            p = stpcpy(p, w->attrs[i].value) + 1;
        }
        if (blob && rm->blob_len <= sizeof rm->blob)
            memcpy(rm->blob, blob, rm->blob_len);
    }
    if (!serial(w)) {
        PMPI_Bcast(rm, sizeof *rm, MPI_BYTE, 0, w->comm);
        if (w->rank != 0)
            blob = malloc(rm->blob_len + 1);
        if (rm->blob_len <= sizeof rm->blob) {
            if (blob)
                memcpy(blob, rm->blob, rm->blob_len);
        } else {
            PMPI_Bcast(blob, (int)rm->blob_len, MPI_BYTE, 0, w->comm);
        }
    }
    uint64_t len = rm->blob_len;
    if (blob)
        blob[len] = '\0';
    snprintf(w->job, sizeof w->job, "%s", rm->job);
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
    free(rm);

    hid_t g = H5Gcreate2(f, "attrs", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (g < 0 || !blob)
        rc = -1;
    for (char *p = blob; g >= 0 && blob && p < blob + len;) {
        char *k = p, *v = p + strlen(p) + 1;
        rc |= tern_attr_put_str(g, k, v);
        p = v + strlen(v) + 1;
    }
    if (g >= 0)
        H5Gclose(g);
    free(blob);
    return rc ? -1 : 0;
}

/* /nodes/NNNNNN: host, ranks, topology. Node leaders come from
 * PMPI_Comm_split_type(SHARED); each leader writes its own XML. */
static int write_nodes(tern_ckpt_writer *w, const plan_rec *all, int *nnodes_out,
                       tern_error *err)
{
    const char *xml = w->node_rank == 0 ? tern_topo_xml() : "";
    int *nodeof = malloc((size_t)w->size * sizeof *nodeof);
    int32_t *ranks = malloc((size_t)w->size * sizeof *ranks);
    if (!nodeof || !ranks) {
        free(nodeof), free(ranks);
        return tern_error_set(err, ENOMEM, "out of memory");
    }
    /* nodes in order of their leaders' ranks */
    int nn = 0;
    for (int r = 0; r < w->size; r++)
        if (all[r].leader == r)
            nodeof[r] = nn++;
    int rc = 0;
    hid_t g = H5Gcreate2(w->file, "nodes", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (g < 0)
        rc = -1;
    for (int r = 0; r < w->size && !rc; r++) {
        if (all[r].leader != r)
            continue;
        int n = 0;
        for (int q = 0; q < w->size; q++)
            if (all[q].leader == r)
                ranks[n++] = q;
        char name[32];
        snprintf(name, sizeof name, "%06d", nodeof[r]);
        hid_t ng = H5Gcreate2(g, name, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
        if (ng < 0) {
            rc = -1;
            break;
        }
        rc |= tern_attr_put_str(ng, "host", all[r].host);
        rc |= tern_attr_put_i32s(ng, "ranks", ranks, (size_t)n);
        hid_t t = H5Tcopy(H5T_C_S1);
        H5Tset_size(t, all[r].xml_len + 1);
        H5Tset_strpad(t, H5T_STR_NULLTERM);
        hid_t sp = H5Screate(H5S_SCALAR);
        hid_t d = H5Dcreate2(ng, "topology", t, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
        if (d < 0)
            rc = -1;
        else {
            if (r == w->rank && H5Dwrite(d, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, xml) < 0)
                rc = -1;
            H5Dclose(d);
        }
        H5Sclose(sp);
        H5Tclose(t);
        H5Gclose(ng);
    }
    if (g >= 0)
        H5Gclose(g);
    free(nodeof), free(ranks);
    *nnodes_out = nn;
    if (rc) {
        char h5[256];
        tern_h5_last_error(h5, sizeof h5);
        return tern_error_set(err, EIO, "%s: writing node records: %s", w->partial, h5);
    }
    return 0;
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
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    H5Pset_alloc_time(dcpl, H5D_ALLOC_TIME_EARLY);
    H5Pset_fill_time(dcpl, H5D_FILL_TIME_NEVER);
    hid_t d = H5Dcreate2(loc, name, type, sp, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    H5Pclose(dcpl);
    H5Sclose(sp);
    return d;
}

static int write_rows(hid_t d, hid_t type, uint64_t first, uint64_t n, const void *buf)
{
    if (!n)
        return 0;
    hid_t fs = H5Dget_space(d);
    hsize_t start = first, cnt = n;
    H5Sselect_hyperslab(fs, H5S_SELECT_SET, &start, NULL, &cnt, NULL);
    hid_t ms = H5Screate_simple(1, &cnt, NULL);
    herr_t e = H5Dwrite(d, type, ms, fs, H5P_DEFAULT, buf);
    H5Sclose(ms);
    H5Sclose(fs);
    return e < 0 ? -1 : 0;
}

/* Global arrays: one dataset per name, rank r's slab at the sum of the
 * counts of ranks < r; CRCs per piece of at most 1 MiB of one rank's slab. */
static int write_arrays(tern_ckpt_writer *w, const uint64_t *counts /* [size][narrs] */,
                        tern_error *err)
{
    if (!w->narrs)
        return 0;
    int rc = 0;
    hid_t ga = H5Gcreate2(w->file, "arrays", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    hid_t gc = H5Gcreate2(w->file, "arrays_crc", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (ga < 0 || gc < 0)
        rc = -1;
    for (int i = 0; i < w->narrs && !rc; i++) {
        warr *a = &w->arrs[i];
        uint64_t per = TERN_ARRAY_CRC_PIECE / a->elem;
        if (!per)
            per = 1;
        uint64_t total = 0, mine_off = 0, rows = 0, my_row = 0;
        for (int r = 0; r < w->size; r++) {
            uint64_t c = counts[(size_t)r * w->narrs + i];
            if (r == w->rank) {
                mine_off = total;
                my_row = rows;
            }
            total += c;
            rows += (c + per - 1) / per;
        }
        hid_t t = H5Tcreate(H5T_OPAQUE, a->elem);
        H5Tset_tag(t, "tern array element");
        hid_t d = create_table(ga, a->name, t, total);
        hid_t dc = create_table(gc, a->name, tern_h5_array_crc_type(), rows);
        if (d < 0 || dc < 0)
            rc = -1;
        if (!rc) {
            uint64_t *cnts = malloc(w->size * sizeof *cnts);
            for (int r = 0; r < w->size && cnts; r++)
                cnts[r] = counts[(size_t)r * w->narrs + i];
            rc |= cnts ? tern_attr_put_u64s(d, "rank_counts", cnts, w->size) : -1;
            rc |= tern_attr_put_u64(d, "elem_size", a->elem);
            free(cnts);
        }
        if (!rc && a->count) {
            rc = write_rows(d, t, mine_off, a->count, a->buf);
            /* the slab is in the page cache now: start its writeback (the
             * dataset is contiguous and allocated early, so its address is
             * known) */
            haddr_t base = rc ? HADDR_UNDEF : H5Dget_offset(d);
            if (base != HADDR_UNDEF && w->fd >= 0 && tern_w_early_writeback())
                sync_file_range(w->fd, (off_t)(base + mine_off * a->elem), (off_t)(a->count * a->elem),
                                SYNC_FILE_RANGE_WRITE);
            uint64_t nrows = (a->count + per - 1) / per;
            array_crc_rec *cr = malloc(nrows * sizeof *cr);
            if (!cr)
                rc = -1;
            for (uint64_t j = 0; cr && j < nrows; j++) {
                uint64_t o = j * per, n = a->count - o < per ? a->count - o : per;
                cr[j].offset = mine_off + o;
                cr[j].count = n;
                cr[j].crc = tern_crc32((const char *)a->buf + o * a->elem, n * a->elem);
                cr[j].rank = (uint32_t)w->rank;
            }
            if (!rc)
                rc = write_rows(dc, tern_h5_array_crc_type(), my_row, nrows, cr);
            free(cr);
        }
        if (d >= 0)
            H5Dclose(d);
        if (dc >= 0)
            H5Dclose(dc);
        H5Tclose(t);
        if (rc) {
            char h5[256];
            tern_h5_last_error(h5, sizeof h5);
            tern_error_set(err, EIO, "%s: rank %d: array '%s': %s", w->partial, w->rank,
                           a->name, h5);
        }
    }
    if (ga >= 0)
        H5Gclose(ga);
    if (gc >= 0)
        H5Gclose(gc);
    if (rc && !err->msg[0])
        tern_error_set(err, EIO, "%s: creating arrays", w->partial);
    return rc;
}

/* Phase 1+2. Returns the per-rank plan through *plans (freed by caller). */
static int plan_and_layout(tern_ckpt_writer *w, hid_t *my_segs, hid_t *my_chunks,
                           tern_error *err)
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
    }
    plan_rec *all = w->scratch;
    if (serial(w))
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
    if (rc)
        return -1;
    /* array counts of every rank */
    uint64_t *counts = NULL;
    if (w->narrs) {
        uint64_t *my = malloc(w->narrs * sizeof *my);
        counts = malloc((size_t)w->size * w->narrs * sizeof *counts);
        for (int i = 0; my && i < w->narrs; i++)
            my[i] = w->arrs[i].count;
        if (serial(w))
            memcpy(counts, my, w->narrs * sizeof *my);
        else
            PMPI_Allgather(my, w->narrs, MPI_UINT64_T, counts, w->narrs, MPI_UINT64_T, w->comm);
        free(my);
    }
    int nnodes = 0;
    local = write_nodes(w, all, &nnodes, err);
    if (!local && write_root_attrs(w, nnodes))
        local = tern_error_set(err, EIO, "%s: writing root attributes", w->partial);
    if (!local) {
        hid_t g = H5Gcreate2(w->file, "ranks", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
        if (g < 0)
            local = -1;
        for (int r = 0; r < w->size && !local; r++) {
            char name[32];
            snprintf(name, sizeof name, "%06d", r);
            hid_t rg = H5Gcreate2(g, name, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
            if (rg < 0) {
                local = -1;
                break;
            }
            hid_t ds = create_table(rg, "segments", tern_h5_seg_type(), all[r].nsegs);
            hid_t dc = create_table(rg, "chunks", tern_h5_chunk_type(), all[r].nchunks);
            if (ds < 0 || dc < 0)
                local = -1;
            if (r == w->rank) {
                *my_segs = ds;
                *my_chunks = dc;
            } else {
                if (ds >= 0)
                    H5Dclose(ds);
                if (dc >= 0)
                    H5Dclose(dc);
            }
            H5Gclose(rg);
        }
        if (g >= 0)
            H5Gclose(g);
        if (local) {
            char h5[256];
            tern_h5_last_error(h5, sizeof h5);
            tern_error_set(err, EIO, "%s: creating rank tables: %s", w->partial, h5);
        }
    }
    if (!local)
        local = write_arrays(w, counts, err);
    free(counts);
    return tern_w_agree(w, local, err);
}

static int tern_ckpt_commit_impl(tern_ckpt_writer *w, tern_ckpt_stats *stats, tern_error *err)
{
    tern_error scratch;
    if (!err)
        err = &scratch;
    tern_error_clear(err);
    if (!w)
        return tern_error_set(err, EINVAL, "tern_ckpt_commit: no writer");
    hid_t dsegs = -1, dchunks = -1;
    if (plan_and_layout(w, &dsegs, &dchunks, err)) {
        if (dsegs >= 0)
            H5Dclose(dsegs);
        if (dchunks >= 0)
            H5Dclose(dchunks);
        return fail_out(w, err);
    }
    trace(w, "layout");
    /* write_data agrees on failures it sees in a round; a failure in the
     * last round is only local so far and travels in the exchange below */
    int local = tern_w_write_data(w, err);
    if (w->agreed_fail) {
        H5Dclose(dsegs);
        H5Dclose(dchunks);
        return fail_out(w, err);
    }
    trace(w, "data");
    /* phase 4: tables and totals */
    seg_rec *sr = calloc(w->nsegs ? w->nsegs : 1, sizeof *sr);
    uint64_t logical = 0, arr_bytes = 0;
    for (int i = 0; sr && i < w->nsegs; i++) {
        snprintf(sr[i].name, sizeof sr[i].name, "%s", w->segs[i].name);
        sr[i].size = w->segs[i].len;
        sr[i].stored = w->segs[i].stored;
        sr[i].first_chunk = w->segs[i].first_chunk;
        sr[i].nchunks = w->segs[i].nchunks;
        logical += w->segs[i].len;
    }
    for (int i = 0; i < w->narrs; i++)
        arr_bytes += w->arrs[i].count * w->arrs[i].elem;
    logical += arr_bytes;
    if (!local && (!sr || write_rows(dsegs, tern_h5_seg_type(), 0, w->nsegs, sr) ||
                   write_rows(dchunks, tern_h5_chunk_type(), 0, w->nchunks, w->chunks))) {
        char h5[256];
        tern_h5_last_error(h5, sizeof h5);
        local = tern_error_set(err, EIO, "%s: rank %d: writing segment table: %s",
                               w->partial, w->rank, h5);
    }
    free(sr);
    H5Dclose(dsegs);
    H5Dclose(dchunks);
    /* One exchange carries every rank's status, totals and end of data. */
    void *views = NULL;
    uint64_t views_len = 0;
    if (!local && tern_views_pack(w, &views, &views_len))
        local = tern_error_set(err, ENOMEM, "rank %d: out of memory", w->rank);
    typedef struct {
        uint64_t fail, logical, stored, zero, max_end, views_len;
    } tot_rec;
    tot_rec mine = {local != 0, logical, w->stored + arr_bytes, w->zero, w->max_end, views_len};
    tot_rec *all = w->scratch;
    if (serial(w)) {
        all[0] = mine;
    } else {
        MPI_Request req;
        PMPI_Iallgather(&mine, sizeof mine, MPI_BYTE, all, sizeof mine, MPI_BYTE, w->comm, &req);
        tern_w_wait(&req);
    }
    uint64_t sum[3] = {0, 0, 0}, fsize = 0, any_fail = 0;
    for (int r = 0; r < w->size; r++) {
        any_fail |= all[r].fail;
        sum[0] += all[r].logical;
        sum[1] += all[r].stored;
        sum[2] += all[r].zero;
        if (all[r].max_end > fsize)
            fsize = all[r].max_end;
    }
    if (any_fail) {
        free(views);
        tern_w_agree(w, local, err);
        return fail_out(w, err);
    }
    uint64_t *vlens = malloc((size_t)w->size * sizeof *vlens), vtotal = 0;
    for (int r = 0; vlens && r < w->size; r++)
        vtotal += vlens[r] = all[r].views_len;
    if (!vlens || tern_views_create(w, views, vlens, err))
        local = local ? local : (err->msg[0] ? -1 : tern_error_set(err, ENOMEM, "out of memory"));
    free(vlens);
    free(views);
    if (tern_attr_put_u64(w->file, "logical_bytes", sum[0]) ||
        tern_attr_put_u64(w->file, "stored_bytes", sum[1]) ||
        tern_attr_put_u64(w->file, "zero_bytes", sum[2]))
        local = tern_error_set(err, EIO, "%s: writing totals", w->partial);
    /* Reserve every block HDF5 will write when it closes the file, so that a
     * full disk shows up here, where all ranks agree on it, and not inside
     * the collective metadata flush (see discard). HDF5 1.10 does not tell
     * the end of allocated space through the MPI-IO driver (H5Fget_eoa wants
     * a SWMR driver), but the data datasets are allocated last: reserve up
     * to the end of the last one plus room for metadata allocated after it. */
    struct stat fst;
    if (fstat(w->fd, &fst) == 0 && (uint64_t)fst.st_size > fsize)
        fsize = (uint64_t)fst.st_size;
    fsize += (1u << 20) + 4 * vtotal;   /* metadata created after the data */
    if (!local && w->rank == 0) {
        /* fallocate(2), not posix_fallocate: where the file system cannot
         * reserve, glibc's emulation touches every block; skip instead. */
        /* KEEP_SIZE: the reservation must not become part of the file (a
         * tiny image would carry a megabyte of tail); phase 5 releases what
         * HDF5 did not use. */
        int e = fallocate(w->fd, FALLOC_FL_KEEP_SIZE, 0, (off_t)fsize) == 0 ? 0 : errno;
        if (e && e != EOPNOTSUPP && e != EINVAL && e != ENOSYS)
            local = tern_error_set(err, e, "%s: reserving %llu bytes: %s", w->partial,
                                   (unsigned long long)fsize, strerror(e));
    }
    if (tern_w_agree(w, local, err))
        return fail_out(w, err);
    if (close(w->fd) < 0)
        local = tern_error_set(err, errno, "%s: rank %d: close: %s", w->partial, w->rank,
                               strerror(errno));
    w->fd = -1;
    if (H5Fclose(w->file) < 0 && !local) {
        char h5[256];
        tern_h5_last_error(h5, sizeof h5);
        local = tern_error_set(err, EIO, "%s: closing: %s", w->partial, h5);
    }
    w->file = -1;
    trace(w, "close");
    /* phase 5: durable. One fsync per node flushes every rank's pages there;
     * one agreement covers the close and the fsync. */
    if (!local && w->rank == 0) {
        /* Truncating to the size HDF5 left frees the blocks reserved past it. */
        struct stat pst;
        if (stat(w->partial, &pst) == 0 && truncate(w->partial, pst.st_size) != 0)
            local = tern_error_set(err, errno, "%s: releasing reserved space: %s",
                                   w->partial, strerror(errno));
    }
    if (!local && w->node_rank == 0)
        local = tern_fsync_path(w->partial, err);
    if (tern_w_agree(w, local, err))
        return fail_out(w, err);
    trace(w, "fsync");
    /* phase 6: commit point (rank 0), then one exchange gives everyone the
     * outcome and the slowest rank's time. */
    if (w->rank == 0)
        local = tern_dir_commit(w->dir, w->epoch, w->opts.keep, err);
    double fin[2] = {local ? 1.0 : 0.0, tern_w_now() - w->t0}, maxfin[2] = {fin[0], fin[1]};
    if (!serial(w)) {
        MPI_Request req;
        PMPI_Iallreduce(fin, maxfin, 2, MPI_DOUBLE, MPI_MAX, w->comm, &req);
        tern_w_wait(&req);
        if (maxfin[0] > 0) {
            PMPI_Ibcast(err, sizeof *err, MPI_BYTE, 0, w->comm, &req);
            tern_w_wait(&req);
        }
    }
    if (maxfin[0] > 0)
        return fail_out(w, err);
    trace(w, "commit");
    if (stats) {
        memset(stats, 0, sizeof *stats);
        stats->epoch = w->epoch;
        stats->logical_bytes = sum[0];
        stats->stored_bytes = sum[1];
        stats->zero_bytes = sum[2];
        stats->seconds = maxfin[1];
        stats->ratio = sum[1] ? (double)sum[0] / (double)sum[1] : 1.0;
        tern_store_path(w->dir, w->epoch, stats->path, sizeof stats->path);
    }
    free_writer(w);
    return 0;
}

static void tern_ckpt_abort_impl(tern_ckpt_writer *w)
{
    if (!w)
        return;
    discard(w);
    free_writer(w);
}

/* ---- public entry points: HDF5 printing muted while they run ---------- */

int tern_ckpt_begin(MPI_Comm comm, const char *dir, uint64_t epoch, const tern_store_opts *opts, tern_ckpt_writer **out, tern_error *err)
{
    tern_h5_mute_t m = tern_h5_mute();
    int rc = tern_ckpt_begin_impl(comm, dir, epoch, opts, out, err);
    tern_h5_unmute(m);
    return rc;
}

int tern_ckpt_commit(tern_ckpt_writer *w, tern_ckpt_stats *stats, tern_error *err)
{
    tern_h5_mute_t m = tern_h5_mute();
    int rc = tern_ckpt_commit_impl(w, stats, err);
    tern_h5_unmute(m);
    return rc;
}

void tern_ckpt_abort(tern_ckpt_writer *w)
{
    tern_h5_mute_t m = tern_h5_mute();
    tern_ckpt_abort_impl(w);
    tern_h5_unmute(m);
}
