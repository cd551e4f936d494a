/* halo2d: Jacobi iterations of a 2-D Poisson problem, 2-D decomposition.
 *
 * The ranks form a non-periodic 2-D Cartesian grid (MPI_Dims_create +
 * MPI_Cart_create, created again on every run before the loop), each rank a
 * --size x --size block (default 24) with a one-cell halo. Missing neighbours
 * at the border are MPI_PROC_NULL. Columns are packed by hand.
 *
 * The halo exchange for the next sweep (4 Irecv + 4 Isend, tag = direction)
 * is posted BEFORE tern_snapshot() and waited AFTER it: at every snapshot
 * point each rank has pending receives and sends on the Cartesian
 * communicator. The source term varies with the iteration, so the field never
 * settles and every sweep matters to the answer. Every 10 sweeps an MPI_Allreduce computes the global update
 * norm.
 *
 * With --prepost the exchange uses persistent requests (MPI_Recv_init /
 * MPI_Send_init, made once in the first run, never again after a restart:
 * tern recreates them in the same handles since their buffers are
 * protected), started with MPI_Startall before the snapshot point.
 *
 * Protected: it, u, the 4 send and 4 receive halo buffers, the 8 requests,
 * the last norm.
 */
#include <math.h>

#include "app_common.h"

enum { N_ = 0, S_ = 1, W_ = 2, E_ = 3 };

