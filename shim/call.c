/* call.c: one MPI call through the channel (shim.h).
 *
 * The channel is attached at the first call, not when the library is
 * loaded: a program the application starts (system(), a shell) inherits
 * LD_PRELOAD and the descriptor but never calls MPI, and must not take the
 * application's place in the channel. Only a child of the proxy attaches.
 *
 * One call at a time: a mutex serialises the application's threads
 * (MPI_THREAD_FUNNELED and SERIALIZED need no more). A call made from inside
 * an upcall (an error handler that calls MPI_Abort, an attribute callback)
 * runs on the thread that holds the mutex already: it is sent as the
 * upcall's reply and its answer comes as the upcall TW_UP_ANSWER.
 */
#define _GNU_SOURCE
#include "shim.h"
#include "tern_channel.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static tern_chan *chan;
static unsigned char *area;
static size_t area_cap;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static __thread int upcall_depth;   /* > 0 while this thread serves an upcall */

/* ---- attaching ------------------------------------------------------------- */
static void no_proxy(const char *why)
{
    sh_say("this program runs on tern's MPI stand-in (transparent mode) without its proxy (%s): "
           "start it with `tern run` or `mpirun tern-proxy -- PROGRAM`", why);
    _exit(1);
}

static void attach(void)
{
    const char *fd = getenv("TERN_CHANNEL_FD"), *pp = getenv("TERN_PROXY_PID");
    if (!fd || !*fd || !pp || !*pp) no_proxy("TERN_CHANNEL_FD is not set");
    if (atol(pp) != (long)getppid()) no_proxy("its parent is not the proxy");
    tern_error err;
    if (tern_chan_attach(atoi(fd), &chan, &err)) no_proxy(err.msg);
    area = tern_chan_data(chan);
    area_cap = tern_chan_capacity(chan);
}

/* ---- laying out a call ---------------------------------------------------------- */
static inline size_t align16(size_t n)
{
    return (n + 15) & ~(size_t)15;
}

void sh_begin(sh_msg *m, unsigned call, unsigned n)
{
    m->nested = upcall_depth > 0;
    if (m->nested && sh_op_running) {
        sh_say("%s: a user reduction operation may not call MPI in transparent mode", tc_names[call]);
        _exit(1);
    }
    if (!m->nested) pthread_mutex_lock(&lock);
    if (!chan) attach();
    tw_call *h = (tw_call *)area;
    h->kind = TW_CALL;
    h->call = call;
    h->nwords = n;
    m->base = area;
    m->w = (uint64_t *)(area + sizeof *h);
    m->off = (uint32_t *)(m->w + n);
    m->len = m->off + n;
    memset(m->off, 0, 2 * n * sizeof(uint32_t));
    m->cur = align16(sizeof *h + n * (8 + 4 + 4));
    m->cap = area_cap;
    tern_chan_draft(chan, m->cur);   /* a checkpoint meanwhile keeps what is written */
    m->ret_id = TW_ID_NULLPTR;
}

/* room for n inline bytes of argument k, or NULL */
static void *inl_room(sh_msg *m, unsigned k, size_t n)
{
    if (n == 0 || n > m->cap - m->cur || n > UINT32_MAX) return NULL;
    void *p = m->base + m->cur;
    m->off[k] = (uint32_t)m->cur;
    m->len[k] = (uint32_t)n;
    m->cur = align16(m->cur + n);
    tern_chan_draft(chan, m->cur);
    return p;
}

void sh_inl_raw(sh_msg *m, unsigned k, const void *p, size_t n)
{
    void *d = inl_room(m, k, n);
    if (d) memcpy(d, p, n);
}

void sh_inl_str(sh_msg *m, unsigned k, const char *s)
{
    if (s) sh_inl_raw(m, k, s, strlen(s) + 1);
}

void sh_inl_id(sh_msg *m, unsigned k, uint64_t id)
{
    sh_inl_raw(m, k, &id, sizeof id);
}

void sh_inl_harr(sh_msg *m, unsigned k, const void *handles, int n)
{
    if (!handles || n <= 0) return;
    uint64_t *d = inl_room(m, k, (size_t)n * 8);
    if (!d) return;
    const void *const *h = handles;
    for (int i = 0; i < n; i++) d[i] = sh_id(h[i]);
}

/* A small input buffer goes inline: its span from the true lower bound, gaps
 * included (the proxy sends only the datatype's bytes of it). */
