/* omp.c: OpenMP + MPI with MPI_THREAD_FUNNELED: two threads compute, the
 * master thread communicates (inside and outside parallel regions). */
#include <mpi.h>
#include <omp.h>
#include <stdio.h>

#define N 200000

int main(int argc, char **argv)
{
    int provided;
    MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided);
    int rank, size, main_thread = 0;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    MPI_Is_thread_main(&main_thread);
    static double a[N];
    double total = 0;
    int nthreads = 0;
    for (int it = 0; it < 20; it++) {
        double local = 0;
#pragma omp parallel num_threads(2) reduction(+ : local)
        {
#pragma omp master
            nthreads = omp_get_num_threads();
#pragma omp for
            for (int i = 0; i < N; i++) {
                a[i] = (double)((i + it + rank) % 97) * 0.5;
                local += a[i];
            }
        }
        double sum = 0;
#pragma omp parallel num_threads(2)
        {
#pragma omp master
            MPI_Allreduce(&local, &sum, 1, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
#pragma omp barrier
        }
        total += sum;
    }
    if (rank == 0)
        printf("provided %s threads %d main %d total %.1f\n",
               provided == MPI_THREAD_FUNNELED ? "FUNNELED" : "other", nthreads, main_thread, total);
    MPI_Finalize();
    return 0;
}
