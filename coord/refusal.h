/* refusal.h: the slow paths of a refused checkpoint: which rank refused, why,
 * and getting that text to rank 0, which reports it (events, request answers).
 *
 * No state. Collective over ctrl where said; used only once a refusal is
 * known, so none of this is on the fast path.
 */
#ifndef TERN_COORD_REFUSAL_H
#define TERN_COORD_REFUSAL_H

#include <stddef.h>
#include <stdint.h>

#pragma GCC visibility push(hidden)

/* Agree on a yes/no among all ranks; returns the max of `code`. Collective. */
int agree_max(int code);
/* CHECK: collective sequence numbers of every live communicator must be equal
 * on all members. Fills why on mismatch. Collective. */
int check_collectives(char *why, size_t len);
/* Move the failure text of rank src to rank 0 (ctrl, tag). Called by all. */
void reason_to_root(int src, char *text, size_t len, int tag);
/* A refusal every rank knows of, src being the lowest refusing rank: a rank
 * that refused itself (mine) says so on its stderr, src's text goes to rank
 * 0 (reason_to_root) and why becomes "refused on rank SRC: TEXT". Called by
 * all. */
void refusal_report(int src, int mine, uint64_t epoch, char *text, size_t len, int tag, char *why,
                    size_t whylen);

#pragma GCC visibility pop
#endif
