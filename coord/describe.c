/* describe.c: DESCRIBE (docs/protocol.md) -- this rank's pending requests,
 * undelivered drained messages and live communicators as records, with the
 * derived datatypes of pending receives serialised so that a restart can
 * rebuild them. Separate because it is the format of the checkpoint's
 * protocol segments; describe.h holds the records, restart.c reads them back.
 */
#define _GNU_SOURCE
#include "describe.h"
#include "wrap.h"
#include "handles.h"
#include "regions.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Frees what PMPI_Type_get_contents (or type_deser) gave: the component types
 * that are not predefined, and the three arrays. */
static void free_contents(int *ints, MPI_Aint *aints, MPI_Datatype *types, int nd)
{
    for (int i = 0; i < nd; i++) {
        int a, bb, c, cb;
        PMPI_Type_get_envelope(types[i], &a, &bb, &c, &cb);
        if (cb != MPI_COMBINER_NAMED) PMPI_Type_free(&types[i]);
    }
    free(ints);
    free(aints);
    free(types);
}

/* ---- derived datatypes of pending receives ------------------------------------
 * A receive re-posted at restart needs its datatype. Derived datatypes are not
 * virtual handles (docs/api.md), so the datatype itself is saved: its
 * envelope and contents (MPI_Type_get_envelope / get_contents), recursively,
 * down to predefined types, and rebuilt with the same constructors. */
static int type_ser(MPI_Datatype t, buf *b, char *why, size_t len)
{
    int ni, na, nd, comb;
    PMPI_Type_get_envelope(t, &ni, &na, &nd, &comb);
    int32_t hdr[4] = { comb, ni, na, nd };
    bput(b, hdr, sizeof hdr);
    if (comb == MPI_COMBINER_NAMED) {
        int32_t k = predef_index(t);
        if (k < 0) {
            snprintf(why, len, "a pending receive uses a predefined datatype tern does not know");
            return -1;
        }
        bput(b, &k, sizeof k);
        return 0;
    }
    switch (comb) {
    case MPI_COMBINER_DUP: case MPI_COMBINER_CONTIGUOUS: case MPI_COMBINER_VECTOR:
    case MPI_COMBINER_HVECTOR: case MPI_COMBINER_INDEXED: case MPI_COMBINER_HINDEXED:
    case MPI_COMBINER_INDEXED_BLOCK: case MPI_COMBINER_HINDEXED_BLOCK: case MPI_COMBINER_STRUCT:
    case MPI_COMBINER_SUBARRAY: case MPI_COMBINER_RESIZED:
        break;
    default:
        snprintf(why, len, "a receive pending at tern_snapshot() uses a datatype made by a "
                 "constructor tern cannot rebuild (combiner %d: darray or Fortran types)", comb);
        return -1;
    }
    int *ints = malloc(sizeof(int) * (size_t)(ni + 1));
    MPI_Aint *aints = malloc(sizeof(MPI_Aint) * (size_t)(na + 1));
    MPI_Datatype *types = malloc(sizeof(MPI_Datatype) * (size_t)(nd + 1));
    PMPI_Type_get_contents(t, ni, na, nd, ints, aints, types);
    for (int i = 0; i < ni; i++) { int32_t v = ints[i]; bput(b, &v, sizeof v); }
    for (int i = 0; i < na; i++) { int64_t v = (int64_t)aints[i]; bput(b, &v, sizeof v); }
    int rc = 0;
    for (int i = 0; i < nd && rc == 0; i++) rc = type_ser(types[i], b, why, len);
    free_contents(ints, aints, types, nd);
    return rc;
}

