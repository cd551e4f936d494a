/* userop.c: user-defined reductions run in the application: a commutative
 * op on a struct datatype, a non-commutative one (matrix product) with
 * Reduce, Allreduce, Scan, Exscan, Iallreduce and Reduce_local. */
#include <mpi.h>
#include <stddef.h>
#include <stdio.h>

typedef struct {
    double v;
    int who;
} best;

static void maxwho(void *in, void *inout, int *len, MPI_Datatype *dt)
{
    (void)dt;
    best *a = in, *b = inout;
    for (int i = 0; i < *len; i++)
        if (a[i].v > b[i].v || (a[i].v == b[i].v && a[i].who < b[i].who)) b[i] = a[i];
}

/* 2x2 integer matrices: b = a * b (not commutative) */
static void matmul(void *in, void *inout, int *len, MPI_Datatype *dt)
{
    (void)dt;
    long *a = in, *b = inout;
    for (int i = 0; i < *len; i++, a += 4, b += 4) {
        long c[4] = {a[0] * b[0] + a[1] * b[2], a[0] * b[1] + a[1] * b[3], a[2] * b[0] + a[3] * b[2],
                     a[2] * b[1] + a[3] * b[3]};
        for (int k = 0; k < 4; k++) b[k] = c[k] % 1000003;
    }
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    int rank, size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    MPI_Datatype bt, fields, mt;
    int bl[2] = {1, 1};
    MPI_Aint disp[2] = {offsetof(best, v), offsetof(best, who)};
    MPI_Datatype types[2] = {MPI_DOUBLE, MPI_INT};
    MPI_Type_create_struct(2, bl, disp, types, &fields);
    /* the struct's extent is 12 (its last field's end), its size 16: resized
     * so that element i of an array of them is in[i], not 12 * i bytes in */
    MPI_Type_create_resized(fields, 0, sizeof(best), &bt);
    MPI_Type_free(&fields);
    MPI_Type_commit(&bt);
    MPI_Type_contiguous(4, MPI_LONG, &mt);
    MPI_Type_commit(&mt);
    MPI_Op opmax, opmul;
    MPI_Op_create(maxwho, 1, &opmax);
    MPI_Op_create(matmul, 0, &opmul);
    int commute = -1;
    MPI_Op_commutative(opmul, &commute);

    enum { N = 3000 };   /* more than one channel's worth for the big one */
    static best in[N], out[N];
    for (int i = 0; i < N; i++) {
        in[i].v = (double)((i * 7 + rank * 13) % 50);
        in[i].who = rank;
    }
    MPI_Allreduce(in, out, N, bt, opmax, MPI_COMM_WORLD);
    long chk = 0;
    for (int i = 0; i < N; i++) chk += (long)out[i].v * 10 + out[i].who;
    long m[4] = {rank + 1, 1, 1, 0}, prod[4] = {0}, scan[4] = {0}, ex[4] = {1, 0, 0, 1};
    MPI_Reduce(m, prod, 1, mt, opmul, 0, MPI_COMM_WORLD);
    MPI_Scan(m, scan, 1, mt, opmul, MPI_COMM_WORLD);
    MPI_Exscan(m, ex, 1, mt, opmul, MPI_COMM_WORLD);
    best one = {rank * 1.5, rank}, r1;
    MPI_Request q;
    MPI_Iallreduce(&one, &r1, 1, bt, opmax, MPI_COMM_WORLD, &q);
    MPI_Wait(&q, MPI_STATUS_IGNORE);
    long loc[4] = {2, 0, 0, 2};
    MPI_Reduce_local(m, loc, 1, mt, opmul);

    long scans[64][4], exs[64][4];
    MPI_Gather(scan, 1, mt, scans, 1, mt, 0, MPI_COMM_WORLD);
    MPI_Gather(ex, 1, mt, exs, 1, mt, 0, MPI_COMM_WORLD);
    if (rank == 0) {
        printf("commutative %d\n", commute);
        printf("allreduce check %ld\n", chk);
        printf("reduce %ld %ld %ld %ld\n", prod[0], prod[1], prod[2], prod[3]);
        for (int r = 0; r < size && r < 64; r++)
            printf("scan %d: %ld %ld %ld %ld exscan %ld %ld %ld %ld\n", r, scans[r][0], scans[r][1], scans[r][2],
                   scans[r][3], r ? exs[r][0] : 0, r ? exs[r][1] : 0, r ? exs[r][2] : 0, r ? exs[r][3] : 0);
        printf("iallreduce %.1f %d\n", r1.v, r1.who);
        printf("reduce_local %ld %ld %ld %ld\n", loc[0], loc[1], loc[2], loc[3]);
    }
    MPI_Op_free(&opmax);
    MPI_Op_free(&opmul);
    MPI_Type_free(&bt);
    MPI_Type_free(&mt);
    MPI_Finalize();
    return 0;
}
