/* nbc.c: nonblocking collectives pending across the snapshot point, a
 * communicator made with MPI_Comm_idup and an intercommunicator, in a
 * checkpointed and restarted run.
 *
 * Made on every run, in this order: dupc = MPI_Comm_idup(WORLD) (+ wait),
 * half = split(WORLD, rank % 2), inter = MPI_Intercomm_create(half, 0, WORLD,
 * other half's leader) (needs >= 2 ranks).
 * Every iteration: MPI_Iallreduce(SUM) of x on dupc and an MPI_Ibarrier on
 * WORLD are started BEFORE tern_snapshot() and waited AFTER it; then a value
 * is exchanged over the intercommunicator (rank i of one half with rank i of
 * the other, when it exists). Protected: it, x, the allreduce result, the two
 * requests.
 * With NBC_MISMATCH=1 in the environment, rank 0 starts an extra
 * MPI_Ibarrier on dupc BEFORE the snapshot and the others AFTER it (legal
 * MPI): every checkpoint must then be refused (tern_snapshot() < 0, message
 * naming the communicator) and the answer must not change.
 */
#include "app_common.h"

int main(int argc, char **argv)
{
    struct app_opts o = { .iters = 1000, .size = 16, .sleep_us = 0 };
    int rank, size;
    app_start(&argc, &argv, &o, &rank, &size);
    const char *mm = getenv("NBC_MISMATCH");
    int mismatch = mm && *mm == '1';
    int n = (int)o.size;

    MPI_Comm dupc, half, inter;
    MPI_Request ir;
    MPI_Comm_idup(MPI_COMM_WORLD, &dupc, &ir);
    MPI_Wait(&ir, MPI_STATUS_IGNORE);
    MPI_Comm_split(MPI_COMM_WORLD, rank % 2, rank, &half);
    MPI_Intercomm_create(half, 0, MPI_COMM_WORLD, rank % 2 ? 0 : 1, 7, &inter);
    int hrank, rsize;
    MPI_Comm_rank(half, &hrank);
    MPI_Comm_remote_size(inter, &rsize);

    long it = 0;
    double *x = app_alloc(sizeof(double) * (size_t)n), *sum = app_alloc(sizeof(double) * (size_t)n);
    MPI_Request req[3] = { MPI_REQUEST_NULL, MPI_REQUEST_NULL, MPI_REQUEST_NULL };
    APP_CHECK(tern_protect("it", &it, 1, MPI_LONG));
    APP_CHECK(tern_protect("x", x, n, MPI_DOUBLE));
    APP_CHECK(tern_protect("sum", sum, n, MPI_DOUBLE));
    APP_PROTECT_REQS("reqs", req, 3);
#define POST()                                                                              \
    do {                                                                                    \
        MPI_Iallreduce(x, sum, n, MPI_DOUBLE, MPI_SUM, dupc, &req[0]);                       \
        MPI_Ibarrier(MPI_COMM_WORLD, &req[1]);                                              \
        if (mismatch && rank == 0) MPI_Ibarrier(dupc, &req[2]);                             \
    } while (0)
    int restarted = app_recover(&it, rank);
    if (!restarted) {
        for (int i = 0; i < n; i++) x[i] = rank + i * 0.5;
        if (o.iters > 0) POST();
    }
    int refused = 0, committed = 0;
    while (it < o.iters) {
        app_hooks(&o, it, restarted, rank);
        int rc = app_snapshot(it, rank);
        if (rc < 0) refused++;
        if (rc > 0) committed++;
        app_sleep(o.sleep_us);
        if (mismatch && rank != 0) MPI_Ibarrier(dupc, &req[2]);
        MPI_Waitall(3, req, MPI_STATUSES_IGNORE);
        double v = sum[it % n], w = -1;
        if (hrank < rsize)
            MPI_Sendrecv(&v, 1, MPI_DOUBLE, hrank, 3, &w, 1, MPI_DOUBLE, hrank, 3, inter, MPI_STATUS_IGNORE);
        for (int i = 0; i < n; i++) x[i] = 0.5 * x[i] + 1e-3 * sum[i] + 1e-4 * w;
        it++;
        if (it < o.iters) POST();
    }
    if (rank == 0 && mismatch) printf("REFUSED %d COMMITTED %d\n", refused, committed);
    app_result(fnv1a(FNV_INIT, x, sizeof(double) * (size_t)n), it, rank, size);
    MPI_Comm_free(&inter);
    MPI_Comm_free(&half);
    MPI_Comm_free(&dupc);
    MPI_Finalize();
    return 0;
}
