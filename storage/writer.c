/* The writer: begin, put*, commit (the two-phase protocol), abort.
 *
 * Commit phases; none starts before every rank knows how the previous one
 * went (an allgather that carries statuses, or tern_w_agree), so every rank
 * leaves with the same outcome and nobody waits for a rank that gave up:
 *   1 plan      one allgather: counts, put_array calls, host and node leader
 *               (write_layout.c);
 *   2 layout    groups, tables, arrays and node records are created
 *               collectively; arrays and topology are written (write_layout.c);
 *   3 data      chunk data in rounds (write_data.c);
 *   4 tables    each rank writes its segment table and chunk index; one
 *               allgather brings statuses and totals; space is reserved;
 *               the file is closed;
 *   5 durable   one rank per node fsyncs the file (that flushes every
 *               rank's pages on that node);
 *   6 commit    rank 0 renames .partial into place, syncs the directory,
 *               rewrites MANIFEST, prunes old checkpoints in the background.
 * A failure before 6 removes the .partial file (write_close.c, taking the
 * same collective steps on every rank whatever failed where); the previous
 * checkpoint was never touched. docs/storage.md tells the whole story.
 */
#define _GNU_SOURCE
#include <ctype.h>
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
#include "views.h"
#include "writer_int.h"

int tern_w_minor0(void)
{
    static int v = -1;
    if (v < 0) {
        const char *e = getenv("TERN_STORE_FORMAT_MINOR0");
        v = e && *e && strcmp(e, "0");
    }
    return v;
}

void tern_w_trace(tern_ckpt_writer *w, const char *phase)
{
    static int on = -1;
    if (on < 0) {
        const char *e = getenv("TERN_STORE_TRACE");
        on = e && *e && strcmp(e, "0");
    }
    if (on && w->rank == 0) {
        double t = tern_now_mono();
        fprintf(stderr, "tern-store: epoch %llu: %-8s %8.4f s\n", (unsigned long long)w->epoch,
                phase, t - w->t_last);
        w->t_last = t;
    }
}

int tern_w_injected(const tern_ckpt_writer *w, const char *what)
{
    const char *e = getenv("TERN_STORE_TEST_FAIL");
    for (const char *p = e; p && *p; p = strchr(p, ',') ? strchr(p, ',') + 1 : "") {
        int rank;
        unsigned long long epoch;
        char step[16];
        if (sscanf(p, "%d:%llu:%15[a-z]", &rank, &epoch, step) == 3 && rank == w->rank &&
            epoch == w->epoch && !strcmp(step, what))
            return ENOSPC;
    }
    return 0;
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
    if (tern_w_serial(w))
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
    free(w->vcounts);
    free(w);
}

static int fail_out(tern_ckpt_writer *w)
{
    tern_w_discard(w);
    free_writer(w);
    return -1;
}

/* Options as the writer uses them: defaults filled in, the chunk size
 * bounded and rounded to whole pages. */
static void set_opts(tern_ckpt_writer *w, const tern_store_opts *opts)
{
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
}

/* Collective: the writer's own communicator, and the node. The node's size
 * shares out the disk rate, its leader (lowest rank there) writes the
 * topology and fsyncs for everyone. */
static void join(tern_ckpt_writer *w, MPI_Comm comm)
{
    PMPI_Comm_dup(comm, &w->comm);
    PMPI_Comm_rank(w->comm, &w->rank);
    PMPI_Comm_size(w->comm, &w->size);
    MPI_Comm node;
    PMPI_Comm_split_type(w->comm, MPI_COMM_TYPE_SHARED, w->rank, MPI_INFO_NULL, &node);
    PMPI_Comm_size(node, &w->node_size);
    PMPI_Comm_rank(node, &w->node_rank);
    w->node_leader = w->rank;
    PMPI_Bcast(&w->node_leader, 1, MPI_INT, 0, node);
    PMPI_Comm_free(&node);
}

/* Rank 0: DIR takes new files. Checked before MPI-IO opens anything: MPI-IO
 * reports a refusal as an error class ("MPI_ERR_ACCESS: invalid access
 * mode") that names neither the directory nor the cause. */
static int check_writable(const char *dir, tern_error *err)
{
    if (faccessat(AT_FDCWD, dir, W_OK | X_OK, AT_EACCESS) == 0)
        return 0;
    int e = errno;
    char why[128];
    snprintf(why, sizeof why, "%s", strerror(e));
    why[0] = (char)tolower((unsigned char)why[0]);
    return tern_error_set(err, e, "%s: not writable (%s)", dir, why);
}

/* Rank 0: DIR exists and takes new files, leftovers of failed attempts are
 * gone, epoch is newer than the latest committed checkpoint, and the
 * .partial file exists (created here, so that a refusal is reported with
 * the system's reason; HDF5 then opens it). */
