/* chan_bench [N]: round trip of an empty call through the channel, the
 * application and the proxy in two processes, with the default spin and with
 * no spin (a futex sleep and wake on each side), in one run. */
#define _GNU_SOURCE
#include "tern_channel.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double wall(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static double round_trips(uint64_t spin, int n)
{
    tern_chan *c;
    tern_error err;
    int fd;
    if (tern_chan_create(4096, &c, &fd, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        exit(1);
    }
    tern_chan_set_spin(c, spin);
    pid_t app = fork();
    if (app == 0) {
        tern_chan *a;
        if (tern_chan_attach(fd, &a, &err)) _exit(1);
        tern_chan_set_spin(a, spin);
        for (int i = 0; i < n; i++) {
            size_t len = 8;
            int32_t rc;
            uint32_t up;
            tern_chan_call(a, 1, &len, &rc, &up);
        }
        _exit(0);
    }
    double t0 = 0;
    for (int i = 0; i < n; i++) {
        uint32_t call;
        size_t len;
        tern_chan_next_call(c, UINT64_MAX, &call, &len);
        if (i == 0) t0 = wall();
        tern_chan_answer(c, 0, 8);
    }
    double t = wall() - t0;
    waitpid(app, NULL, 0);
    tern_chan_detach(c);
    close(fd);
    return t / (n - 1) * 1e6;
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 200000;
    double spin = round_trips(20000, n);
    double sleep = round_trips(0, n / 20);
    printf("channel round trip: spinning %.3f us, futex sleep/wake %.2f us (ratio %.1f)\n", spin, sleep,
           sleep / spin);
    return 0;
}
