/* imrecv.c: a matched receive (MPI_Improbe + MPI_Imrecv) left active across
 * tern_snapshot(), in a continuing run and after a restart.
 *
 * Every iteration each rank posts an MPI_Isend of BIG doubles (rendezvous
 * size, so the data moves only once both sides progress) to its right
 * neighbour, polls MPI_Improbe until the message from its left neighbour is
 * matched, starts MPI_Imrecv into a protected buffer and only then reaches
 * the snapshot point: at a checkpoint both requests are active. The drain
 * completes them (the message is matched, so its data is owed); a restarted
 * run gets them back as completed requests, and MPI_Wait returns the saved
 * status. Every rank checks source, tag, count and contents, and folds the
 * data into the answer. Options: app_common.h's.
 */
#include "app_common.h"

#define BIG 20000

int main(int argc, char **argv)
{
    struct app_opts o = { .iters = 1000, .size = 0, .sleep_us = 0 };
    int rank, size;
    app_start(&argc, &argv, &o, &rank, &size);
    int right = (rank + 1) % size, left = (rank + size - 1) % size;

    long it = 0;
    uint64_t state = 0;
    double *sb = app_alloc(sizeof(double) * BIG);
    double *rb = app_alloc(sizeof(double) * BIG);
    MPI_Request req[2] = { MPI_REQUEST_NULL, MPI_REQUEST_NULL };   /* send, matched receive */
    APP_CHECK(tern_protect("it", &it, 1, MPI_LONG));
    APP_CHECK(tern_protect("state", &state, 1, MPI_UINT64_T));
    APP_CHECK(tern_protect("sbuf", sb, BIG, MPI_DOUBLE));
    APP_CHECK(tern_protect("rbuf", rb, BIG, MPI_DOUBLE));
    APP_PROTECT_REQS("reqs", req, 2);

    int restarted = app_recover(&it, rank);
    while (it < o.iters) {
        if (req[0] == MPI_REQUEST_NULL) {   /* not carried over a restart */
            for (long i = 0; i < BIG; i++) sb[i] = rank * 1e6 + (double)((it * 31 + i) % 1009);
            MPI_Isend(sb, BIG, MPI_DOUBLE, right, 7, MPI_COMM_WORLD, &req[0]);
            int flag = 0;
            MPI_Message mh;
            MPI_Status pst;
            while (!flag) MPI_Improbe(left, 7, MPI_COMM_WORLD, &flag, &mh, &pst);
            MPI_Imrecv(rb, BIG, MPI_DOUBLE, &mh, &req[1]);
        }
        app_hooks(&o, it, restarted, rank);
        app_snapshot(it, rank);   /* both requests active here */
        app_sleep(o.sleep_us);
        MPI_Status st[2];
        MPI_Waitall(2, req, st);
        int c = -1;
        MPI_Get_count(&st[1], MPI_DOUBLE, &c);
        if (st[1].MPI_SOURCE != left || st[1].MPI_TAG != 7 || c != BIG) {
            fprintf(stderr, "imrecv it %ld rank %d: bad status src=%d tag=%d count=%d\n", it, rank,
                    st[1].MPI_SOURCE, st[1].MPI_TAG, c);
            MPI_Abort(MPI_COMM_WORLD, 5);
        }
        for (long i = 0; i < BIG; i++) {
            if (rb[i] != left * 1e6 + (double)((it * 31 + i) % 1009)) {
                fprintf(stderr, "imrecv it %ld rank %d: bad data at %ld: %g\n", it, rank, i, rb[i]);
                MPI_Abort(MPI_COMM_WORLD, 6);
            }
        }
        state = fnv1a(state ^ (uint64_t)it, rb, sizeof(double) * 64);
        it++;
    }
    app_result(fnv1a(FNV_INIT, &state, sizeof state), it, rank, size);
    MPI_Finalize();
    return 0;
}
