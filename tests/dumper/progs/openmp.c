/* OpenMP: libgomp's thread pool sleeps between parallel regions and must
 * come back as it was. */
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

int main(int argc, char **argv)
{
    int iters = argc > 1 ? atoi(argv[1]) : 60;
    omp_set_num_threads(4);
    static double a[1 << 16];
    for (int it = 0; it < iters; it++) {
        /* per-thread partial sums added in thread order: a reduction
         * clause would add them in arrival order, which varies with timing */
        double part[4] = {0, 0, 0, 0};
#pragma omp parallel
        {
            int t = omp_get_thread_num();
            double ps = 0;
#pragma omp for schedule(static)
            for (int i = 0; i < (1 << 16); i++) {
                a[i] = sin(i * 0.001 + it) * a[i] * 0.5 + cos(i * 0.002);
                ps += a[i];
            }
            part[t] = ps;
        }
        double s = part[0] + part[1] + part[2] + part[3];
        printf("iter %d sum %.12e threads %d\n", it, s, omp_get_max_threads());
        fflush(stdout);
        struct timespec ts = {0, 20000000};
        nanosleep(&ts, NULL);
    }
    return 0;
}
