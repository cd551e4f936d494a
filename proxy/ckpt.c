/* ckpt.c: the protocol's hooks in the proxy (coord/tern_tm.h): at the cut,
 * what this rank's proxy knows goes into the checkpoint beside the
 * application's image.
 *
 *   quiesced  after the drain: refuse what cannot be saved yet, write back
 *             what completed, freeze the application (the dumper, ptrace);
 *   put       px.state (where the application's call was), px.call (its
 *             bytes), px.chan (the channel's header and data in use),
 *             px.ids (the registry: communicators, datatypes, groups, ops),
 *             px.reqs (requests), and the image app.* (dumper/);
 *   resume    the application runs on.
 * restore.c reads them back in that order.
 */
#define _GNU_SOURCE
#include "ckpt.h"
#include "px_types.h"
#include "serve.h"

#include "dumper.h"
#include "tern_channel.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static tern_dump *dump;
static sigset_t mask_before;
static int masked;

/* ---- what cannot be saved yet ------------------------------------------------------------- */
static const char *kind_name(uint32_t k)
{
    switch (k) {
    case TK_INFO: return "an MPI_Info";
    case TK_ERRH: return "a user error handler";
    case TK_WIN: return "an MPI_Win";
    case TK_FILE: return "an MPI_File";
    case TK_MSG: return "a matched message (MPI_Mprobe) not yet received";
    default: return NULL;
    }
}

static int refusals(tern_error *err)
{
    for (uint64_t id = px_ent_next(0); id != TW_ID_BAD; id = px_ent_next(id)) {
        const char *k = kind_name(px_ent_of(id)->kind);
        if (k)
            return tern_error_set(err, ENOTSUP, "the application holds %s, which transparent checkpoints cannot "
                                  "save yet", k);
    }
    return 0;
}

/* ---- freezing --------------------------------------------------------------------------- */
static int freeze(tern_error *err)
{
    /* the dumper waits for the application's ptrace stops: the proxy's
     * SIGCHLD handling must not take them first */
    sigset_t chld;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    sigprocmask(SIG_BLOCK, &chld, &mask_before);
    masked = 1;
    uint64_t ext = tern_chan_app_base(px_chan());
    tern_dump_opts o = {.ext_addr = &ext, .n_ext = ext ? 1 : 0};
    tern_dump_info info;
    if (tern_dump_capture_opts(px_app, &o, &dump, &info, err)) {
        sigprocmask(SIG_SETMASK, &mask_before, NULL);
        masked = 0;
        return -1;
    }
    return 0;
}

static int quiesced(tern_error *err)
{
    char why[1024];
    if (refusals(err)) return -1;
    if (px_requests_quiesce(why, sizeof why)) return tern_error_set(err, ENOTSUP, "%s", why);
    return freeze(err);
}

/* ---- the records ---------------------------------------------------------------------- */
typedef struct {
    unsigned char *p;
    size_t n, cap;
} bytes;

static int grow(bytes *b, size_t more)
{
    if (b->n + more <= b->cap) return 0;
    size_t c = b->cap ? b->cap : 4096;
    while (c < b->n + more) c *= 2;
    unsigned char *p = realloc(b->p, c);
    if (!p) return -1;
    b->p = p;
    b->cap = c;
    return 0;
}

static int add(bytes *b, const void *p, size_t n)
{
    if (grow(b, n)) return -1;
    memcpy(b->p + b->n, p, n);
    b->n += n;
    return 0;
}

