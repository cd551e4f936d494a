/* nullreqs: predefined handles kept in protected memory across a restart.
 *
 * The protected array holds MPI_REQUEST_NULL, MPI_COMM_WORLD, MPI_DOUBLE and
 * MPI_SUM -- addresses inside this run's libmpi, which a restarted run maps
 * elsewhere (ASLR): tern_recover() must rewrite them from the table the
 * checkpoint saved (_tern_handles). A stale table (the bug of epoch 877f410:
 * it was read at commit from a stack frame gone by then) leaves the old
 * addresses in place, and the first use below fails or crashes.
 * Every iteration uses them: an MPI_Wait on the null requests (immediate),
 * an MPI_Allreduce on the saved communicator, datatype and op. The RESULT
 * folds in the sum and whether each handle compares equal to the predefined
 * one of this run.
 */
#include "app_common.h"

typedef struct {
    MPI_Request req[3];
    MPI_Comm comm;
    MPI_Datatype dt;
    MPI_Op op;
} kept;

int main(int argc, char **argv)
{
    struct app_opts o = {.iters = 1000, .size = 8, .sleep_us = 0};
    int rank, size;
    app_start(&argc, &argv, &o, &rank, &size);
    long it = 0;
    double acc = 0;
    kept k = {{MPI_REQUEST_NULL, MPI_REQUEST_NULL, MPI_REQUEST_NULL}, MPI_COMM_WORLD, MPI_DOUBLE, MPI_SUM};
    APP_CHECK(tern_protect("it", &it, 1, MPI_LONG));
    APP_CHECK(tern_protect("acc", &acc, 1, MPI_DOUBLE));
    APP_CHECK(tern_protect("kept", &k, (int64_t)sizeof k, MPI_BYTE));
    int restarted = app_recover(&it, rank);
    uint64_t h = FNV_INIT;
    while (it < o.iters) {
        app_hooks(&o, it, restarted, rank);
        app_snapshot(it, rank);
        app_sleep(o.sleep_us);
        int same = (k.req[0] == MPI_REQUEST_NULL) + (k.req[1] == MPI_REQUEST_NULL) + (k.req[2] == MPI_REQUEST_NULL) +
                   (k.comm == MPI_COMM_WORLD) + (k.dt == MPI_DOUBLE) + (k.op == MPI_SUM);
        if (same != 6 && rank == 0) fprintf(stderr, "nullreqs: it=%ld: %d of 6 handles are this run's\n", it, same);
        MPI_Waitall(3, k.req, MPI_STATUSES_IGNORE);
        double mine = (double)(rank + 1) * (double)(it % 13), sum = 0;
        MPI_Allreduce(&mine, &sum, 1, k.dt, k.op, k.comm);
        acc += sum + same;
        it++;
    }
    h = fnv1a(h, &acc, sizeof acc);
    app_result(h, it, rank, size);
    MPI_Finalize();
    return 0;
}
