/* A counter loop: the simplest thing to checkpoint. Prints N lines, one per
 * step, with a running hash so a wrong register or page shows at the end. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 200;
    long ms = argc > 2 ? atol(argv[2]) : 10;
    unsigned long h = 1469598103934665603UL;
    for (int i = 0; i < n; i++) {
        h = (h ^ (unsigned long)i) * 1099511628211UL;
        printf("%d %lx\n", i, h);
        fflush(stdout);
        struct timespec ts = {0, ms * 1000000L};
        nanosleep(&ts, NULL);
    }
    printf("done %lx\n", h);
    return 0;
}
