/* ring: messages in flight at the cut.
 *
 * Each rank holds a vector of doubles (--size bytes, rounded down to a
 * multiple of 8, at least 8; default 8 = eager; >= 65536 = rendezvous in Open
 * MPI's sm/vader BTL). Every iteration a rank sends its vector to the right
 * neighbour and mixes the vector received from the left into its own.
 *
 * The Isend to the right is posted BEFORE tern_snapshot() and received AFTER
 * it, so at every snapshot point one message per rank is in flight; the tag
 * changes with the iteration (it % 7) and the receive names it exactly. With
 * --prepost the receive is an Irecv posted before the snapshot as well and
 * waited after it (a pending application receive across the cut).
 *
 * Protected: it, state, send buffer, receive buffer, the two requests.
 */
#include <math.h>

#include "app_common.h"

int main(int argc, char **argv) {
    struct app_opts o = { .iters = 100000, .size = 8, .sleep_us = 0 };
    int rank, size;
    app_start(&argc, &argv, &o, &rank, &size);

    long n = o.size / 8;
    if (n < 1) n = 1;
    int right = (rank + 1) % size, left = (rank + size - 1) % size;

    long it = 0;
    double *state = app_alloc(sizeof(double) * (size_t)n);
    double *sbuf = app_alloc(sizeof(double) * (size_t)n);
    double *rbuf = app_alloc(sizeof(double) * (size_t)n);
    MPI_Request req[2] = { MPI_REQUEST_NULL, MPI_REQUEST_NULL }; /* send, recv */

    APP_CHECK(tern_protect("it", &it, 1, MPI_LONG));
    APP_CHECK(tern_protect("state", state, n, MPI_DOUBLE));
    APP_CHECK(tern_protect("sbuf", sbuf, n, MPI_DOUBLE));
    APP_CHECK(tern_protect("rbuf", rbuf, n, MPI_DOUBLE));
    APP_PROTECT_REQS("reqs", req, 2);

    int restarted = app_recover(&it, rank);
    if (!restarted) {
        for (long i = 0; i < n; i++) state[i] = rank + 1.0 + (double)i / (double)n;
        if (o.iters > 0) {
            memcpy(sbuf, state, sizeof(double) * (size_t)n);
            MPI_Isend(sbuf, (int)n, MPI_DOUBLE, right, 0, MPI_COMM_WORLD, &req[0]);
            if (o.prepost)
                MPI_Irecv(rbuf, (int)n, MPI_DOUBLE, left, 0, MPI_COMM_WORLD, &req[1]);
        }
    }

    while (it < o.iters) {
        app_hooks(&o, it, restarted, rank);
        app_snapshot(it, rank); /* the cut: our Isend (and Irecv) are pending */
        app_sleep(o.sleep_us);

        int tag = (int)(it % 7);
        MPI_Status st;
        if (o.prepost) {
            MPI_Wait(&req[1], &st);
        } else {
            MPI_Recv(rbuf, (int)n, MPI_DOUBLE, left, tag, MPI_COMM_WORLD, &st);
        }
        int cnt = -1;
        MPI_Get_count(&st, MPI_DOUBLE, &cnt);
        if (st.MPI_SOURCE != left || st.MPI_TAG != tag || cnt != n) {
            fprintf(stderr, "ring rank %d it %ld: bad status src=%d tag=%d count=%d\n",
                    rank, it, st.MPI_SOURCE, st.MPI_TAG, cnt);
            MPI_Abort(MPI_COMM_WORLD, 4);
        }
        MPI_Wait(&req[0], MPI_STATUS_IGNORE);

        for (long i = 0; i < n; i++)
            state[i] = 0.75 * state[i] + 0.25 * rbuf[i] + 1e-3 * sin((double)(it + i + rank));
        it++;
        if (it < o.iters) {
            memcpy(sbuf, state, sizeof(double) * (size_t)n);
            MPI_Isend(sbuf, (int)n, MPI_DOUBLE, right, (int)(it % 7), MPI_COMM_WORLD, &req[0]);
            if (o.prepost)
                MPI_Irecv(rbuf, (int)n, MPI_DOUBLE, left, (int)(it % 7), MPI_COMM_WORLD, &req[1]);
        }
    }

    uint64_t h = fnv1a(FNV_INIT, state, sizeof(double) * (size_t)n);
    app_result(h, it, rank, size);
    MPI_Finalize();
    return 0;
}
