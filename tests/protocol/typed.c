/* typed.c: protected arrays that HDF5 tools can read (docs/format.md,
 * "Global arrays").
 *
 * Every rank protects its block of five global arrays whose values are a
 * function of the global index only (typed.py recomputes them):
 *   x     double, 1-D, 20 elements            x[g] = g + 0.25
 *   grid  int, 2-D 5 x 7 (tern_protect_shape)  grid[i][j] = 100 i + j - 300
 *   z     double complex, 8 elements           z[g] = g/2 - (g + 1) i
 *   u     uint64_t, 6 elements                 u[g] = 2^63 + g
 *   rec   struct {int a; double b;}, 6 (a derived type: opaque)
 * blocks split as block() says for any rank count (rank 1 of 2 has 3 of
 * grid's 5 rows). "write" takes one checkpoint and exits; "check"
 * (restarted, any rank count) recovers and compares every element with
 * what write stored, printing "CHECKED n" or "BAD name index"; "check
 * int64" protects x as MPI_INT64_T and prints whether tern_recover refused.
 */
#include <mpi.h>
#include <complex.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tern.h"

#define NX 20
#define ROWS 5
#define COLS 7
#define NZ 8
#define NU 6
#define NREC 6

typedef struct rec {
    int a;
    double b;
} rec;

static void block(long g, int size, int rank, long *off, long *cnt)
{
    *off = g * rank / size;
    *cnt = g * (rank + 1) / size - *off;
}

static int bad(const char *name, long g)
{
    printf("BAD %s %ld\n", name, g);
    return 1;
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    int rank, size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    int check = argc > 1 && !strcmp(argv[1], "check");
    long xo, xn, ro, rn, zo, zn, uo, un, eo, en;
    block(NX, size, rank, &xo, &xn);
    block(ROWS, size, rank, &ro, &rn);
    block(NZ, size, rank, &zo, &zn);
    block(NU, size, rank, &uo, &un);
    block(NREC, size, rank, &eo, &en);
    double *x = calloc((size_t)xn + 1, sizeof *x);
    int *grid = calloc((size_t)(rn * COLS) + 1, sizeof *grid);
    double complex *z = calloc((size_t)zn + 1, sizeof *z);
    uint64_t *u = calloc((size_t)un + 1, sizeof *u);
    rec *e = calloc((size_t)en + 1, sizeof *e);

    MPI_Datatype rt;
    int bl[2] = {1, 1};
    MPI_Aint disp[2] = {offsetof(rec, a), offsetof(rec, b)};
    MPI_Datatype ty[2] = {MPI_INT, MPI_DOUBLE}, tmp;
    MPI_Type_create_struct(2, bl, disp, ty, &tmp);
    MPI_Type_create_resized(tmp, 0, sizeof(rec), &rt);
    MPI_Type_commit(&rt);

    int64_t gdims[2] = {rn, COLS};
    /* "check int64": x protected as int64 now, which the restart refuses */
    int wrong = check && argc > 2 && !strcmp(argv[2], "int64");
    if (tern_protect("x", x, xn, wrong ? MPI_INT64_T : MPI_DOUBLE) || tern_protect_shape("grid", grid, 2, gdims, MPI_INT) ||
        tern_protect("z", z, zn, MPI_C_DOUBLE_COMPLEX) || tern_protect("u", u, un, MPI_UINT64_T) ||
        tern_protect("rec", e, en, rt))
        MPI_Abort(MPI_COMM_WORLD, 2);
    if (!check) {
        for (long i = 0; i < xn; i++) x[i] = (double)(xo + i) + 0.25;
        for (long i = 0; i < rn; i++)
            for (long j = 0; j < COLS; j++) grid[i * COLS + j] = (int)(100 * (ro + i) + j - 300);
        for (long i = 0; i < zn; i++) z[i] = (double)(zo + i) / 2 - (double)(zo + i + 1) * I;
        for (long i = 0; i < un; i++) u[i] = (UINT64_C(1) << 63) + (uint64_t)(uo + i);
        for (long i = 0; i < en; i++) e[i] = (rec){(int)(eo + i) * 3 + 1, (double)(eo + i) * 1.5};
        /* a request is served at a later snapshot point that every rank
         * reaches: call them until one commits (all ranks agree on it) */
        if (rank == 0) tern_request_checkpoint();
        int s = 0;
        for (int it = 0; it < 3000 && s == 0; it++) {
            int mine = tern_snapshot();
            MPI_Allreduce(&mine, &s, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
            if (s == 0) usleep(1000);
        }
        if (rank == 0) printf("SNAPSHOT %d\n", s);
        MPI_Finalize();
        return s == 1 ? 0 : 1;
    }
    if (!tern_restarted()) MPI_Abort(MPI_COMM_WORLD, 3);
    if (wrong) {
        int r = tern_recover();
        if (rank == 0) printf(r ? "REFUSED\n" : "RECOVERED\n");
        MPI_Finalize();
        return 0;
    }
    if (tern_recover()) MPI_Abort(MPI_COMM_WORLD, 3);
    int fails = 0;
    for (long i = 0; i < xn; i++)
        if (x[i] != (double)(xo + i) + 0.25) fails += bad("x", xo + i);
    for (long i = 0; i < rn * COLS; i++)
        if (grid[i] != (int)(100 * (ro + i / COLS) + i % COLS - 300)) fails += bad("grid", ro * COLS + i);
    for (long i = 0; i < zn; i++)
        if (z[i] != (double)(zo + i) / 2 - (double)(zo + i + 1) * I) fails += bad("z", zo + i);
    for (long i = 0; i < un; i++)
        if (u[i] != (UINT64_C(1) << 63) + (uint64_t)(uo + i)) fails += bad("u", uo + i);
    for (long i = 0; i < en; i++)
        if (e[i].a != (int)(eo + i) * 3 + 1 || e[i].b != (double)(eo + i) * 1.5) fails += bad("rec", eo + i);
    int all = 0;
    MPI_Reduce(&fails, &all, 1, MPI_INT, MPI_SUM, 0, MPI_COMM_WORLD);
    if (rank == 0) printf(all ? "CHECK FAILED %d\n" : "CHECKED %d\n", all ? all : size);
    MPI_Type_free(&rt);
    MPI_Type_free(&tmp);
    MPI_Finalize();
    return all != 0;
}
