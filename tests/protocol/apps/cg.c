/* cg: conjugate gradient, distributed by blocks, for implicit heat steps.
 *
 * M = I + 10 L, L = tridiag(-1, 2, -1) the 1-D Laplacian, of order
 * size * --size (default 256 rows per rank). Each rank owns --size consecutive
 * rows of x, r, p. Every loop iteration (--iters, default 20000) is one CG
 * iteration; every 25 iterations a new implicit time step starts from the
 * current x: b = x + s, r = b - M x, p = r (a warm restart). So the run never
 * converges to a fixed point, and every iteration changes the answer.
 *
 * Each iteration:
 *   - the exchange of p's end values with the left and right neighbours
 *     (Irecv + Isend, MPI_PROC_NULL at the ends) is posted BEFORE
 *     tern_snapshot() and waited AFTER it;
 *   - q = M p; alpha = rr / (p.q) and the new rr come from MPI_Allreduce dot
 *     products (each rank sums its part in index order, so the result is
 *     bit-reproducible for a given rank count);
 *   - at a time step, x's end values are exchanged with MPI_Sendrecv.
 *
 * Protected: it, x, r, p, rr, ghost send/recv cells, the 4 requests.
 */
#include "app_common.h"

static double dot(const double *a, const double *b, long n) {
    double s = 0.0;
    for (long i = 0; i < n; i++) s += a[i] * b[i];
    double g = 0.0;
    MPI_Allreduce(&s, &g, 1, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
    return g;
}

#define STEP 25
#define CM 10.0

static double src(long gi) { return 0.01 * (1.0 + (double)(gi % 5)); }

/* q = M v for the local rows; vl, vr are the neighbours' end values. */
static void apply_m(const double *v, double vl, double vr, double *q, long n) {
    for (long i = 0; i < n; i++) {
        double a = i > 0 ? v[i - 1] : vl;
        double b = i < n - 1 ? v[i + 1] : vr;
        q[i] = v[i] + CM * (2.0 * v[i] - a - b);
    }
}

int main(int argc, char **argv) {
    struct app_opts o = { .iters = 20000, .size = 256, .sleep_us = 0 };
    int rank, size;
    app_start(&argc, &argv, &o, &rank, &size);
    const long n = o.size < 1 ? 1 : o.size;
    const int left = rank > 0 ? rank - 1 : MPI_PROC_NULL;
    const int right = rank < size - 1 ? rank + 1 : MPI_PROC_NULL;

    long it = 0;
    double rr = 0.0;
    double *x = app_alloc(sizeof(double) * (size_t)n);
    double *r = app_alloc(sizeof(double) * (size_t)n);
    double *p = app_alloc(sizeof(double) * (size_t)n);
    double *q = app_alloc(sizeof(double) * (size_t)n);
    double ghost_send[2] = { 0, 0 }, ghost_recv[2] = { 0, 0 }; /* [0] left, [1] right */
    MPI_Request req[4] = { MPI_REQUEST_NULL, MPI_REQUEST_NULL, MPI_REQUEST_NULL,
                           MPI_REQUEST_NULL };

    APP_CHECK(tern_protect("it", &it, 1, MPI_LONG));
    APP_CHECK(tern_protect("rr", &rr, 1, MPI_DOUBLE));
    APP_CHECK(tern_protect("x", x, n, MPI_DOUBLE));
    APP_CHECK(tern_protect("r", r, n, MPI_DOUBLE));
    APP_CHECK(tern_protect("p", p, n, MPI_DOUBLE));
    APP_CHECK(tern_protect("ghost_send", ghost_send, 2, MPI_DOUBLE));
    APP_CHECK(tern_protect("ghost_recv", ghost_recv, 2, MPI_DOUBLE));
    APP_PROTECT_REQS("reqs", req, 4);

#define POST()                                                                   \
    do {                                                                         \
        ghost_send[0] = p[0];                                                    \
        ghost_send[1] = p[n - 1];                                                \
        MPI_Irecv(&ghost_recv[0], 1, MPI_DOUBLE, left, 1, MPI_COMM_WORLD, &req[0]);  \
        MPI_Irecv(&ghost_recv[1], 1, MPI_DOUBLE, right, 0, MPI_COMM_WORLD, &req[1]); \
        MPI_Isend(&ghost_send[0], 1, MPI_DOUBLE, left, 0, MPI_COMM_WORLD, &req[2]);  \
        MPI_Isend(&ghost_send[1], 1, MPI_DOUBLE, right, 1, MPI_COMM_WORLD, &req[3]); \
    } while (0)

    int restarted = app_recover(&it, rank);
    if (!restarted) {
        for (long i = 0; i < n; i++) {
            long gi = rank * n + i;
            x[i] = 0.0;
            r[i] = 1.0 + (double)(gi % 5); /* initial x = 0, b: r = b */
            p[i] = r[i];
        }
        rr = dot(r, r, n);
        if (o.iters > 0) POST();
    }

    while (it < o.iters) {
        app_hooks(&o, it, restarted, rank);
        app_snapshot(it, rank); /* the cut: ghost exchange pending */
        app_sleep(o.sleep_us);

        MPI_Waitall(4, req, MPI_STATUSES_IGNORE);
        double pl = left == MPI_PROC_NULL ? 0.0 : ghost_recv[0];
        double pr = right == MPI_PROC_NULL ? 0.0 : ghost_recv[1];
        apply_m(p, pl, pr, q, n);
        double pq = dot(p, q, n);
        double alpha = pq != 0.0 ? rr / pq : 0.0;
        for (long i = 0; i < n; i++) {
            x[i] += alpha * p[i];
            r[i] -= alpha * q[i];
        }
        double rrn = dot(r, r, n);
        double beta = rr != 0.0 ? rrn / rr : 0.0;
        rr = rrn;
        for (long i = 0; i < n; i++) p[i] = r[i] + beta * p[i];
        it++;
        if (it % STEP == 0) { /* next implicit time step, warm start */
            double xl = 0.0, xr = 0.0;
            MPI_Sendrecv(&x[0], 1, MPI_DOUBLE, left, 2, &xr, 1, MPI_DOUBLE, right, 2,
                         MPI_COMM_WORLD, MPI_STATUS_IGNORE);
            MPI_Sendrecv(&x[n - 1], 1, MPI_DOUBLE, right, 3, &xl, 1, MPI_DOUBLE, left, 3,
                         MPI_COMM_WORLD, MPI_STATUS_IGNORE);
            apply_m(x, xl, xr, q, n);
            for (long i = 0; i < n; i++) {
                r[i] = x[i] + src(rank * n + i) - q[i];
                p[i] = r[i];
            }
            rr = dot(r, r, n);
        }
        if (it < o.iters) POST();
    }

    uint64_t h = fnv1a(FNV_INIT, x, sizeof(double) * (size_t)n);
    h = fnv1a(h, &rr, sizeof rr);
    app_result(h, it, rank, size);
    if (rank == 0) printf("RESIDUAL2 %a\n", rr);
    MPI_Finalize();
    return 0;
}