int main(int argc, char **argv) {
    struct app_opts o = { .iters = 20000, .size = 24, .sleep_us = 0 };
    int rank, size;
    app_start(&argc, &argv, &o, &rank, &size);
    const int m = o.size < 2 ? 2 : (int)o.size; /* interior cells per side */
    const int ld = m + 2;

    int dims[2] = { 0, 0 }, periods[2] = { 0, 0 }, coords[2];
    MPI_Dims_create(size, 2, dims);
    MPI_Comm cart;
    MPI_Cart_create(MPI_COMM_WORLD, 2, dims, periods, 0, &cart);
    int crank;
    MPI_Comm_rank(cart, &crank);
    MPI_Cart_coords(cart, crank, 2, coords);
    int nb[4];
    MPI_Cart_shift(cart, 0, 1, &nb[N_], &nb[S_]); /* rows of the process grid */
    MPI_Cart_shift(cart, 1, 1, &nb[W_], &nb[E_]);

    long it = 0;
    double norm = 0.0;
    double *u = app_alloc(sizeof(double) * (size_t)ld * ld);
    double *un = app_alloc(sizeof(double) * (size_t)ld * ld);
    double *sb = app_alloc(sizeof(double) * 4 * (size_t)m);
    double *rb = app_alloc(sizeof(double) * 4 * (size_t)m);
    MPI_Request req[8];
    for (int i = 0; i < 8; i++) req[i] = MPI_REQUEST_NULL;

    APP_CHECK(tern_protect("it", &it, 1, MPI_LONG));
    APP_CHECK(tern_protect("norm", &norm, 1, MPI_DOUBLE));
    APP_CHECK(tern_protect("u", u, (int64_t)ld * ld, MPI_DOUBLE));
    APP_CHECK(tern_protect("halo_send", sb, 4 * (int64_t)m, MPI_DOUBLE));
    APP_CHECK(tern_protect("halo_recv", rb, 4 * (int64_t)m, MPI_DOUBLE));
    APP_PROTECT_REQS("reqs", req, 8);

#define U(i, j) u[(size_t)(i) * ld + (j)]
#define UN(i, j) un[(size_t)(i) * ld + (j)]
    /* Pack u's edges and post the exchange. Direction d receives from nb[d]
     * what that neighbour sent towards us, so the tag is the sender's
     * direction: what goes north is tagged N_ and arrives from the south. */
#define POST()                                                                        \
    do {                                                                              \
        for (int k = 0; k < m; k++) {                                                 \
            sb[N_ * m + k] = U(1, k + 1);                                             \
            sb[S_ * m + k] = U(m, k + 1);                                             \
            sb[W_ * m + k] = U(k + 1, 1);                                             \
            sb[E_ * m + k] = U(k + 1, m);                                             \
        }                                                                             \
        if (o.prepost) {                                                              \
            MPI_Startall(8, req); /* persistent */                                    \
        } else {                                                                      \
            for (int d = 0; d < 4; d++)                                               \
                MPI_Irecv(rb + (size_t)d * m, m, MPI_DOUBLE, nb[d], opp[d], cart, &req[d]); \
            for (int d = 0; d < 4; d++)                                               \
                MPI_Isend(sb + (size_t)d * m, m, MPI_DOUBLE, nb[d], d, cart, &req[4 + d]); \
        }                                                                             \
    } while (0)

    static const int opp[4] = { S_, N_, E_, W_ };
    int restarted = tern_restarted();
    if (o.prepost && !restarted) {
        /* persistent requests, made once: after a restart tern recreates
         * them in the same handles (their buffers are protected) */
        for (int d = 0; d < 4; d++)
            MPI_Recv_init(rb + (size_t)d * m, m, MPI_DOUBLE, nb[d], opp[d], cart, &req[d]);
        for (int d = 0; d < 4; d++)
            MPI_Send_init(sb + (size_t)d * m, m, MPI_DOUBLE, nb[d], d, cart, &req[4 + d]);
    }
    if (restarted) {
        APP_CHECK(tern_recover());
        app_resumed(it, rank);
    } else if (o.iters > 0) {
        POST();
    }

    const double h2 = 1.0 / ((double)(dims[0] * m + 1) * (double)(dims[0] * m + 1));
    while (it < o.iters) {
        app_hooks(&o, it, restarted, rank);
        app_snapshot(it, rank); /* the cut: 8 requests pending */
        app_sleep(o.sleep_us);

        MPI_Status st[8];
        MPI_Waitall(8, req, st);
        for (int k = 0; k < m; k++) {
            if (nb[N_] != MPI_PROC_NULL) U(0, k + 1) = rb[N_ * m + k];
            if (nb[S_] != MPI_PROC_NULL) U(m + 1, k + 1) = rb[S_ * m + k];
            if (nb[W_] != MPI_PROC_NULL) U(k + 1, 0) = rb[W_ * m + k];
            if (nb[E_] != MPI_PROC_NULL) U(k + 1, m + 1) = rb[E_ * m + k];
        }
        const double amp = 1.0 + 0.5 * sin(0.01 * (double)it); /* time-dependent source */
        double local = 0.0;
        for (int i = 1; i <= m; i++) {
            int gi = coords[0] * m + i;
            for (int j = 1; j <= m; j++) {
                int gj = coords[1] * m + j;
                double f = amp * (1.0 + 0.5 * (double)((gi * 7 + gj * 13) % 11));
                UN(i, j) = 0.25 * (U(i - 1, j) + U(i + 1, j) + U(i, j - 1) + U(i, j + 1) + h2 * f);
                double d = UN(i, j) - U(i, j);
                local += d * d;
            }
        }
        for (int i = 1; i <= m; i++)
            memcpy(&U(i, 1), &UN(i, 1), sizeof(double) * (size_t)m);
        it++;
        if (it % 10 == 0)
            MPI_Allreduce(&local, &norm, 1, MPI_DOUBLE, MPI_SUM, cart);
        if (it < o.iters) POST();
    }

    if (o.prepost)
        for (int i = 0; i < 8; i++)
            if (req[i] != MPI_REQUEST_NULL) MPI_Request_free(&req[i]);
    uint64_t h = fnv1a(FNV_INIT, u, sizeof(double) * (size_t)ld * ld);
    h = fnv1a(h, &norm, sizeof norm);
    app_result(h, it, rank, size);
    if (rank == 0) printf("NORM %a\n", norm);
    MPI_Comm_free(&cart);
    MPI_Finalize();
    return 0;
}
