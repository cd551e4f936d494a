/* tm_bench.c: the costs of transparent mode, per MPI call. A plain MPI
 * program (built with mpicc, no tern at all): bench/tm_bench.sh runs it
 * natively and under tern-proxy, side by side, and prints the ratios.
 *
 *   tm_bench [SECONDS_PER_TEST]   (2 ranks)
 * Prints one line per measurement: NAME VALUE UNIT
 *   pingpong8      half round trip of an 8-byte message (us)
 *   allreduce8     one 8-byte MPI_Allreduce (us)
 *   sendrecv_allreduce   one iteration of an 8-byte Sendrecv with the
 *                  neighbour and an 8-byte Allreduce (MANA's figure) (us)
 *   burst1000      1000 Irecv + 1000 Isend of 8 bytes and one Waitall (us)
 *   bw_1MiB, bw_16MiB   ping-pong bandwidth (MB/s)
 */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int rank, peer;
static double budget = 1.0;

/* repeat f until the budget is spent (the count agreed by rank 0) */
static double timed(void (*f)(void *), void *arg, long *reps)
{
    long n = 1;
    for (;;) {
        MPI_Barrier(MPI_COMM_WORLD);
        double t0 = MPI_Wtime();
        for (long i = 0; i < n; i++) f(arg);
        double t = MPI_Wtime() - t0;
        MPI_Bcast(&t, 1, MPI_DOUBLE, 0, MPI_COMM_WORLD);
        if (t > budget / 4 || n > (1L << 26)) {
            *reps = n;
            return t;
        }
        n *= 4;
    }
}

typedef struct {
    char *buf;
    int len;
} pp_arg;

static void pingpong(void *a)
{
    pp_arg *p = a;
    if (rank == 0) {
        MPI_Send(p->buf, p->len, MPI_BYTE, peer, 0, MPI_COMM_WORLD);
        MPI_Recv(p->buf, p->len, MPI_BYTE, peer, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    } else {
        MPI_Recv(p->buf, p->len, MPI_BYTE, peer, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        MPI_Send(p->buf, p->len, MPI_BYTE, peer, 0, MPI_COMM_WORLD);
    }
}

static void allreduce(void *a)
{
    double *x = a, y;
    MPI_Allreduce(x, &y, 1, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
}

static void sendrecv_allreduce(void *a)
{
    double *x = a, y, z;
    MPI_Sendrecv(x, 1, MPI_DOUBLE, peer, 1, &y, 1, MPI_DOUBLE, peer, 1, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    MPI_Allreduce(&y, &z, 1, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
}

#define BURST 1000
static void burst(void *a)
{
    double *v = a;
    MPI_Request r[2 * BURST];
    for (int i = 0; i < BURST; i++) MPI_Irecv(&v[BURST + i], 1, MPI_DOUBLE, peer, i, MPI_COMM_WORLD, &r[i]);
    for (int i = 0; i < BURST; i++) MPI_Isend(&v[i], 1, MPI_DOUBLE, peer, i, MPI_COMM_WORLD, &r[BURST + i]);
    MPI_Waitall(2 * BURST, r, MPI_STATUSES_IGNORE);
}

static void report(const char *name, double v, const char *unit)
{
    if (rank == 0) printf("%-20s %12.3f %s\n", name, v, unit);
    fflush(stdout);
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    int size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    if (size != 2) {
        if (rank == 0) fprintf(stderr, "tm_bench: run on 2 ranks\n");
        MPI_Abort(MPI_COMM_WORLD, 2);
    }
    if (argc > 1) budget = atof(argv[1]);
    peer = 1 - rank;
    long n;
    char *big = calloc(16 << 20, 1);
    pp_arg p8 = {big, 8};
    double t = timed(pingpong, &p8, &n);
    report("pingpong8", t / n / 2 * 1e6, "us");
    double x = rank + 1.0;
    t = timed(allreduce, &x, &n);
    report("allreduce8", t / n * 1e6, "us");
    t = timed(sendrecv_allreduce, &x, &n);
    report("sendrecv_allreduce", t / n * 1e6, "us");
    double *v = calloc(2 * BURST, sizeof *v);
    t = timed(burst, v, &n);
    report("burst1000", t / n * 1e6, "us");
    pp_arg p1 = {big, 1 << 20}, p16 = {big, 16 << 20};
    t = timed(pingpong, &p1, &n);
    report("bw_1MiB", 2.0 * n * (1 << 20) / t / 1e6, "MB/s");
    t = timed(pingpong, &p16, &n);
    report("bw_16MiB", 2.0 * n * (16 << 20) / t / 1e6, "MB/s");
    free(v);
    free(big);
    MPI_Finalize();
    return 0;
}
