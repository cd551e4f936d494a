/* exchange.c: the one collective of the coordination -- its vector's scratch
 * and its reduction op (MAX over the first words, SUM over the rest), made
 * once at MPI_Init so that a checkpoint allocates nothing before it is
 * quiescent. exchange.h describes the layout.
 */
#include "exchange.h"
#include "wrap.h"
#include "config.h"

#include <stdlib.h>

uint64_t *xs_vec, *xs_res, *xs_expect;
char *xs_deficit;
int xs_len, xs_matrix;
MPI_Op xchg_op = MPI_OP_NULL;

static void xchg_reduce(void *in, void *inout, int *len, MPI_Datatype *dt)
{
    (void)dt;
    const uint64_t *a = in;
    uint64_t *b = inout;
    int i = 0;
    for (; i < XS_NMAX && i < *len; i++)
        if (a[i] > b[i]) b[i] = a[i];
    for (; i < *len; i++) b[i] += a[i];
}

void scratch_init(void)
{
    size_t W = (size_t)tern_world_size;
    xs_matrix = W <= XCHG_MATRIX_MAX && !test_no_matrix;
    xs_len = XS_N + (xs_matrix ? (int)(W * W) : 0);
    xs_vec = calloc((size_t)xs_len, sizeof(uint64_t));
    xs_res = calloc((size_t)xs_len, sizeof(uint64_t));
    xs_expect = calloc(W, sizeof(uint64_t));
    xs_deficit = calloc(W, 1);
    PMPI_Op_create(xchg_reduce, 1, &xchg_op);
}