static int check_dir(const char *dir, uint64_t epoch, const char *partial, tern_error *err)
{
    uint64_t *ep = NULL;
    int n = 0;
    int local = tern_dir_prepare(dir, err);
    if (!local)
        local = check_writable(dir, err);
    if (!local)
        local = tern_dir_clean_leftovers(dir, err);
    if (!local)
        local = tern_store_list(dir, &ep, &n, err);
    if (!local && n > 0 && ep[n - 1] >= epoch)
        local = tern_error_set(err, EEXIST, "%s: epoch %" PRIu64 " is not newer than the "
                               "latest committed checkpoint (epoch %" PRIu64 ")",
                               dir, epoch, ep[n - 1]);
    free(ep);
    if (!local) {
        /* 0644: never group/other-writable whatever the umask (tern refuses
         * checkpoints others could write: common/private_dir.h) */
        int fd = open(partial, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
        if (fd < 0)
            local = tern_error_set(err, errno, "%s: cannot create: %s", partial, strerror(errno));
        else
            close(fd);
    }
    return local;
}

/* Parallel HDF5 writes dirty metadata at "sync points", collectively, once
 * a rank has made dirty_bytes_threshold bytes of it (256 KiB by default:
 * some hundred ranks' tables). Raised to HDF5's upper bound, metadata stays
 * in the cache until the close for jobs of thousands of ranks, so that
 * nothing but the close writes it (and the reservation before the close
 * covers it all, write_close.c). */
static void keep_metadata_until_close(hid_t fapl)
{
    H5AC_cache_config_t mdc;
    mdc.version = H5AC__CURR_CACHE_CONFIG_VERSION;
    if (H5Pget_mdc_config(fapl, &mdc) < 0)
        return;
    mdc.dirty_bytes_threshold = (size_t)32 << 20;
    H5Pset_mdc_config(fapl, &mdc);   /* refused: the default stays, still correct */
}

/* Collective: creates the .partial file (this rank's part of it). */
static int create_file(tern_ckpt_writer *w, tern_error *err)
{
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    if (tern_w_serial(w)) {
        H5Pset_fapl_sec2(fapl);
#if H5_VERSION_GE(1, 10, 7)
        H5Pset_file_locking(fapl, 0, 1);   /* the .partial name is the lock */
#endif
    } else {
        H5Pset_fapl_mpio(fapl, w->comm, MPI_INFO_NULL);
        H5Pset_all_coll_metadata_ops(fapl, 1);
        H5Pset_coll_metadata_write(fapl, 1);
        keep_metadata_until_close(fapl);
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
    if (w->file < 0)
        return tern_error_set(err, EIO, "%s: cannot create: %s", w->partial, h5);
    return 0;
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
    w->t0 = w->t_last = tern_now_mono();
    set_opts(w, opts);
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
        join(w, comm);
    }
    /* Receive buffer of every allgather of this checkpoint, allocated now so
     * that a rank short of memory fails where everybody agrees on it, not
     * in the middle of a collective. */
    w->scratch = malloc((size_t)w->size * sizeof(plan_rec));
    w->vcounts = malloc(2 * (size_t)w->size * sizeof *w->vcounts);
    if (!w->scratch || !w->vcounts) {
        local = tern_error_set(err, ENOMEM, "rank %d: out of memory", w->rank);
    } else if (!dir || !dir[0] || strlen(dir) > PATH_MAX - 64) {
        local = tern_error_set(err, EINVAL, "tern_ckpt_begin: bad directory name");
    } else {
        snprintf(w->dir, sizeof w->dir, "%s", dir);
        tern_store_partial_path(dir, epoch, w->partial, sizeof w->partial);
    }
    if (!local && w->opts.refuse)
        local = tern_error_set(err, ECANCELED, "%s", w->opts.refuse);
    if (!local && w->rank == 0)
        local = check_dir(dir, epoch, w->partial, err);
    if (tern_w_agree(w, local, err)) {
        if (w->rank == 0 && !local)
            unlink(w->partial);            /* created by check_dir */
        free_writer(w);
        return -1;
    }
    if (tern_w_agree(w, create_file(w, err), err))
        return fail_out(w);
    /* A rank that cannot open its descriptor fails the commit (agreed on in
     * its first phase); no extra round trip here. */
    w->fd = open(w->partial, O_WRONLY | O_CLOEXEC);
    if (w->fd < 0) {
        tern_error_set(&w->first_err, errno, "%s: rank %d: open: %s", w->partial, w->rank,
                       strerror(errno));
        w->poisoned = 1;
    }
    *out = w;
    tern_w_trace(w, "begin");
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
    if (!tern_name_ok(name, TERN_NAME_MAX + 1))
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
    return tern_ckpt_put_array_desc(w, name, elem_size, count, buf, NULL, err);
}

/* Whether kind fits elem_size (the sizes HDF5 has native types for). */
static int kind_ok(int kind, size_t es)
{
    switch (kind) {
    case TERN_ELEM_OPAQUE:
        return 1;
    case TERN_ELEM_INT:
    case TERN_ELEM_UINT:
        return es == 1 || es == 2 || es == 4 || es == 8;
    case TERN_ELEM_FLOAT:
        return es == 4 || es == 8;
    case TERN_ELEM_COMPLEX:
        return es == 8 || es == 16;
    }
    return 0;
}

/* The description is sound and count a whole number of rows. */
static int desc_ok(const tern_array_desc *d, size_t es, uint64_t count)
{
    if (!kind_ok(d->kind, es) || d->ndims < 1 || d->ndims > TERN_ARRAY_MAX_DIMS)
        return 0;
    uint64_t row = 1;
    for (int k = 1; k < d->ndims; k++)
        if (!d->dims[k] || __builtin_mul_overflow(row, d->dims[k], &row))
            return 0;
    return count % row == 0;
}

int tern_ckpt_put_array_desc(tern_ckpt_writer *w, const char *name, size_t elem_size,
                             uint64_t count, const void *buf, const tern_array_desc *desc,
                             tern_error *err)
{
    tern_error scratch;
    if (!err)
        err = &scratch;
    if (!w)
        return tern_error_set(err, EINVAL, "tern_ckpt_put_array: no writer");
    tern_array_desc flat = {TERN_ELEM_OPAQUE, 1, {0}};
    if (!desc)
        desc = &flat;
    if (elem_size && !desc_ok(desc, elem_size, count))
        return poison(w, (tern_error_set(err, EINVAL, "rank %d: array '%s': kind %d of %zu "
                                         "bytes, %d dimensions and %" PRIu64 " elements do "
                                         "not make whole rows", w->rank, name ? name : "(null)",
                                         desc->kind, elem_size, desc->ndims, count), err));
    if (!tern_name_ok(name, TERN_NAME_MAX + 1))
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
    a->desc = *desc;
    a->desc.dims[0] = 0;
    for (int k = desc->ndims; k < TERN_ARRAY_MAX_DIMS; k++)
        a->desc.dims[k] = 0;
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
    if (!tern_name_ok(key, TERN_NAME_MAX + 1) || !value)
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

/* Phase 6: the commit point (rank 0), then one exchange gives everyone the
 * outcome and the slowest rank's time (*seconds). */
static int commit_point(tern_ckpt_writer *w, double *seconds, tern_error *err)
{
    int local = 0, e = w->rank == 0 ? tern_w_injected(w, "rename") : 0;
    if (e)
        local = tern_error_set(err, e, "%s: rename: %s", w->partial, strerror(e));
    else if (w->rank == 0)
        local = tern_dir_commit(w->dir, w->epoch, w->opts.keep, err);
    double fin[2] = {local ? 1.0 : 0.0, tern_now_mono() - w->t0}, maxfin[2] = {fin[0], fin[1]};
    if (!tern_w_serial(w)) {
        MPI_Request req;
        PMPI_Iallreduce(fin, maxfin, 2, MPI_DOUBLE, MPI_MAX, w->comm, &req);
        tern_w_wait(&req);
        if (maxfin[0] > 0) {
            PMPI_Ibcast(err, sizeof *err, MPI_BYTE, 0, w->comm, &req);
            tern_w_wait(&req);
        }
    }
    *seconds = maxfin[1];
    return maxfin[0] > 0 ? -1 : 0;
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
    if (tern_w_layout(w, &dsegs, &dchunks, err)) {
        if (dsegs >= 0)
            H5Dclose(dsegs);
        if (dchunks >= 0)
            H5Dclose(dchunks);
        return fail_out(w);
    }
    tern_w_trace(w, "layout");
    /* write_data agrees on failures it sees in a round; a failure in the
     * last round is only local so far and travels in the exchange of
     * phase 4 */
    int local = tern_w_write_data(w, err);
    if (w->agreed_fail) {
        H5Dclose(dsegs);
        H5Dclose(dchunks);
        return fail_out(w);
    }
    tern_w_trace(w, "data");
    uint64_t sum[3];
    if (tern_w_tables(w, local, dsegs, dchunks, sum, err) || tern_w_close_durable(w, err))
        return fail_out(w);
    tern_w_trace(w, "fsync");
    double seconds;
    if (commit_point(w, &seconds, err))
        return fail_out(w);
    tern_w_trace(w, "commit");
    if (stats) {
        memset(stats, 0, sizeof *stats);
        stats->epoch = w->epoch;
        stats->logical_bytes = sum[0];
        stats->stored_bytes = sum[1];
        stats->zero_bytes = sum[2];
        stats->seconds = seconds;
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
    tern_w_discard(w);
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
