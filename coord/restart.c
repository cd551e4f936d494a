/* restart.c: a run started from a checkpoint (TERN_RESTART) -- opening and
 * checking it at MPI_Init, then tern_recover(): the regions' contents, the
 * predefined handles in them, drained messages and pending requests.
 * Separate because it is the only reader of a checkpoint inside the job.
 */
#define _GNU_SOURCE
#include "restart.h"
#include "tern.h"
#include "wrap.h"
#include "tern_store.h"
#include "config.h"
#include "control.h"
#include "describe.h"
#include "comm_log.h"
#include "handles.h"
#include "regions.h"
#include "report.h"
#include "snapshot.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static tern_ckpt *rst;
static meta rst_meta;
static uint64_t restored_epoch;
static int restarted_flag;
static int recovered;

int tern_restarted(void) { return restarted_flag; }
uint64_t tern_epoch(void) { return restored_epoch; }

static int rst_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int rst_fail(const char *fmt, ...)
{
    char b[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(b, sizeof b, fmt, ap);
    va_end(ap);
    say("restart from %s: %s", cfg_restart, b);
    return -1;
}

void restart_open(void)
{
    tern_error err;
    tern_error_clear(&err);
    tern_internal_enter();
    int rc = tern_ckpt_open(cfg_restart, &rst, &err);
    if (rc == 0) {
        const tern_ckpt_info *info = tern_ckpt_get_info(rst);
        int src = (int)info->nranks == tern_world_size ? tern_world_rank : 0;
        rc = tern_ckpt_read(rst, src, "_tern_meta", &rst_meta, sizeof rst_meta, &err);
        if (rc == 0 && rst_meta.magic != META_MAGIC) {
            tern_error_set(&err, EINVAL, "not an API-mode tern checkpoint (no _tern_meta)");
            rc = -1;
        }
        if (rc == 0 && rst_meta.version > PROTO_VERSION) {
            tern_error_set(&err, EINVAL, "protocol version %u is newer than this tern reads (%d); use a newer tern",
                           rst_meta.version, PROTO_VERSION);
            rc = -1;
        }
        if (rc == 0 && (int)info->nranks != tern_world_size && rst_meta.global_inflight) {
            tern_error_set(&err, EINVAL,
                           "the checkpoint of %d ranks has in-flight messages or pending "
                           "requests; only a quiescent checkpoint can restart on %d ranks",
                           info->nranks, tern_world_size);
            rc = -1;
        }
    }
    tern_internal_leave();
    int ok = rc == 0, all = 0;
    PMPI_Allreduce(&ok, &all, 1, MPI_INT, MPI_MIN, ctrl);
    if (!all) {
        if (!ok) say("cannot restart from %s: %s", cfg_restart, err.msg);
        PMPI_Abort(MPI_COMM_WORLD, 17);
    }
    restored_epoch = rst_meta.epoch;
    next_epoch_after(restored_epoch);
    restarted_flag = 1;
    /* keep the request slots of saved requests for tern_recover() */
    if ((int)rst_meta.nranks == tern_world_size && rst_meta.nreqs) {
        size_t n = rst_meta.nreqs * sizeof(req_rec);
        req_rec *r = malloc(n);
        tern_internal_enter();
        if (tern_ckpt_read(rst, tern_world_rank, "_tern_reqs", r, n, &err) == 0)
            for (uint64_t i = 0; i < rst_meta.nreqs; i++) tr_reserve(r[i].idx);
        tern_internal_leave();
        free(r);
    }
}

int tern_array_layout(const char *name, int64_t *global_count, int *saved_nranks)
{
    if (!rst) {
        say("tern_array_layout(%s): this run did not restart", name ? name : "");
        return -1;
    }
    size_t es;
    uint64_t total, *counts = NULL;
    tern_error err;
    tern_internal_enter();
    int rc = tern_ckpt_array_info(rst, name, &es, &total, &counts, &err);
    tern_internal_leave();
    if (rc) {
        say("tern_array_layout(%s): %s", name, err.msg);
        return -1;
    }
    free(counts);
    if (global_count) *global_count = (int64_t)total;
    if (saved_nranks) *saved_nranks = (int)rst_meta.nranks;
    return 0;
}

/* A typed or shaped saved array must be protected now with the same kind
 * (a float64 read into an int64 has the right size and the wrong values)
 * and, when both have a shape, the same row extents (rows of another
 * length would shift every element). Old files and opaque arrays check
 * nothing beyond the size; a 1-D side is read in row-major order. */
static int check_shape(const region *r)
{
    tern_array_desc d;
    tern_error err;
    if (tern_ckpt_array_desc(rst, r->name, &d, &err))
        return rst_fail("region %s: %s", r->name, err.msg);
    char saved[32], now[32];
    tern_elem_kind_name(d.kind, r->elem, saved, sizeof saved);
    tern_elem_kind_name(r->kind, r->elem, now, sizeof now);
    if (d.kind != TERN_ELEM_OPAQUE && r->kind != TERN_ELEM_OPAQUE && d.kind != r->kind)
        return rst_fail("region %s: saved as %s, protected now as %s", r->name, saved, now);
    if (d.ndims > 1 && r->ndims > 1) {   /* a flat side reads elements in row-major order */
        int same = d.ndims == r->ndims;
        for (int k = 1; same && k < d.ndims; k++) same = d.dims[k] == (uint64_t)r->dims[k];
        if (!same)
            return rst_fail("region %s: saved with %d dimensions and other row extents than "
                            "the %d protected now", r->name, d.ndims, r->ndims);
    }
    return 0;
}

static int recover_regions(void)
{
    int same = (int)rst_meta.nranks == tern_world_size;
    tern_error err;
    int nreg = 0;
    for (region *r = regions; r; r = r->next) nreg++;
    int64_t *counts = calloc((size_t)nreg + 1, sizeof(int64_t));
    int64_t *offs = malloc(sizeof(int64_t) * (size_t)(nreg + 1));
    int i = 0;
    for (region *r = regions; r; r = r->next) counts[i++] = r->count;
    /* offsets on another rank count: the sum of lower ranks' counts */
    PMPI_Exscan(counts, offs, nreg, MPI_INT64_T, MPI_SUM, ctrl);
    if (tern_world_rank == 0)
        for (i = 0; i < nreg; i++) offs[i] = 0;
    int rc = 0;
    i = 0;
    for (region *r = regions; r && !rc; r = r->next, i++) {
        tern_internal_enter();
        if (rst_meta.arrays) {
            size_t es;
            uint64_t total, *rc_counts = NULL;
            if (tern_ckpt_array_info(rst, r->name, &es, &total, &rc_counts, &err)) {
                rc = rst_fail("region %s: %s", r->name, err.msg);
            } else if (es != r->elem) {
                rc = rst_fail("region %s: saved element size %zu, protected now with %zu", r->name, es, r->elem);
            } else if (check_shape(r)) {
                rc = -1;
            } else {
                uint64_t off = (uint64_t)offs[i];
                if (same) {
                    off = 0;
                    for (int k = 0; k < tern_world_rank; k++) off += rc_counts[k];
                    if (rc_counts[tern_world_rank] != (uint64_t)r->count)
                        rc = rst_fail("region %s: saved %" PRIu64 " elements on this rank, protected now %" PRId64,
                                      r->name, rc_counts[tern_world_rank], r->count);
                }
                if (!same && off + (uint64_t)r->count > total) {
                    /* a value every rank holds (e.g. an iteration counter):
                     * every saved rank had exactly this count -> read rank 0's */
                    int repl = 1;
                    for (uint32_t k = 0; k < rst_meta.nranks; k++)
                        if (rc_counts[k] != (uint64_t)r->count) repl = 0;
                    if (repl) off = 0;
                }
                if (!rc && off + (uint64_t)r->count > total)
                    rc = rst_fail("region %s: elements [%" PRIu64 ", %" PRIu64 ") asked, %" PRIu64 " saved",
                                  r->name, off, off + (uint64_t)r->count, total);
                if (!rc && r->count > 0 &&
                    tern_ckpt_read_array(rst, r->name, off, (uint64_t)r->count, r->ptr, &err))
                    rc = rst_fail("region %s: %s", r->name, err.msg);
            }
            free(rc_counts);
        } else {
            if (!same)
                rc = rst_fail("region %s was saved per rank (ranks protected different regions); "
                              "it cannot be read on %d ranks (saved with %u)",
                              r->name, tern_world_size, rst_meta.nranks);
            else if (tern_ckpt_read(rst, tern_world_rank, r->name, r->ptr, r->bytes, &err))
                rc = rst_fail("region %s: %s", r->name, err.msg);
        }
        tern_internal_leave();
    }
    free(counts);
    free(offs);
    return rc;
}

/* `ok`: the earlier steps of tern_recover() succeeded on this rank. Called
 * on every rank even when they did not: rebuilding communicators is
 * collective. */
static int recover_protocol_state(int ok)
{
    tern_error err;
    int rc = ok ? 0 : -1;
    if ((int)rst_meta.nranks != tern_world_size) return rc;
    size_t nc = rst_meta.ncomms * sizeof(comm_rec);
    comm_rec *cr = malloc(nc + 1);
    tern_internal_enter();
    if (!rc && tern_ckpt_read(rst, tern_world_rank, "_tern_comms", cr, nc, &err)) rc = rst_fail("%s", err.msg);
    tern_segment_info *segs = NULL;
    int nsegs = 0, has_log = 0;
    uint64_t msize = 0, tsize = 0, lsize = 0;
    if (!rc && tern_ckpt_segments(rst, tern_world_rank, &segs, &nsegs, &err) == 0) {
        for (int i = 0; i < nsegs; i++) {
            if (!strcmp(segs[i].name, "_tern_msgs")) msize = segs[i].size;
            if (!strcmp(segs[i].name, "_tern_types")) tsize = segs[i].size;
            if (!strcmp(segs[i].name, COMM_LOG_SEGMENT)) {
                lsize = segs[i].size;
                has_log = 1;
            }
        }
        free(segs);
    }
    unsigned char *tb = malloc(tsize + 1);
    if (!rc && tsize && tern_ckpt_read(rst, tern_world_rank, "_tern_types", tb, tsize, &err)) rc = rst_fail("%s", err.msg);
    unsigned char *mb = malloc(msize + 1);
    if (!rc && msize && tern_ckpt_read(rst, tern_world_rank, "_tern_msgs", mb, msize, &err)) rc = rst_fail("%s", err.msg);
    size_t nr = rst_meta.nreqs * sizeof(req_rec);
    req_rec *rr = malloc(nr + 1);
    if (!rc && nr && tern_ckpt_read(rst, tern_world_rank, "_tern_reqs", rr, nr, &err)) rc = rst_fail("%s", err.msg);
    unsigned char *lb = malloc(lsize + 1);
    if (!rc && rst_meta.version >= 2 && !has_log)
        rc = rst_fail("segment %s is missing from a protocol version %u checkpoint", COMM_LOG_SEGMENT, rst_meta.version);
    if (!rc && lsize && tern_ckpt_read(rst, tern_world_rank, COMM_LOG_SEGMENT, lb, lsize, &err)) rc = rst_fail("%s", err.msg);
    tern_internal_leave();

    /* before anything is matched to its communicator: the saved ones this
     * run has not made again are rebuilt at their saved ordinals */
    char why[1024];
    if (comm_log_rebuild(ctrl, cr, rc ? 0 : rst_meta.ncomms, has_log ? lb : NULL, lsize, !rc, why, sizeof why) &&
        !rc)
        rc = why[0] ? rst_fail("%s", why) : -1;

    /* communicators referenced by the saved state: made again identically,
     * or rebuilt */
#define CHECK_COMM(ord, what)                                                                  \
    ({                                                                                          \
        tern_comm *c_ = tc_by_ordinal(ord);                                                     \
        comm_rec *s_ = NULL;                                                                    \
        char d_[1024];                                                                          \
        for (uint64_t k_ = 0; k_ < rst_meta.ncomms; k_++)                                       \
            if (cr[k_].ordinal == (ord)) s_ = &cr[k_];                                          \
        if (comm_log_check(s_, c_, d_, sizeof d_)) {                                            \
            rc = rst_fail("%s refers to communicator #%u (%s), which %s", what, (unsigned)(ord),  \
                          s_ ? s_->ctor : "?", d_);                                             \
            c_ = NULL;                                                                          \
        }                                                                                       \
        c_;                                                                                     \
    })
    size_t pos = 0;
    for (uint64_t i = 0; !rc && i < rst_meta.nmsgs; i++) {
        msg_rec h;
        memcpy(&h, mb + pos, sizeof h);
        pos += sizeof h;
        tern_comm *c = CHECK_COMM(h.comm, "a drained message");
        if (!c) break;
        tern_msg *m = malloc(sizeof *m + h.len);
        m->src = h.src;
        m->tag = h.tag;
        m->len = h.len;
        memcpy(m->data, mb + pos, h.len);
        pos += h.len;
        tq_append(c, m);
    }
    for (uint64_t i = 0; !rc && i < rst_meta.nreqs; i++) {
        req_rec *r = &rr[i];
        tern_comm *c = CHECK_COMM(r->comm, "a pending request");
        if (!c) break;
        void *b = NULL;
        if (r->has_buf) {
            region *rg = find_region(r->region);
            if (!rg) {
                rc = rst_fail("a pending receive lives in region %s, which is not protected in this run", r->region);
                break;
            }
            b = (char *)rg->ptr + r->offset;
        }
        tern_req *q = tr_alloc_at(r->idx);
        q->kind = r->kind;
        q->variant = r->variant;
        q->comm = c;
        q->buf = b;
        q->count = r->count;
        q->peer = r->peer;
        q->tag = r->tag;
        q->dt = r->dtype >= 0 ? predef(r->dtype) : MPI_BYTE;
        if (r->dtype == -2) {
            const unsigned char *p = tb + r->toff;
            q->dt = r->toff + r->tlen <= tsize ? type_deser(&p, tb + r->toff + r->tlen) : MPI_DATATYPE_NULL;
            if (q->dt == MPI_DATATYPE_NULL) {
                rc = rst_fail("cannot rebuild the derived datatype of a pending receive");
                break;
            }
        }
        q->st = r->st;
        q->real = MPI_REQUEST_NULL;
        q->state = r->state;
        if (q->kind == TR_PSEND || q->kind == TR_PRECV) {
            if (q->kind == TR_PRECV)
                PMPI_Recv_init(b, q->count, q->dt, q->peer, q->tag, c->real, &q->real);
            else if (q->variant == 1)
                PMPI_Bsend_init(b, q->count, q->dt, q->peer, q->tag, c->real, &q->real);
            else if (q->variant == 2)
                PMPI_Ssend_init(b, q->count, q->dt, q->peer, q->tag, c->real, &q->real);
            else if (q->variant == 3)
                PMPI_Rsend_init(b, q->count, q->dt, q->peer, q->tag, c->real, &q->real);
            else
                PMPI_Send_init(b, q->count, q->dt, q->peer, q->tag, c->real, &q->real);
            if (q->state == TRS_ACTIVE) PMPI_Start(&q->real);
        } else if (q->state == TRS_ACTIVE && q->kind == TR_RECV) {
            PMPI_Irecv(b, q->count, q->dt, q->peer, q->tag, c->real, &q->real);
        }
    }
    comm_log_release();
    free(cr);
    free(mb);
    free(rr);
    free(tb);
    free(lb);
    return rc;
}

int tern_recover(void)
{
    if (!rst) {
        say("tern_recover: this run did not restart (TERN_RESTART is not set)");
        return -1;
    }
    if (recovered) {
        say("tern_recover: called twice");
        return -1;
    }
    int rc = recover_regions();
    if (!rc && rst_meta.nhandles > 0 && rst_meta.nhandles <= NPREHANDLES) {
        uintptr_t old[NPREHANDLES];
        tern_error err;
        int src = (int)rst_meta.nranks == tern_world_size ? tern_world_rank : 0;
        tern_internal_enter();
        int e = tern_ckpt_read(rst, src, "_tern_handles", old, sizeof(uintptr_t) * rst_meta.nhandles, &err);
        tern_internal_leave();
        if (e) rc = rst_fail("%s", err.msg);
        else fix_prehandles(old, (int)rst_meta.nhandles);
    }
    rc = recover_protocol_state(rc == 0);
    int ok = rc == 0, all = 0;
    PMPI_Allreduce(&ok, &all, 1, MPI_INT, MPI_MIN, ctrl);
    recovered = 1;
    return all ? 0 : -1;
}

void restart_close(void)
{
    if (rst) {
        tern_internal_enter();
        tern_ckpt_close(rst);
        tern_internal_leave();
        rst = NULL;
    }
}

/* ---- transparent mode (tern_tm.h): the proxy rebuilds the rest --------------- */
int tern_tm_restarted(void)
{
    return rst != NULL;
}

int tern_tm_recover(void)
{
    if (!rst || recovered) {
        say("tern_tm_recover: %s", rst ? "called twice" : "this run did not restart");
        return -1;
    }
    int rc = recover_protocol_state(1);
    int ok = rc == 0, all = 0;
    PMPI_Allreduce(&ok, &all, 1, MPI_INT, MPI_MIN, ctrl);
    recovered = 1;
    return all ? 0 : -1;
}

int tern_tm_read(const char *name, void **buf, size_t *len, tern_error *err)
{
    *buf = NULL;
    *len = 0;
    if (!rst) return tern_error_set(err, EINVAL, "this run did not restart");
    tern_segment_info *segs = NULL;
    int nsegs = 0, rc = -1;
    uint64_t size = 0;
    int found = 0;
    tern_internal_enter();
    if (tern_ckpt_segments(rst, tern_world_rank, &segs, &nsegs, err) == 0) {
        for (int i = 0; i < nsegs; i++)
            if (!strcmp(segs[i].name, name)) {
                size = segs[i].size;
                found = 1;
            }
        free(segs);
        if (!found) {
            tern_error_set(err, ENOENT, "%s: rank %d has no segment %s", tern_ckpt_get_info(rst)->path,
                           tern_world_rank, name);
        } else if (!(*buf = malloc(size ? size : 1))) {
            tern_error_set(err, ENOMEM, "out of memory for segment %s (%llu bytes)", name,
                           (unsigned long long)size);
        } else if (tern_ckpt_read(rst, tern_world_rank, name, *buf, size, err) == 0) {
            *len = size;
            rc = 0;
        } else {
            free(*buf);
            *buf = NULL;
        }
    }
    tern_internal_leave();
    return rc;
}

const char *tern_tm_restart_file(void)
{
    return rst ? tern_ckpt_get_info(rst)->path : NULL;
}
