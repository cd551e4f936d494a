/* exchange.h: the exchange vector, allocated once in coord_init (coord.c).
 *
 * One MPI_Allreduce with xchg_op: the first XS_NMAX words are reduced with
 * MAX, the rest with SUM.
 *   MAX: UNSAFE and DBAD carry W - rank of a rank that refuses (so the max is
 *        the lowest such rank), HASH and NHASH the region-layout hash and its
 *        complement (max and min), EPOCH rank 0's choice;
 *   SUM: BAL  sum of (messages posted - messages completed) per rank: 0 over
 *             all ranks iff nothing is in flight (per pair, completed <=
 *             posted), SIG the collective signature (0 iff consistent),
 *        NONQUIET ranks with an active request, INFLIGHT ranks with pending
 *             requests or undelivered drained messages to save;
 *   then, for W <= XCHG_MATRIX_MAX, the W x W matrix of messages posted per
 *   ordered pair (each rank fills its own row, the others stay 0), from which
 *   a rank reads what it must drain without a second collective.
 *
 * Owner: exchange.c sets the pointers and the op (scratch_init(), once).
 * The contents are scratch lent out with one writer each: xs_vec, xs_res,
 * xs_expect is filled by checkpoint.c, xs_deficit by drain.c.
 */
#ifndef TERN_COORD_EXCHANGE_H
#define TERN_COORD_EXCHANGE_H

#include <mpi.h>
#include <stdint.h>

#pragma GCC visibility push(hidden)

#define XCHG_MATRIX_MAX 16
enum { XS_UNSAFE, XS_DBAD, XS_HASH, XS_NHASH, XS_EPOCH, XS_NMAX,
       XS_BAL = XS_NMAX, XS_SIG, XS_NONQUIET, XS_INFLIGHT, XS_N };
extern uint64_t *xs_vec, *xs_res;       /* [xs_len]: this rank's words, the reduced ones */
extern uint64_t *xs_expect;   /* [W]: messages owed to this rank per world rank */
extern char *xs_deficit;                /* [W]: the drain's "still missing from w" */
extern int xs_len, xs_matrix;           /* words; whether the matrix is included */
extern MPI_Op xchg_op;

void scratch_init(void);

#pragma GCC visibility pop
#endif
