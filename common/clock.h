/* clock.h: tern's two clocks (header only, so a caller measuring a short
 * window pays no call).
 *
 * Monotonic time measures durations and paces triggers; on one node it is
 * common to all processes. Wall time goes only into what a person or another
 * job reads later (events, `tern ls`), where it must mean the same thing on
 * every node.
 */
#ifndef TERN_COMMON_CLOCK_H
#define TERN_COMMON_CLOCK_H

#include <time.h>

static inline double tern_now_mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static inline double tern_now_wall(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

#endif