MPI_Datatype type_deser(const unsigned char **p, const unsigned char *end)
{
    int32_t hdr[4];
    if (*p + sizeof hdr > end) return MPI_DATATYPE_NULL;
    memcpy(hdr, *p, sizeof hdr);
    *p += sizeof hdr;
    int comb = hdr[0], ni = hdr[1], na = hdr[2], nd = hdr[3];
    if (comb == MPI_COMBINER_NAMED) {
        int32_t k;
        memcpy(&k, *p, sizeof k);
        *p += sizeof k;
        return predef(k);
    }
    int *ints = malloc(sizeof(int) * (size_t)(ni + 1));
    MPI_Aint *aints = malloc(sizeof(MPI_Aint) * (size_t)(na + 1));
    MPI_Datatype *types = malloc(sizeof(MPI_Datatype) * (size_t)(nd + 1));
    for (int i = 0; i < ni; i++) { int32_t v; memcpy(&v, *p, sizeof v); *p += sizeof v; ints[i] = v; }
    for (int i = 0; i < na; i++) { int64_t v; memcpy(&v, *p, sizeof v); *p += sizeof v; aints[i] = (MPI_Aint)v; }
    for (int i = 0; i < nd; i++) types[i] = type_deser(p, end);
    MPI_Datatype t = MPI_DATATYPE_NULL;
    int n = ni > 0 ? ints[0] : 0;
    switch (comb) {
    case MPI_COMBINER_DUP: PMPI_Type_dup(types[0], &t); break;
    case MPI_COMBINER_CONTIGUOUS: PMPI_Type_contiguous(ints[0], types[0], &t); break;
    case MPI_COMBINER_VECTOR: PMPI_Type_vector(ints[0], ints[1], ints[2], types[0], &t); break;
    case MPI_COMBINER_HVECTOR: PMPI_Type_create_hvector(ints[0], ints[1], aints[0], types[0], &t); break;
    case MPI_COMBINER_INDEXED: PMPI_Type_indexed(n, ints + 1, ints + 1 + n, types[0], &t); break;
    case MPI_COMBINER_HINDEXED: PMPI_Type_create_hindexed(n, ints + 1, aints, types[0], &t); break;
    case MPI_COMBINER_INDEXED_BLOCK: PMPI_Type_create_indexed_block(n, ints[1], ints + 2, types[0], &t); break;
    case MPI_COMBINER_HINDEXED_BLOCK: PMPI_Type_create_hindexed_block(n, ints[1], aints, types[0], &t); break;
    case MPI_COMBINER_STRUCT: PMPI_Type_create_struct(n, ints + 1, aints, types, &t); break;
    case MPI_COMBINER_SUBARRAY:
        PMPI_Type_create_subarray(n, ints + 1, ints + 1 + n, ints + 1 + 2 * n, ints[1 + 3 * n], types[0], &t);
        break;
    case MPI_COMBINER_RESIZED: PMPI_Type_create_resized(types[0], aints[0], aints[1], &t); break;
    default: break;
    }
    if (t != MPI_DATATYPE_NULL) PMPI_Type_commit(&t);
    free_contents(ints, aints, types, nd);
    return t;
}

