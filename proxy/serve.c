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

#include <string.h>

static tern_chan *chan;
static unsigned char *area;
static size_t cap;

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
        int rc = dispatch(area, len, area + 8, cap - 8, &outlen);
        ((uint32_t *)area)[0] = TW_UP_ANSWER;
        ((int32_t *)area)[1] = rc;
        kind = TW_UP_ANSWER;
        len = 8 + outlen;
    }
}

void px_serve(tern_chan *c)
{
    chan = c;
    area = tern_chan_data(c);
    cap = tern_chan_capacity(c);
    for (;;) {
        uint32_t call;
        size_t len, outlen = 0;
        /* a second at a time: an application that never attached the
         * channel (it has not called MPI) is not watched by it */
        int r = tern_chan_next_call(chan, 1000000000ull, &call, &len);
        if (r == TERN_CHAN_PEER_GONE) px_wait_app();
        if (r != TERN_CHAN_READY) {
            px_app_check();
            continue;
        }
        /* requests the application freed while active make progress here,
         * inside a call, where an upcall they need is possible */
        if (px_requests_pending()) px_requests_poll();
        int rc = dispatch(area, len, area, cap, &outlen);
        tern_chan_answer(chan, rc, outlen);
    }
}
