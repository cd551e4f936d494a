/* Floating point in x87/SSE/AVX/AVX-512 registers, interrupted mid-loop: a long
 * inner loop keeps its accumulators in vector registers between prints. */
#include <immintrin.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The widest vector state this CPU has, chosen at run time (nodes of a
 * cluster differ; nothing here may depend on the build machine's CPU):
 * AVX-512 where present (zmm and their upper halves), else AVX2+FMA (ymm
 * upper halves), else AVX. Each keeps its accumulators in registers wider
 * than SSE, so a restore that lost the upper state changes the answer. */
#define KERNEL_TAIL                                                            \
    for (long i = 0; i < steps; i++) {                                         \
        y = _mm256_add_pd(_mm256_mul_pd(y, _mm256_set1_pd(0.9999999)), _mm256_set1_pd(1e-8)); \
        x = _mm_sqrt_pd(_mm_add_pd(_mm_mul_pd(x, x), _mm_set1_pd(1e-9)));     \
        l = l * 0.99999999L + 1e-9L;                                           \
        WIDE_STEP;                                                             \
    }                                                                          \
    double yy[4], xx[2];                                                       \
    _mm256_storeu_pd(yy, y);                                                   \
    _mm_storeu_pd(xx, x);                                                      \
    out[1] = yy[1] + yy[3];                                                    \
    out[2] = xx[0] + xx[1];                                                    \
    out[3] = (double)l

#define KERNEL_HEAD                                                            \
    __m256d y = _mm256_set_pd(seed * 0.5, seed * 0.25, seed * 0.125, seed);   \
    __m128d x = _mm_set_pd(seed * 3, seed * 7);                                \
    long double l = seed /* x87 too */

__attribute__((noinline, target("avx512f,fma"))) static void kernel512(double *out, long steps, double seed)
{
    KERNEL_HEAD;
    __m512d z = _mm512_set_pd(seed, seed + 1, seed + 2, seed + 3, seed + 4, seed + 5, seed + 6, seed + 7);
    const __m512d c1 = _mm512_set1_pd(0.999999), c2 = _mm512_set1_pd(1e-7);
#define WIDE_STEP z = _mm512_fmadd_pd(z, c1, c2)
    KERNEL_TAIL;
#undef WIDE_STEP
    double zz[8];
    _mm512_storeu_pd(zz, z);
    out[0] = zz[0] + zz[7];
}

__attribute__((noinline, target("avx2,fma"))) static void kernel256fma(double *out, long steps, double seed)
{
    KERNEL_HEAD;
    __m256d z = _mm256_set_pd(seed, seed + 1, seed + 2, seed + 3);
    const __m256d c1 = _mm256_set1_pd(0.999999), c2 = _mm256_set1_pd(1e-7);
#define WIDE_STEP z = _mm256_fmadd_pd(z, c1, c2)
    KERNEL_TAIL;
#undef WIDE_STEP
    double zz[4];
    _mm256_storeu_pd(zz, z);
    out[0] = zz[0] + zz[3];
}

__attribute__((noinline, target("avx"))) static void kernel256(double *out, long steps, double seed)
{
    KERNEL_HEAD;
    __m256d z = _mm256_set_pd(seed, seed + 1, seed + 2, seed + 3);
    const __m256d c1 = _mm256_set1_pd(0.999999), c2 = _mm256_set1_pd(1e-7);
#define WIDE_STEP z = _mm256_add_pd(_mm256_mul_pd(z, c1), c2)
    KERNEL_TAIL;
#undef WIDE_STEP
    double zz[4];
    _mm256_storeu_pd(zz, z);
    out[0] = zz[0] + zz[3];
}

typedef void (*kernel_fn)(double *, long, double);
static kernel_fn kernel;

/* want: NULL for the widest, or "avx2"/"avx" to test a narrower path on a
 * CPU that has more */
static const char *pick_kernel(const char *want)
{
    __builtin_cpu_init();
    int w512 = !want, w2 = !want || !strcmp(want, "avx2");
    if (w512 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("fma")) {
        kernel = kernel512;
        return "avx512f";
    }
    if (w2 && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
        kernel = kernel256fma;
        return "avx2";
    }
    if (__builtin_cpu_supports("avx")) {
        kernel = kernel256;
        return "avx";
    }
    return NULL;
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

/* avx ROUNDS STEPS [THREADS [ISA]]: with THREADS > 0, that many threads
 * compute at once (no system calls while they run) and print after joining;
 * ISA "avx2" or "avx" takes that path even where AVX-512 is present. */
int main(int argc, char **argv)
{
    const char *isa = pick_kernel(argc > 4 ? argv[4] : NULL);
    if (!isa) {
        fprintf(stderr, "avx: this CPU has no AVX\n");
        return 2;
    }
    printf("vector state: %s\n", isa);   /* part of the compared output */
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
