/* dtype.c: receives with derived datatypes pending across the snapshot point.
 *
 * Each rank holds a[R][C] (R = 16 rows, 16 data columns and 2 ghost columns,
 * protected). Every iteration it sends one data column to the right
 * neighbour (MPI_Type_vector) and receives the left neighbour's column into a
 * ghost column with a nested derived type (vector of a dup of MPI_DOUBLE,
 * resized). Two receives are kept posted: the one for this iteration (its
 * message already sent) and the one for the next (sent after the snapshot),
 * so at every snapshot point a receive with a derived datatype is pending
 * and unmatched: tern must save the datatype and rebuild it at restart.
 * Options: app_common.h's.
 */
#include <math.h>

#include "app_common.h"

#define R 16
#define C 18

int main(int argc, char **argv)
{
    struct app_opts o = { .iters = 1000, .size = 0, .sleep_us = 0 };
    int rank, size;
    app_start(&argc, &argv, &o, &rank, &size);
    int right = (rank + 1) % size, left = (rank + size - 1) % size;

    MPI_Datatype col, d, v, ghost;
    MPI_Type_vector(R, 1, C, MPI_DOUBLE, &col);
    MPI_Type_commit(&col);
    MPI_Type_dup(MPI_DOUBLE, &d);
    MPI_Type_vector(R, 1, C, d, &v);
    MPI_Type_create_resized(v, 0, sizeof(double), &ghost);
    MPI_Type_commit(&ghost);
    MPI_Type_free(&v);
    MPI_Type_free(&d);

    static double a[R][C];
    long it = 0;
    MPI_Request rq[2] = { MPI_REQUEST_NULL, MPI_REQUEST_NULL }, sq = MPI_REQUEST_NULL;
    APP_CHECK(tern_protect("it", &it, 1, MPI_LONG));
    APP_CHECK(tern_protect("a", a, R * C, MPI_DOUBLE));
    APP_PROTECT_REQS("rq", rq, 2);
    APP_PROTECT_REQS("sq", &sq, 1);
    int restarted = app_recover(&it, rank);
    if (!restarted) {
        for (int i = 0; i < R; i++)
            for (int j = 0; j < C; j++) a[i][j] = rank + 0.01 * i + 0.001 * j;
        MPI_Irecv(&a[0][16], 1, ghost, left, 0, MPI_COMM_WORLD, &rq[0]);
        MPI_Irecv(&a[0][17], 1, ghost, left, 1, MPI_COMM_WORLD, &rq[1]);
        MPI_Isend(&a[0][0], 1, col, right, 0, MPI_COMM_WORLD, &sq);
    }
    while (it < o.iters) {
        app_hooks(&o, it, restarted, rank);
        app_snapshot(it, rank);
        app_sleep(o.sleep_us);
        MPI_Status st;
        MPI_Wait(&rq[it % 2], &st);
        int cnt = -1;
        MPI_Get_count(&st, ghost, &cnt);
        if (st.MPI_SOURCE != left || st.MPI_TAG != (int)it || cnt != 1) {
            fprintf(stderr, "dtype rank %d it %ld: bad status src=%d tag=%d count=%d\n", rank, it,
                    st.MPI_SOURCE, st.MPI_TAG, cnt);
            MPI_Abort(MPI_COMM_WORLD, 4);
        }
        MPI_Wait(&sq, MPI_STATUS_IGNORE);
        int g = 16 + (int)(it % 2), k = (int)(it % 16);
        for (int i = 0; i < R; i++)
            a[i][k] = 0.5 * a[i][k] + 0.5 * a[i][g] + 1e-3 * sin((double)(it + i));
        it++;
        if (it < o.iters) {
            MPI_Isend(&a[0][it % 16], 1, col, right, (int)it, MPI_COMM_WORLD, &sq);
            MPI_Irecv(&a[0][16 + (it + 1) % 2], 1, ghost, left, (int)(it + 1), MPI_COMM_WORLD, &rq[(it + 1) % 2]);
        }
    }
    /* the last posted receive (for message iters) is never matched: cancel it */
    for (int s = 0; s < 2; s++)
        if (rq[s] != MPI_REQUEST_NULL) {
            MPI_Cancel(&rq[s]);
            MPI_Wait(&rq[s], MPI_STATUS_IGNORE);
        }
    app_result(fnv1a(FNV_INIT, a, sizeof a), it, rank, size);
    MPI_Type_free(&col);
    MPI_Type_free(&ghost);
    MPI_Finalize();
    return 0;
}