void sh_inl_buf(sh_msg *m, unsigned k, const void *buf, int64_t count, MPI_Datatype dt)
{
    if (count <= 0 || (uintptr_t)buf < 4096) return;   /* also MPI_IN_PLACE, MPI_BOTTOM */
    const tw_dtinfo *d = sh_dtinfo(sh_id(dt));
    if (!d || d->true_extent <= 0) return;
    int64_t span = (count - 1) * d->extent + d->true_extent;
    if (span <= 0 || span > (int64_t)TW_INLINE_MAX || (!d->contiguous && span > 4 * count * d->size))
        return;
    sh_inl_raw(m, k, (const char *)buf + d->true_lb, (size_t)span);
}

/* ---- the answer -------------------------------------------------------------------- */
static void apply(sh_msg *m, const unsigned char *p, size_t len)
{
    size_t pos = 0;
    while (pos + sizeof(tw_rec) <= len) {
        const tw_rec *r = (const tw_rec *)(p + pos);
        const unsigned char *d = p + pos + sizeof *r;
        void *at = (void *)(uintptr_t)r->addr;
        switch (r->kind) {
        case TW_R_WRITE: memcpy(at, d, r->len); break;
        case TW_R_HANDLE: *(void **)at = sh_handle(*(const uint64_t *)d); break;
        case TW_R_HANDLES:
            for (uint32_t i = 0; i < r->len / 8; i++) ((void **)at)[i] = sh_handle(((const uint64_t *)d)[i]);
            break;
        case TW_R_DTINFO: sh_set_dtinfo((const tw_dtinfo *)d); break;
        case TW_R_RETH: m->ret_id = *(const uint64_t *)d; break;
        case TW_R_ATTRINT: {
            const tw_attrint *a = (const tw_attrint *)d;
            *(void **)at = sh_attr_slot(a->keyval, a->value);
            break;
        }
        case TW_R_INIT: sh_set_init((const tw_init *)d); break;
        }
        pos += sizeof *r + ((r->len + 7) & ~7u);
    }
}

static void proxy_gone(void)
{
    /* the proxy died (mpirun killed the job): so does the application */
    _exit(1);
}

/* Wait for the answer, serving upcalls. A nested call's answer is the upcall
 * TW_UP_ANSWER: {kind, rc} and the records. */
static int wait_answer(sh_msg *m, int r, size_t len, int32_t rc, uint32_t up)
{
    for (;;) {
        if (r != TERN_CHAN_READY) proxy_gone();
        if (!up) {
            apply(m, area, len);
            return rc;
        }
        if (up == TW_UP_ANSWER && m->nested) {
            const int32_t *h = (const int32_t *)area;
            rc = h[1];
            apply(m, area + 8, len - 8);
            return rc;
        }
        upcall_depth++;
        size_t out = sh_upcall(up, area, len);
        upcall_depth--;
        tern_chan_upcall_done(chan, out);
        r = tern_chan_wait_answer(chan, &len, &rc, &up);
    }
}

int sh_end(sh_msg *m)
{
    size_t len = m->cur;
    int32_t rc = 0;
    uint32_t up = 0;
    int r;
    if (m->nested) {
        tern_chan_upcall_done(chan, len);
        r = tern_chan_wait_answer(chan, &len, &rc, &up);
    } else {
        r = tern_chan_call(chan, ((tw_call *)area)->call, &len, &rc, &up);
    }
    rc = wait_answer(m, r, len, rc, up);
    if (!m->nested) pthread_mutex_unlock(&lock);
    return rc;
}

void *sh_ret_handle(const sh_msg *m)
{
    return sh_handle(m->ret_id);
}

/* ---- messages and refusals ------------------------------------------------------------------ */
void sh_say(const char *fmt, ...)
{
    char line[1024];
    int n = sh_initialized ? snprintf(line, sizeof line, "tern: rank %d: ", sh_rank)
                           : snprintf(line, sizeof line, "tern: ");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
    va_end(ap);
    strcat(line, "\n");
    ssize_t w = write(2, line, strlen(line));
    (void)w;
}

int sh_refuse(const char *call, const char *why)
{
    sh_say("%s: %s", call, why);
    if (sh_initialized && !sh_finalized) PMPI_Abort(MPI_COMM_WORLD, 1);
    _exit(1);
}
