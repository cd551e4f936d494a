/* A big heap with a known pattern: every 8-byte word depends on its index,
 * and each round rewrites a slice and checks the whole heap. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

int main(int argc, char **argv)
{
    size_t mib = argc > 1 ? strtoul(argv[1], NULL, 10) : 1024;
    int rounds = argc > 2 ? atoi(argv[2]) : 20;
    size_t n = mib * 1048576 / 8;
    uint64_t *h = malloc(n * 8);
    if (!h)
        return 1;
    for (size_t i = 0; i < n; i++)
        h[i] = i * 0x9E3779B97F4A7C15ULL;
    for (int r = 0; r < rounds; r++) {
        for (size_t i = (size_t)r; i < n; i += 4096)
            h[i] += (uint64_t)r;
        uint64_t sum = 0;
        for (size_t i = 0; i < n; i += 64)
            sum += h[i] ^ (i >> 3);
        printf("round %d sum %llx\n", r, (unsigned long long)sum);
        fflush(stdout);
        struct timespec ts = {0, 50000000};
        nanosleep(&ts, NULL);
    }
    uint64_t all = 0;
    for (size_t i = 0; i < n; i++)
        all = all * 31 + h[i];
    printf("final %llx\n", (unsigned long long)all);
    return 0;
}
