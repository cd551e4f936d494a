/* Benchmark subject: a heap of N MiB of pseudo-random (incompressible,
 * never zero) bytes. Prints "ready", then polls for the file "go" every
 * 0.2 ms; when it appears it prints the CLOCK_REALTIME time in ns (the
 * moment a restored copy is running again) and a checksum of the heap. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    size_t mib = argc > 1 ? strtoul(argv[1], NULL, 10) : 512;
    size_t n = mib * 1048576 / 8;
    uint64_t *h = malloc(n * 8), x = 88172645463325252ULL;
    if (!h)
        return 1;
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        h[i] = x | 1;
    }
    printf("ready\n");
    fflush(stdout);
    while (access("go", F_OK) != 0)
        usleep(200);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    printf("running %lld\n", (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec);
    fflush(stdout);
    uint64_t s = 0;
    for (size_t i = 0; i < n; i++)
        s += h[i];
    clock_gettime(CLOCK_REALTIME, &ts);
    printf("sum %llx %lld\n", (unsigned long long)s, (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec);
    return 0;
}