/* ---- DESCRIBE -------------------------------------------------------------- */
/* Build the descriptors of pending requests. Returns 0, or -1 with why. */
int describe_requests(buf *b, buf *bt, uint64_t *n, char *why, size_t len)
{
    *n = 0;
    for (uint32_t i = 0; i < tr_hiwater; i++) {
        tern_req *q = tr_at(i);
        if (!q || q->state == TRS_FREE) continue;
        req_rec r;
        memset(&r, 0, sizeof r);
        r.idx = q->idx;
        r.kind = q->kind;
        r.state = q->state;
        r.variant = q->variant;
        r.comm = q->comm ? q->comm->ordinal : 0;
        r.count = q->count;
        r.peer = q->peer;
        r.tag = q->tag;
        r.st = q->st;
        r.dtype = -1;
        int persistent = q->kind == TR_PSEND || q->kind == TR_PRECV;
        if (q->kind == TR_GREQ && q->state == TRS_ACTIVE) {
            snprintf(why, len, "a generalized request (MPI_Grequest_start) is pending at tern_snapshot()");
            return -1;
        }
        int recv = q->kind == TR_RECV || q->kind == TR_PRECV || q->kind == TR_MRECV;
        int needbuf = persistent || (recv && q->state == TRS_ACTIVE) ||
                      (recv && q->state == TRS_DONE && q->st.MPI_SOURCE != MPI_PROC_NULL);
        if (needbuf && q->count > 0) {
            MPI_Aint lb, ext;
            PMPI_Type_get_extent(q->dt, &lb, &ext);
            uint64_t off;
            region *rg = locate(q->buf, (size_t)ext * (size_t)q->count, &off);
            if (!rg) {
                if (persistent) continue;   /* not restorable: the application re-creates it */
                snprintf(why, len,
                         "a receive (%s from %d tag %d) pending at tern_snapshot() has its buffer %p "
                         "outside every protected region: protect the buffer or complete the "
                         "request before the snapshot",
                         q->kind == TR_MRECV ? "MPI_Imrecv" : "MPI_Irecv", q->peer, q->tag, q->buf);
                return -1;
            }
            r.has_buf = 1;
            r.offset = off;
            snprintf(r.region, sizeof r.region, "%s", rg->name);
        }
        if ((q->state == TRS_ACTIVE || persistent) && (recv || persistent)) {
            r.dtype = predef_index(q->dt);
            if (r.dtype < 0) {
                r.dtype = -2;
                r.toff = bt->n;
                if (type_ser(q->dt, bt, why, len)) {
                    if (persistent && q->state != TRS_ACTIVE) {
                        bt->n = r.toff;
                        continue;
                    }
                    return -1;
                }
                r.tlen = bt->n - r.toff;
            }
        }
        bput(b, &r, sizeof r);
        (*n)++;
    }
    return 0;
}

/* The first drained message on a communicator of ordinal >= o. */
static void cursor_seek(msg_cursor *cur, uint32_t o)
{
    cur->m = NULL;
    cur->pos = 0;
    for (; o < tc_count; o++) {
        tern_comm *c = tc_by_ordinal(o);
        if (c && !c->freed && c->qhead) {
            cur->ordinal = o;
            cur->m = c->qhead;
            return;
        }
    }
}

uint64_t describe_messages(uint64_t *n, msg_cursor *cur)
{
    uint64_t len = 0;
    *n = 0;
    for (uint32_t o = 0; o < tc_count; o++) {
        tern_comm *c = tc_by_ordinal(o);
        if (!c || c->freed) continue;
        for (tern_msg *m = c->qhead; m; m = m->next) {
            len += sizeof(msg_rec) + m->len;
            (*n)++;
        }
    }
    cursor_seek(cur, 0);
    cur->off = 0;
    return len;
}

int describe_messages_fill(void *ctx, uint64_t offset, void *dst, size_t n, tern_error *err)
{
    msg_cursor *cur = ctx;
    if (offset != cur->off)
        return tern_error_set(err, EINVAL, "_tern_msgs: read at %" PRIu64 ", expected %" PRIu64,
                              offset, cur->off);
    unsigned char *d = dst;
    while (n > 0) {
        if (!cur->m) return tern_error_set(err, EINVAL, "_tern_msgs: the drained messages changed");
        const tern_msg *m = cur->m;
        msg_rec r = { cur->ordinal, m->src, m->tag, 0, m->len };
        size_t k;
        if (cur->pos < sizeof r) {
            k = sizeof r - cur->pos < n ? sizeof r - cur->pos : n;
            memcpy(d, (const unsigned char *)&r + cur->pos, k);
        } else {
            uint64_t at = cur->pos - sizeof r;
            k = m->len - at < n ? (size_t)(m->len - at) : n;
            memcpy(d, m->data + at, k);
        }
        d += k;
        n -= k;
        cur->pos += k;
        cur->off += k;
        if (cur->pos == sizeof r + m->len) {
            if (m->next) {
                cur->m = m->next;
                cur->pos = 0;
            } else {
                cursor_seek(cur, cur->ordinal + 1);
            }
        }
    }
    return 0;
}

void describe_comms(buf *b, uint64_t *n, buf *members)
{
    comm_rec *r = NULL;
    void *log = NULL;
    size_t loglen = 0;
    comm_log_describe(&r, n, &log, &loglen);
    bput(b, r, sizeof *r * (size_t)*n);
    bput(members, log, loglen);
    free(r);
    free(log);
}