/* One registry entry: header, then its kind's payload. */
static int save_entry(bytes *b, uint64_t id, const px_ent *e, tern_error *err)
{
    px_id_rec r = {id, e->kind, e->refs, 0, 0};
    size_t at = b->n;
    if (add(b, &r, sizeof r)) return tern_error_set(err, ENOMEM, "out of memory");
    size_t start = b->n;
    char why[512] = "";
    int bad = 0;
    switch (e->kind) {
    case TK_COMM: {
        uint64_t h = (uint64_t)(uintptr_t)e->h;
        bad = add(b, &h, sizeof h);
        break;
    }
    case TK_DTYPE:
        bad = px_type_save(e->h, 1, &b->p, &b->n, &b->cap, why, sizeof why);
        break;
    case TK_GROUP:
        bad = px_group_save(e->h, &b->p, &b->n, &b->cap, why, sizeof why);
        break;
    case TK_OP: {
        uint64_t rec[3];
        bad = px_op_save(e->ext, e->h, rec) || add(b, rec, sizeof rec);
        break;
    }
    case TK_REQ:
        break;   /* px.reqs */
    default:
        return tern_error_set(err, ENOTSUP, "a handle of kind %u cannot be saved", e->kind);
    }
    if (bad) return tern_error_set(err, ENOTSUP, "handle %llu: %s", (unsigned long long)id, why[0] ? why : "cannot be saved");
    px_id_rec *h = (px_id_rec *)(b->p + at);
    h->len = (uint32_t)(b->n - start);
    return 0;
}

static bytes ids_copy;   /* read at commit */

static int put_ids(const tern_tm_sink *s, tern_error *err)
{
    free(ids_copy.p);
    ids_copy = (bytes){0};
    bytes b = {0};
    px_ids_hdr hdr = {PX_CKPT_MAGIC, px_ids_hiwater()};
    int rc = add(&b, &hdr, sizeof hdr) ? tern_error_set(err, ENOMEM, "out of memory") : 0;
    for (uint64_t id = px_ent_next(0); !rc && id != TW_ID_BAD; id = px_ent_next(id))
        rc = save_entry(&b, id, px_ent_of(id), err);
    if (!rc) rc = s->put(s->w, "px.ids", b.p, b.n, err);
    ids_copy = b;
    return rc;
}

/* Kept until the commit has read them (the store pulls at commit). */
static px_state st_rec;
static unsigned char *call_copy, *reqs_copy;

static int put(const tern_tm_sink *s, tern_error *err)
{
    size_t clen = 0;
    uint32_t call = 0;
    const unsigned char *cb = px_phase != PX_IDLE ? px_call_bytes(&clen, &call) : NULL;
    free(call_copy);
    call_copy = NULL;
    if (cb && clen) {
        if (!(call_copy = malloc(clen))) return tern_error_set(err, ENOMEM, "out of memory");
        memcpy(call_copy, cb, clen);
    }
    const void *chan_img;
    size_t chan_len = tern_chan_image(px_chan(), &chan_img);
    memset(&st_rec, 0, sizeof st_rec);
    st_rec.magic = PX_CKPT_MAGIC;
    st_rec.version = PX_CKPT_VERSION;
    st_rec.phase = cb ? (uint32_t)px_phase : PX_IDLE;
    st_rec.call = call;
    st_rec.call_len = cb ? clen : 0;
    st_rec.chan_len = chan_len;
    free(reqs_copy);
    reqs_copy = NULL;
    size_t rlen = 0;
    if (px_requests_save(&reqs_copy, &rlen)) return tern_error_set(err, ENOMEM, "out of memory");
    tern_dump_sink ds = {s->w, s->put, (tern_dump_put_fn_t)s->put_fn};
    if (s->put(s->w, "px.state", &st_rec, sizeof st_rec, err) ||
        s->put(s->w, "px.call", call_copy, st_rec.call_len, err) ||
        s->put(s->w, "px.chan", chan_img, chan_len, err) || put_ids(s, err) ||
        s->put(s->w, "px.reqs", reqs_copy, rlen, err) || tern_dump_put_sink(dump, &ds, "app", err))
        return -1;
    return 0;
}

static void resume(int committed)
{
    (void)committed;
    if (dump) {
        tern_error err;
        if (tern_dump_release(dump, 0, &err)) px_say("the application could not be let go: %s", err.msg);
        dump = NULL;
    }
    if (masked) {
        sigprocmask(SIG_SETMASK, &mask_before, NULL);
        masked = 0;
    }
}

const tern_tm_hooks px_tm_hooks = {quiesced, put, resume};
