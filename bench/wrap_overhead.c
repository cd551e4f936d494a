/* wrap_overhead.c: microbenchmarks for the cost of tern's MPI interposition.
 *
 * Plain MPI, 2 ranks. Run once natively and once with LD_PRELOAD=libtern.so
 * (bench/wrap_overhead.sh does the A/B interleaving and the medians).
 *
 * Kernels (each timed `--reps` times; the median of the reps is printed):
 *   lat8      8-byte ping-pong, MPI_Send/MPI_Recv: half round trip, us
 *   pp1m      1 MiB ping-pong: half round trip, us
 *   allred8   MPI_Allreduce of one double (8 bytes), us per call
 *
 * Every repetition is timed twice, back to back: through MPI_* (which
 * LD_PRELOAD=libtern.so interposes) and through PMPI_* (which it does not).
 * Under the preload, the ratio of the two is the wrapper's cost measured in
 * one process, with the same placement and the same noise; without it the
 * ratio is ~1 and shows the method's own error.
 *
 * Output: per kernel "KERNEL <name> <median us via MPI_*> <min us>" and
 *                    "PKERNEL <name> <median us via PMPI_*> <min us>".
 *
 * Also the cost of single calls that never wait for the peer, each rank on
 * its own, in nanoseconds (the minimum over the repetitions, so preemption
 * does not count): "CALL <name> <ns via MPI_*> <ns via PMPI_*>" for
 *   iprobe    MPI_Iprobe(ANY_SOURCE, ANY_TAG) that finds nothing
 *   self8     Irecv + Isend of 8 bytes to itself + Waitall of both
 * usage: wrap_overhead [--reps R] [--scale S]   (S multiplies iteration counts)
 */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int cmp_d(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double minimum(const double *v, int n) {
    double m = v[0];
    for (int i = 1; i < n; i++) if (v[i] < m) m = v[i];
    return m;
}

static double median(double *v, int n) {
    qsort(v, (size_t)n, sizeof(double), cmp_d);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

typedef int (*send_fn)(const void *, int, MPI_Datatype, int, int, MPI_Comm);
typedef int (*recv_fn)(void *, int, MPI_Datatype, int, int, MPI_Comm, MPI_Status *);
typedef int (*allred_fn)(const void *, void *, int, MPI_Datatype, MPI_Op, MPI_Comm);
struct api { send_fn send; recv_fn recv; allred_fn allreduce; };
/* through the (possibly interposed) MPI_* and straight to PMPI_* */
static const struct api via_mpi = { MPI_Send, MPI_Recv, MPI_Allreduce };
static const struct api via_pmpi = { PMPI_Send, PMPI_Recv, PMPI_Allreduce };

/* one timed ping-pong: returns us per half round trip */
static double pingpong(const struct api *f, char *buf, int bytes, int iters, int rank) {
    int peer = 1 - rank;
    PMPI_Barrier(MPI_COMM_WORLD);
    double t0 = MPI_Wtime();
    for (int i = 0; i < iters; i++) {
        if (rank == 0) {
            f->send(buf, bytes, MPI_BYTE, peer, 1, MPI_COMM_WORLD);
            f->recv(buf, bytes, MPI_BYTE, peer, 1, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        } else {
            f->recv(buf, bytes, MPI_BYTE, peer, 1, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
            f->send(buf, bytes, MPI_BYTE, peer, 1, MPI_COMM_WORLD);
        }
    }
    double t = (MPI_Wtime() - t0) * 1e6 / (2.0 * iters);
    PMPI_Bcast(&t, 1, MPI_DOUBLE, 0, MPI_COMM_WORLD); /* rank 0's clock decides */
    return t;
}

typedef int (*iprobe_fn)(int, int, MPI_Comm, int *, MPI_Status *);
typedef int (*isend_fn)(const void *, int, MPI_Datatype, int, int, MPI_Comm, MPI_Request *);
typedef int (*irecv_fn)(void *, int, MPI_Datatype, int, int, MPI_Comm, MPI_Request *);
typedef int (*waitall_fn)(int, MPI_Request *, MPI_Status *);
struct api2 { iprobe_fn iprobe; isend_fn isend; irecv_fn irecv; waitall_fn waitall; };
static const struct api2 via_mpi2 = { MPI_Iprobe, MPI_Isend, MPI_Irecv, MPI_Waitall };
static const struct api2 via_pmpi2 = { PMPI_Iprobe, PMPI_Isend, PMPI_Irecv, PMPI_Waitall };

/* ns per iteration of a local call loop */
static double calls(const struct api2 *f, int which, int iters, int rank) {
    double t0 = MPI_Wtime();
    if (which == 0) {
        int flag;
        for (int i = 0; i < iters; i++)
            f->iprobe(MPI_ANY_SOURCE, 77, MPI_COMM_WORLD, &flag, MPI_STATUS_IGNORE);
    } else {
        double x = 1.0, y = 0.0;
        MPI_Request r[2];
        for (int i = 0; i < iters; i++) {
            f->irecv(&y, 1, MPI_DOUBLE, rank, 78, MPI_COMM_WORLD, &r[0]);
            f->isend(&x, 1, MPI_DOUBLE, rank, 78, MPI_COMM_WORLD, &r[1]);
            f->waitall(2, r, MPI_STATUSES_IGNORE);
        }
    }
    return (MPI_Wtime() - t0) * 1e9 / iters;
}

static double allred(const struct api *f, int iters) {
    double x = 1.0, y = 0.0;
    PMPI_Barrier(MPI_COMM_WORLD);
    double t0 = MPI_Wtime();
    for (int i = 0; i < iters; i++) {
        f->allreduce(&x, &y, 1, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
        x = y * 0.5;
    }
    double t = (MPI_Wtime() - t0) * 1e6 / iters;
    PMPI_Bcast(&t, 1, MPI_DOUBLE, 0, MPI_COMM_WORLD);
    return t;
}

int main(int argc, char **argv) {
    MPI_Init(&argc, &argv);
    int rank, size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    int reps = 7;
    double scale = 1.0;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--reps")) reps = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--scale")) scale = atof(argv[i + 1]);
    }
    if (size != 2 || reps < 1 || reps > 1000 || scale <= 0) {
        if (rank == 0) fprintf(stderr, "usage: mpirun -np 2 %s [--reps R] [--scale S]\n", argv[0]);
        MPI_Abort(MPI_COMM_WORLD, 2);
    }
    const int big = 1 << 20;
    char *buf = calloc((size_t)big, 1);
    double *t = calloc((size_t)reps, sizeof(double));
    double *p = calloc((size_t)reps, sizeof(double));
    int n_lat = (int)(20000 * scale), n_big = (int)(300 * scale), n_all = (int)(20000 * scale);
    if (n_lat < 1) n_lat = 1;
    if (n_big < 1) n_big = 1;
    if (n_all < 1) n_all = 1;

    /* warm up, then alternate MPI_* / PMPI_* (order flipped every rep) */
    pingpong(&via_mpi, buf, 8, n_lat / 10 + 1, rank);
    pingpong(&via_pmpi, buf, 8, n_lat / 10 + 1, rank);
    for (int r = 0; r < reps; r++) {
        if (r % 2) { p[r] = pingpong(&via_pmpi, buf, 8, n_lat, rank); t[r] = pingpong(&via_mpi, buf, 8, n_lat, rank); }
        else { t[r] = pingpong(&via_mpi, buf, 8, n_lat, rank); p[r] = pingpong(&via_pmpi, buf, 8, n_lat, rank); }
    }
    if (rank == 0) printf("KERNEL lat8 %.4f %.4f\nPKERNEL lat8 %.4f %.4f\n", median(t, reps), minimum(t, reps),
                          median(p, reps), minimum(p, reps));

    pingpong(&via_mpi, buf, big, n_big / 10 + 1, rank);
    pingpong(&via_pmpi, buf, big, n_big / 10 + 1, rank);
    for (int r = 0; r < reps; r++) {
        if (r % 2) { p[r] = pingpong(&via_pmpi, buf, big, n_big, rank); t[r] = pingpong(&via_mpi, buf, big, n_big, rank); }
        else { t[r] = pingpong(&via_mpi, buf, big, n_big, rank); p[r] = pingpong(&via_pmpi, buf, big, n_big, rank); }
    }
    if (rank == 0) printf("KERNEL pp1m %.4f %.4f\nPKERNEL pp1m %.4f %.4f\n", median(t, reps), minimum(t, reps),
                          median(p, reps), minimum(p, reps));

    allred(&via_mpi, n_all / 10 + 1);
    allred(&via_pmpi, n_all / 10 + 1);
    for (int r = 0; r < reps; r++) {
        if (r % 2) { p[r] = allred(&via_pmpi, n_all); t[r] = allred(&via_mpi, n_all); }
        else { t[r] = allred(&via_mpi, n_all); p[r] = allred(&via_pmpi, n_all); }
    }
    if (rank == 0) printf("KERNEL allred8 %.4f %.4f\nPKERNEL allred8 %.4f %.4f\n", median(t, reps), minimum(t, reps),
                          median(p, reps), minimum(p, reps));

    const char *cname[2] = { "iprobe", "self8" };
    int n_call = (int)(50000 * scale);
    if (n_call < 1) n_call = 1;
    for (int w = 0; w < 2; w++) {
        calls(&via_mpi2, w, n_call / 10 + 1, rank);
        calls(&via_pmpi2, w, n_call / 10 + 1, rank);
        for (int r = 0; r < reps; r++) {
            t[r] = calls(&via_mpi2, w, n_call, rank);
            p[r] = calls(&via_pmpi2, w, n_call, rank);
        }
        if (rank == 0) printf("CALL %s %.2f %.2f\n", cname[w], minimum(t, reps), minimum(p, reps));
    }
    PMPI_Barrier(MPI_COMM_WORLD);

    fflush(stdout);
    free(buf);
    free(t);
    free(p);
    MPI_Finalize();
    return 0;
}
