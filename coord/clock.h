/* clock.h: the two clocks of coord/ (header only).
 *
 * Wall time goes into events (`started`, `restarted`: tern migrate computes
 * downtime from it); monotonic time measures coordination and paces triggers.
 * Inline, because the checkpoint reads the monotonic clock inside the window
 * it measures.
 */
#ifndef TERN_COORD_CLOCK_H
#define TERN_COORD_CLOCK_H

#include <time.h>

static inline double now_wall(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}
static inline double now_mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

#endif
