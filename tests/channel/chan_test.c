/* chan_test CASE: the channel between an application and its proxy, with
 * real processes. The test process is the proxy; it forks the application.
 *
 *   calls     10000 calls of growing size; every answer checked
 *   upcalls   calls that make 1..3 upcalls each before their answer
 *   idle      the application computes 0.5 s without a call: the proxy,
 *             waiting for the next call, uses (almost) no CPU; then the
 *             application waits 0.5 s for an answer: it uses none either
 *   proxy_dies   the proxy takes a call and exits: the application's wait
 *                ends with PEER_GONE (within the liveness period)
 *   app_dies     the application exits while the proxy waits: PEER_GONE
 * Prints PASS, or FAIL: and why.
 */
#define _GNU_SOURCE
#include "tern_channel.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void fail(const char *fmt, const char *a, long b)
{
    printf("FAIL: ");
    printf(fmt, a, b);
    printf("\n");
    fflush(stdout);
    _exit(1);
}

static double cpu_seconds(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1e-6;
}

static double wall(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void burn(double s)
{
    double t = wall();
    volatile unsigned long x = 0;
    while (wall() - t < s) x++;
}

static uint32_t sum(const unsigned char *p, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 16777619u;
    return h;
}

/* ---- the application (child) -------------------------------------------- */
static int app_main(const char *cas, int fd)
{
    tern_chan *c;
    tern_error err;
    if (tern_chan_attach(fd, &c, &err)) fail("attach: %s%ld", err.msg, 0);
    unsigned char *d = tern_chan_data(c);
    size_t cap = tern_chan_capacity(c);
    int ncalls = !strcmp(cas, "calls") ? 10000 : !strcmp(cas, "upcalls") ? 2000 : 1;
    if (!strcmp(cas, "app_dies")) _exit(0);   /* attached, gone without a call */
    if (!strcmp(cas, "idle")) burn(0.5);
    for (int i = 0; i < ncalls; i++) {
        size_t len = (size_t)(i * 37) % cap;
        for (size_t k = 0; k < len; k++) d[k] = (unsigned char)(i + k * 7);
        uint32_t want = sum(d, len);
        int32_t rc;
        uint32_t up;
        int r = tern_chan_call(c, (uint32_t)i, &len, &rc, &up);
        int nup = 0;
        while (r == TERN_CHAN_READY && up) {
            /* the upcall: double every byte it sent */
            if (up != (uint32_t)(nup + 1)) fail("upcall kind %s%ld", "", (long)up);
            for (size_t k = 0; k < len; k++) d[k] = (unsigned char)(d[k] * 2);
            tern_chan_upcall_done(c, len);
            nup++;
            r = tern_chan_wait_answer(c, &len, &rc, &up);
        }
        if (!strcmp(cas, "proxy_dies")) {
            if (r != TERN_CHAN_PEER_GONE) fail("the wait ended with %s%ld, not PEER_GONE", "", r);
            _exit(0);
        }
        if (r != TERN_CHAN_READY) fail("call: wait ended with %s%ld", "", r);
        if (rc != i) fail("call %s%ld: wrong rc", "", i);
        if (len != 4 || memcmp(d, &want, 4)) fail("call %s%ld: wrong answer", "", i);
    }
    _exit(0);
}

/* ---- the proxy (this process) -------------------------------------------- */
static void serve(tern_chan *c, const char *cas)
{
    unsigned char *d = tern_chan_data(c);
    int upcalls = !strcmp(cas, "upcalls");
    for (;;) {
        uint32_t call;
        size_t len;
        double c0 = cpu_seconds(), w0 = wall();
        int r = tern_chan_next_call(c, UINT64_MAX, &call, &len);
        if (!strcmp(cas, "idle")) {
            double used = cpu_seconds() - c0, waited = wall() - w0;
            if (waited < 0.4) fail("the proxy waited only %s%ld ms", "", (long)(waited * 1000));
            if (used > 0.05) fail("the proxy used %s%ld ms of CPU while the application computed", "",
                                  (long)(used * 1000));
        }
        if (!strcmp(cas, "app_dies")) {
            if (r != TERN_CHAN_PEER_GONE) fail("next_call ended with %s%ld, not PEER_GONE", "", r);
            return;
        }
        if (r != TERN_CHAN_READY) fail("next_call: %s%ld", "", r);
        if (!strcmp(cas, "proxy_dies")) _exit(0);   /* taken, never answered */
        int nup = upcalls ? 1 + (int)(call % 3) : 0;
        for (int u = 1; u <= nup; u++) {
            size_t l = len;
            unsigned char before[64];
            size_t nb = len < sizeof before ? len : sizeof before;
            memcpy(before, d, nb);
            if (tern_chan_upcall(c, (uint32_t)u, &l) != TERN_CHAN_READY) fail("upcall %s%ld", "", u);
            for (size_t k = 0; k < nb; k++)
                if (d[k] != (unsigned char)(before[k] * 2)) fail("upcall %s%ld: wrong data", "", u);
        }
        if (!strcmp(cas, "idle")) {
            /* the application now waits for the answer while we sleep */
            struct timespec ts = {0, 500000000};
            nanosleep(&ts, NULL);
        }
        /* the answer: the checksum of what the application sent (after
         * upcalls the data area holds their results: recompute it) */
        uint32_t h = sum(d, len);
        if (upcalls) {
            static unsigned char sent[65536];
            for (size_t k = 0; k < len; k++) sent[k] = (unsigned char)(call + k * 7);
            h = sum(sent, len);
        }
        memcpy(d, &h, 4);
        tern_chan_answer(c, (int32_t)call, 4);
        if (!strcmp(cas, "idle")) return;
        if (call + 1 == (uint32_t)(upcalls ? 2000 : 10000)) return;
    }
}

/* proxy_dies: this process watches; a child is the proxy, its child the
 * application, which reports its wait's result through a pipe. */
static int watch_proxy_death(void)
{
    int pfd[2];
    if (pipe(pfd)) fail("pipe%s%ld", "", 0);
    pid_t proxy = fork();
    if (proxy == 0) {
        close(pfd[0]);
        tern_chan *c;
        tern_error err;
        int fd;
        if (tern_chan_create(4096, &c, &fd, &err)) fail("create: %s%ld", err.msg, 0);
        if (fork() == 0) {
            dup2(pfd[1], 1);
            app_main("proxy_dies", fd);
        }
        close(pfd[1]);
        serve(c, "proxy_dies");   /* takes the call and exits */
        _exit(3);
    }
    close(pfd[1]);
    char buf[256] = "";
    double t0 = wall();
    ssize_t n = read(pfd[0], buf, sizeof buf - 1);   /* EOF when the application exits */
    waitpid(proxy, NULL, 0);
    if (n > 0) {
        buf[n] = 0;
        printf("%s", buf);
        return 1;
    }
    double t = wall() - t0;
    if (t > 5) fail("the application noticed the proxy's death only after %s%ld s", "", (long)t);
    printf("PASS: proxy_dies (the application's wait ended %.2f s after)\n", t);
    return 0;
}

int main(int argc, char **argv)
{
    const char *cas = argc > 1 ? argv[1] : "calls";
    if (!strcmp(cas, "proxy_dies")) return watch_proxy_death();
    tern_chan *c;
    tern_error err;
    int fd;
    if (tern_chan_create(65536 - 4096, &c, &fd, &err)) fail("create: %s%ld", err.msg, 0);
    pid_t app = fork();
    if (app == 0) return app_main(cas, fd);
    serve(c, cas);
    int st;
    waitpid(app, &st, 0);
    if (!WIFEXITED(st) || WEXITSTATUS(st)) fail("the application ended with status %s%ld", "", st);
    if (!strcmp(cas, "idle")) {
        struct rusage ru;
        getrusage(RUSAGE_CHILDREN, &ru);
        double used = ru.ru_utime.tv_sec + ru.ru_stime.tv_sec + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1e-6;
        /* 0.5 s of computing, then 0.5 s of waiting for the answer: the
         * wait must cost (almost) nothing */
        if (used > 0.65) fail("the application used %s%ld ms of CPU (0.5 s computing, 0.5 s waiting)", "",
                              (long)(used * 1000));
    }
    printf("PASS: %s\n", cas);
    return 0;
}
