/* drain.h: DRAIN (docs/protocol.md): receive what is in flight to this rank
 * and complete what this rank has in flight, without any collective.
 *
 * No state of its own: it moves messages into the wrapper's queues (wrap.h),
 * completes application requests and uses xs_deficit (exchange.h) as scratch.
 */
#ifndef TERN_COORD_DRAIN_H
#define TERN_COORD_DRAIN_H

#include <stddef.h>
#include <stdint.h>

#pragma GCC visibility push(hidden)

/* Given expect[w] = messages w has posted to this rank: 0 when quiescent,
 * -1 with why after TERN_DRAIN_TIMEOUT seconds without progress. */
int drain(const uint64_t *expect, char *why, size_t whylen);

#pragma GCC visibility pop
#endif
