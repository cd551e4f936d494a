/* Odds and ends across a dump: the brk heap keeps growing (sbrk after
 * restore), a shared file mapping, a handler running on a sigaltstack,
 * raise() (glibc's cached tid), umask, sched_getcpu (rseq). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t on_alt, hits;
static char altstack[65536];

static void on_usr2(int sig)
{
    (void)sig;
    char here;
    on_alt = &here >= altstack && &here < altstack + sizeof altstack;
    hits++;
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 150;
    umask(027);
    stack_t ss = {.ss_sp = altstack, .ss_size = sizeof altstack};
    sigaltstack(&ss, NULL);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr2;
    sa.sa_flags = SA_ONSTACK;
    sigaction(SIGUSR2, &sa, NULL);
    int fd = open("shared.dat", O_RDWR | O_CREAT | O_TRUNC, 0666);
    if (fd < 0 || ftruncate(fd, 4096) < 0)
        return 1;
    volatile uint64_t *shared = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (shared == MAP_FAILED)
        return 1;
    close(fd);
    uint64_t brk_sum = 0;
    for (int i = 0; i < n; i++) {
        /* grow the brk heap by 64 KiB and touch it */
        char *p = sbrk(65536);
        if (p == (void *)-1) {
            printf("sbrk failed at step %d\n", i);
            return 2;
        }
        memset(p, i & 0xff, 65536);
        brk_sum += (uint64_t)p[100];
        shared[0] += (uint64_t)i;
        raise(SIGUSR2);
        if (sched_getcpu() < 0)
            printf("sched_getcpu failed\n");
        printf("%d brk %llu shared %llu hits %d alt %d\n", i, (unsigned long long)brk_sum,
               (unsigned long long)shared[0], (int)hits, (int)on_alt);
        fflush(stdout);
        struct timespec ts = {0, 8000000};
        nanosleep(&ts, NULL);
    }
    mode_t m = umask(0);
    stack_t cur;
    sigaltstack(NULL, &cur);
    printf("umask %03o altstack %zu\n", (unsigned)m, cur.ss_size);
    return 0;
}
