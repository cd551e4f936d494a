/* Floating point in SSE/AVX/AVX-512 registers, interrupted mid-loop: a long
 * inner loop keeps its accumulators in vector registers between prints. */
#include <immintrin.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

__attribute__((noinline)) static void kernel(double *out, long steps, double seed)
{
    __m512d z = _mm512_set_pd(seed, seed + 1, seed + 2, seed + 3, seed + 4, seed + 5, seed + 6, seed + 7);
    __m256d y = _mm256_set_pd(seed * 0.5, seed * 0.25, seed * 0.125, seed);
    __m128d x = _mm_set_pd(seed * 3, seed * 7);
    long double l = seed;   /* x87 too */
    const __m512d c1 = _mm512_set1_pd(0.999999), c2 = _mm512_set1_pd(1e-7);
    for (long i = 0; i < steps; i++) {
        z = _mm512_fmadd_pd(z, c1, c2);
        y = _mm256_add_pd(_mm256_mul_pd(y, _mm256_set1_pd(0.9999999)), _mm256_set1_pd(1e-8));
        x = _mm_sqrt_pd(_mm_add_pd(_mm_mul_pd(x, x), _mm_set1_pd(1e-9)));
        l = l * 0.99999999L + 1e-9L;
    }
    double zz[8], yy[4], xx[2];
    _mm512_storeu_pd(zz, z);
    _mm256_storeu_pd(yy, y);
    _mm_storeu_pd(xx, x);
    out[0] = zz[0] + zz[7];
    out[1] = yy[1] + yy[3];
    out[2] = xx[0] + xx[1];
    out[3] = (double)l;
}

struct job {
    int id, rounds;
    long steps;
    double out[64][4];
};

static void *worker(void *arg)
{
    struct job *j = arg;
    for (int r = 0; r < j->rounds && r < 64; r++)
        kernel(j->out[r], j->steps, r + 0.5 + j->id * 0.125);
    return NULL;
}

/* avx ROUNDS STEPS [THREADS]: with THREADS > 0, that many threads compute
 * at once (no system calls while they run) and print after joining. */
int main(int argc, char **argv)
{
    int rounds = argc > 1 ? atoi(argv[1]) : 12;
    long steps = argc > 2 ? atol(argv[2]) : 20000000;
    int nt = argc > 3 ? atoi(argv[3]) : 0;
    if (nt > 0) {
        static struct job jobs[16];
        pthread_t t[16];
        for (int i = 0; i < nt && i < 16; i++) {
            jobs[i] = (struct job){.id = i, .rounds = rounds, .steps = steps};
            pthread_create(&t[i], NULL, worker, &jobs[i]);
        }
        for (int i = 0; i < nt && i < 16; i++) {
            pthread_join(t[i], NULL);
            for (int r = 0; r < rounds && r < 64; r++)
                printf("thread %d round %d: %a %a %a %a\n", i, r, jobs[i].out[r][0],
                       jobs[i].out[r][1], jobs[i].out[r][2], jobs[i].out[r][3]);
        }
        return 0;
    }
    for (int r = 0; r < rounds; r++) {
        double o[4];
        kernel(o, steps, r + 0.5);
        printf("round %d: %a %a %a %a\n", r, o[0], o[1], o[2], o[3]);
        fflush(stdout);
    }
    return 0;
}
