/* collmix: a mix of collectives every iteration.
 *
 * Each rank holds a vector v of --size doubles (default 64). Per iteration:
 *   1. MPI_Bcast from root it % size of 4 parameters derived from its v;
 *   2. MPI_Alltoallv: rank i sends 1 + (i + j + it) % 5 values to rank j;
 *   3. MPI_Iallreduce (SUM) of v posted, local compute overlapping it
 *      (a smoothing pass over v into a scratch vector), then MPI_Wait;
 *   4. MPI_Reduce (MAX) of the scratch vector to root (it + 1) % size;
 *   5. MPI_Allgather of one double per rank;
 *   6. v is updated from everything above.
 * tern_snapshot() is at the top of every iteration. By default no collective
 * is pending there. With --prepost an MPI_Iallreduce (MAX) of one value is
 * posted at the end of every iteration, before the snapshot point, and
 * waited after it: a nonblocking collective across the cut.
 *
 * Protected: it, v, the root's last reduced vector; with --prepost also the
 * pending Iallreduce's buffers and request.
 */
#include <math.h>

#include "app_common.h"

int main(int argc, char **argv) {
    struct app_opts o = { .iters = 10000, .size = 64, .sleep_us = 0 };
    int rank, size;
    app_start(&argc, &argv, &o, &rank, &size);
    const int n = o.size < 1 ? 1 : (int)o.size;

    long it = 0;
    double *v = app_alloc(sizeof(double) * (size_t)n);
    double *red = app_alloc(sizeof(double) * (size_t)n);   /* Reduce result */
    double *sum = app_alloc(sizeof(double) * (size_t)n);   /* Iallreduce result */
    double *scr = app_alloc(sizeof(double) * (size_t)n);
    double *gat = app_alloc(sizeof(double) * (size_t)size);
    int *scnt = app_alloc(sizeof(int) * (size_t)size), *sdis = app_alloc(sizeof(int) * (size_t)size);
    int *rcnt = app_alloc(sizeof(int) * (size_t)size), *rdis = app_alloc(sizeof(int) * (size_t)size);
    double *sa = app_alloc(sizeof(double) * 5 * (size_t)size);
    double *ra = app_alloc(sizeof(double) * 5 * (size_t)size);

    APP_CHECK(tern_protect("it", &it, 1, MPI_LONG));
    APP_CHECK(tern_protect("v", v, n, MPI_DOUBLE));
    APP_CHECK(tern_protect("red", red, n, MPI_DOUBLE));
    double carry[2] = { 0.0, 0.0 }; /* --prepost: Iallreduce in, out */
    MPI_Request creq = MPI_REQUEST_NULL;
    if (o.prepost) {
        APP_CHECK(tern_protect("carry", carry, 2, MPI_DOUBLE));
        APP_PROTECT_REQS("carry_req", &creq, 1);
    }
#define POST_CARRY()                                                             \
    do {                                                                         \
        carry[0] = v[(int)(it % n)] + rank;                                      \
        MPI_Iallreduce(&carry[0], &carry[1], 1, MPI_DOUBLE, MPI_MAX,             \
                       MPI_COMM_WORLD, &creq);                                   \
    } while (0)

    int restarted = app_recover(&it, rank);
    if (!restarted) {
        for (int i = 0; i < n; i++) v[i] = sin((double)(rank * n + i)) + 1.0;
        if (o.prepost && o.iters > 0) POST_CARRY();
    }

    while (it < o.iters) {
        app_hooks(&o, it, restarted, rank);
        app_snapshot(it, rank); /* with --prepost: an Iallreduce pending */
        app_sleep(o.sleep_us);
        double cmax = 0.0;
        if (o.prepost) {
            MPI_Wait(&creq, MPI_STATUS_IGNORE);
            cmax = carry[1];
        }

        /* 1. Bcast */
        int root = (int)(it % size);
        double par[4] = { 0, 0, 0, 0 };
        if (rank == root)
            for (int k = 0; k < 4; k++) par[k] = v[k % n] * 0.5 + (double)k;
        MPI_Bcast(par, 4, MPI_DOUBLE, root, MPI_COMM_WORLD);

        /* 2. Alltoallv */
        int so = 0, ro = 0;
        for (int j = 0; j < size; j++) {
            scnt[j] = 1 + (int)((rank + j + it) % 5);
            rcnt[j] = 1 + (int)((j + rank + it) % 5);
            sdis[j] = so; rdis[j] = ro;
            for (int k = 0; k < scnt[j]; k++) sa[so + k] = v[(j + k) % n] + par[k % 4];
            so += scnt[j]; ro += rcnt[j];
        }
        MPI_Alltoallv(sa, scnt, sdis, MPI_DOUBLE, ra, rcnt, rdis, MPI_DOUBLE, MPI_COMM_WORLD);
        double a2a = 0.0;
        for (int k = 0; k < ro; k++) a2a += ra[k] * (double)(k + 1);

        /* 3. Iallreduce overlapping a local smoothing pass */
        MPI_Request rq;
        MPI_Iallreduce(v, sum, n, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD, &rq);
        for (int i = 0; i < n; i++)
            scr[i] = 0.5 * v[i] + 0.25 * (v[(i + n - 1) % n] + v[(i + 1) % n]);
        MPI_Wait(&rq, MPI_STATUS_IGNORE);

        /* 4. Reduce (MAX) to another root */
        int root2 = (int)((it + 1) % size);
        MPI_Reduce(scr, red, n, MPI_DOUBLE, MPI_MAX, root2, MPI_COMM_WORLD);

        /* 5. Allgather */
        double mine = scr[(int)(it % n)] + a2a * 1e-3;
        MPI_Allgather(&mine, 1, MPI_DOUBLE, gat, 1, MPI_DOUBLE, MPI_COMM_WORLD);

        /* 6. update */
        double g = 0.0;
        for (int j = 0; j < size; j++) g += gat[j] / (double)(j + 1);
        for (int i = 0; i < n; i++) {
            double x = scr[i] + 0.1 * sum[i] / size + 1e-3 * g + 1e-2 * sin((double)it + i);
            if (rank == root2) x += 1e-3 * red[i];
            x += 1e-4 * cmax;
            v[i] = x / (1.0 + fabs(x) * 0.1);
        }
        it++;
        if (o.prepost && it < o.iters) POST_CARRY();
    }

    uint64_t h = fnv1a(FNV_INIT, v, sizeof(double) * (size_t)n);
    h = fnv1a(h, red, sizeof(double) * (size_t)n);
    app_result(h, it, rank, size);
    MPI_Finalize();
    return 0;
}
