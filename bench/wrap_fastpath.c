/* wrap_fastpath.c: the wrapper's cost per call, in process: the same loop
 * through MPI_* (interposed by libtern under LD_PRELOAD) and through PMPI_*
 * (not interposed), back to back, 1 rank. Run by bench/wrap_fastpath.sh. */
#include <mpi.h>
#include <stdio.h>
int main(int argc, char **argv) {
    MPI_Init(&argc, &argv);
    int r, n = 2000000; double t, a, b, x = 1, y;
    MPI_Comm c; MPI_Comm_dup(MPI_COMM_WORLD, &c);
    for (int rep = 0; rep < 3; rep++) {
    t = MPI_Wtime(); for (int i = 0; i < n; i++) MPI_Comm_rank(c, &r); a = MPI_Wtime() - t;
    t = MPI_Wtime(); for (int i = 0; i < n; i++) PMPI_Comm_rank(MPI_COMM_WORLD, &r); b = MPI_Wtime() - t;
    printf("comm_rank  MPI %.2f ns  PMPI %.2f ns\n", a / n * 1e9, b / n * 1e9);
    int m = 200000; MPI_Request q[2];
    t = MPI_Wtime(); for (int i = 0; i < m; i++) { MPI_Irecv(&y, 1, MPI_DOUBLE, 0, 1, c, &q[0]); MPI_Isend(&x, 1, MPI_DOUBLE, 0, 1, c, &q[1]); MPI_Waitall(2, q, MPI_STATUSES_IGNORE); } a = MPI_Wtime() - t;
    t = MPI_Wtime(); for (int i = 0; i < m; i++) { PMPI_Irecv(&y, 1, MPI_DOUBLE, 0, 1, MPI_COMM_WORLD, &q[0]); PMPI_Isend(&x, 1, MPI_DOUBLE, 0, 1, MPI_COMM_WORLD, &q[1]); PMPI_Waitall(2, q, MPI_STATUSES_IGNORE); } b = MPI_Wtime() - t;
    printf("self Irecv+Isend+Waitall  MPI %.1f ns  PMPI %.1f ns  (+%.1f ns)\n", a / m * 1e9, b / m * 1e9, (a - b) / m * 1e9);
    }
    MPI_Finalize(); return 0; }
