/* A process with external shared memory, like a transparent-mode
 * application with its channel (tests/dumper/ext_driver.c runs it):
 * argv[1] is an inherited memfd, mapped MAP_SHARED, and the fd stays open.
 * In a loop it counts in its own private memory, publishes the count in
 * the shared page, and copies the token it reads through the fd into the
 * mapping. On `quit` it checks its private heap pattern (exit 0, else 3).
 * It never runs for more than about 60 s, and ends when its parent is
 * gone. */
#define _GNU_SOURCE
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "../ext_page.h"

static volatile uint64_t count;   /* private: saved in the image */

int main(int argc, char **argv)
{
    if (argc < 2)
        return 2;
    int fd = atoi(argv[1]);
    struct ext_page *pg = mmap(NULL, EXT_PAGE_LEN, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (pg == MAP_FAILED)
        return 2;
    unsigned char *heap = malloc(1 << 16);   /* private data the restore must bring back */
    if (!heap)
        return 2;
    for (int i = 0; i < 1 << 16; i++)
        heap[i] = (unsigned char)(i * 7 + 1);
    __atomic_store_n(&pg->fd, (uint64_t)fd, __ATOMIC_RELEASE);
    __atomic_store_n(&pg->addr, (uint64_t)(uintptr_t)pg, __ATOMIC_RELEASE);
    const struct timespec tick = {0, 2000000};
    for (int it = 0; it < 30000 && getppid() != 1; it++) {
        count++;
        /* the fd and the mapping must be the same memory, before and after */
        __atomic_store_n(&pg->count, count, __ATOMIC_RELEASE);
        uint64_t tok;
        if (pread(fd, &tok, sizeof tok, offsetof(struct ext_page, token)) == sizeof tok)
            __atomic_store_n(&pg->echo, tok, __ATOMIC_RELEASE);
        if (__atomic_load_n(&pg->quit, __ATOMIC_ACQUIRE)) {
            for (int i = 0; i < 1 << 16; i++)
                if (heap[i] != (unsigned char)(i * 7 + 1))
                    return 3;
            return 0;
        }
        nanosleep(&tick, NULL);
    }
    return 4;   /* never told to quit */
}
