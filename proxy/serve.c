/* serve.c: the channel loop (px_dispatch.h).
 *
 * The proxy waits for the application's next call (spinning briefly, then
 * asleep: no CPU while the application computes), runs it, answers. During
 * a call it may ask the application to run a function of its own (an
 * upcall); a function that itself calls MPI replies with that call, which
 * is served here, inside the first, and answered as TW_UP_ANSWER.
 */
#include "px_dispatch.h"
#include "life.h"
#include "serve.h"
#include "tern_channel.h"

#include <stdlib.h>
#include <string.h>

static tern_chan *chan;
static unsigned char *area;
static size_t cap;
int px_nested;

/* The call being served as it came: a checkpoint that comes while it waits
 * saves it (upcalls and answers overwrite the channel's copy). */
static unsigned char *cur;
static size_t cur_len, cur_cap;
static const unsigned char *cur_p;   /* cur, or what a restart makes again */

static void keep_call(size_t len)
{
    if (len > cur_cap) {
        size_t n = cur_cap ? cur_cap : 4096;
        while (n < len) n *= 2;
        unsigned char *p = realloc(cur, n);
        if (!p) px_fatal("out of memory for a call's copy");
        cur = p;
        cur_cap = n;
    }
    memcpy(cur, area, len);
    cur_len = len;
    cur_p = cur;
}

const unsigned char *px_call_bytes(size_t *len, uint32_t *call)
{
    *len = cur_p ? cur_len : 0;
    *call = cur_p && cur_len >= sizeof(tw_call) ? ((const tw_call *)cur_p)->call : 0;
    return cur_p;
}

void px_call_set(const unsigned char *p, size_t len)
{
    cur_p = p ? p : cur;
    cur_len = p ? len : 0;
}

tern_chan *px_chan(void)
{
    return chan;
}

unsigned char *px_area(void)
{
    return area;
}

size_t px_area_cap(void)
{
    return cap;
}

static int dispatch(unsigned char *base, size_t len, unsigned char *out, size_t outcap, size_t *outlen)
{
    const tw_call *h = (const tw_call *)base;
    if (len < sizeof *h || h->kind != TW_CALL || h->call >= TC_N || !px_dispatch[h->call] ||
        sizeof *h + (size_t)h->nwords * 16 > len)
        px_fatal("the application sent a call the proxy does not know (%u)", len >= sizeof *h ? h->call : 0);
    px_ctx x;
    px_ctx_init(&x, base, len, out, outcap);
    int rc = px_dispatch[h->call](&x);
    *outlen = x.outcur;
    return rc;
}

size_t px_upcall(uint32_t kind, size_t len)
{
    for (;;) {
        if (tern_chan_upcall(chan, kind, &len) != TERN_CHAN_READY) px_wait_app();
        if (len < 4 || *(const uint32_t *)area != TW_CALL) return len;
        /* a call from inside the upcall: its answer follows {TW_UP_ANSWER, rc} */
        size_t outlen = 0;
        px_nested++;
        int rc = dispatch(area, len, area + 8, cap - 8, &outlen);
        px_nested--;
        ((uint32_t *)area)[0] = TW_UP_ANSWER;
        ((int32_t *)area)[1] = rc;
        kind = TW_UP_ANSWER;
        len = 8 + outlen;
    }
}

/* How long the proxy sleeps between looks at the protocol while the
 * application computes (a cut in progress: often). */
static uint64_t idle_wait(void)
{
    if (!px_initialized || px_finalized) return 1000000000ull;
    return tern_tm_cutting() ? 1000000ull : 50000000ull;
}

static void serve_one(size_t len)
{
    size_t outlen = 0;
    /* requests the application freed while active make progress here,
     * inside a call, where an upcall they need is possible */
    if (px_requests_pending()) px_requests_poll();
    px_phase = PX_REDO;
    tern_tm_poll(1);   /* at the call's entry: nothing of it done yet */
    /* the call is read from its copy: MPI's progress during it (a poll, a
     * blocking wait) may run a pending user op, whose upcall uses the
     * channel's data area; the answer is written there after */
    int rc = dispatch(cur, len, area, cap, &outlen);
    px_phase = PX_IDLE;
    cur_p = NULL;
    tern_chan_answer(chan, rc, outlen);
}

void px_serve_init(tern_chan *c)
{
    chan = c;
    area = tern_chan_data(c);
    cap = tern_chan_capacity(c);
}

void px_serve_adopted(size_t len)
{
    keep_call(len);
    serve_one(len);
}

void px_serve(tern_chan *c)
{
    px_serve_init(c);
    for (;;) {
        uint32_t call;
        size_t len;
        /* an application that never attached the channel (it has not
         * called MPI) is not watched by it */
        int r = tern_chan_next_call(chan, idle_wait(), &call, &len);
        if (r == TERN_CHAN_PEER_GONE) px_wait_app();
        if (r != TERN_CHAN_READY) {
            px_app_check();
            /* between calls: a cut may run here, unless MPI's progress could
             * need the application to run a user op (it is not in a call) */
            if (!px_uop_active) tern_tm_poll(1);
            continue;
        }
        keep_call(len);
        serve_one(len);
    }
}
