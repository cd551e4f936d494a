/* hello.c [--check]: the first transparent program -- rank and size,
 * Barrier, Allreduce, Send/Recv of MPI_INT, Finalize; its output is the
 * same natively. With --check (transparent mode only) it also says on
 * stderr whether Open MPI is mapped in this process, and how much CPU its
 * proxy (the parent) used while this process computed for one second. */
#include <mpi.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static long proxy_ticks(void)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)getppid());
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    char *p = strrchr(buf, ')');
    long ut = 0, st = 0;
    /* after ")": state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime */
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %ld %ld", &ut, &st) != 2) return -1;
    return ut + st;
}

static int openmpi_mapped(void)
{
    FILE *f = fopen("/proc/self/maps", "r");
    char line[4096];
    int n = 0;
    while (f && fgets(line, sizeof line, f)) {
        const char *path = strchr(line, '/');
        if (!path || strstr(path, "/shim/") || strstr(path, "/tern/")) continue;   /* tern's stand-ins */
        if (strstr(path, "libmpi") || strstr(path, "libopen-pal") || strstr(path, "libopen-rte") ||
            strstr(path, "libpmix") || strstr(path, "libhwloc") || strstr(path, "mca_")) {
            fprintf(stderr, "hello: mapped: %s", path);
            n++;
        }
    }
    if (f) fclose(f);
    return n;
}

static void compute(double seconds)
{
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    volatile double x = 0;
    do {
        for (int i = 0; i < 100000; i++) x += i;
        clock_gettime(CLOCK_MONOTONIC, &t);
    } while ((double)(t.tv_sec - t0.tv_sec) + (double)(t.tv_nsec - t0.tv_nsec) * 1e-9 < seconds);
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    int rank, size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    MPI_Barrier(MPI_COMM_WORLD);
    int one = rank + 1, sum = 0;
    MPI_Allreduce(&one, &sum, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    int token = -1;
    if (size > 1 && rank == 0) {
        int v[3] = {11, 22, 33};
        MPI_Send(v, 3, MPI_INT, 1, 5, MPI_COMM_WORLD);
        MPI_Recv(&token, 1, MPI_INT, size - 1, 6, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    } else if (size > 1) {
        int v[3];
        MPI_Status st;
        if (rank == 1) MPI_Recv(v, 3, MPI_INT, 0, 5, MPI_COMM_WORLD, &st);
        else MPI_Recv(&token, 1, MPI_INT, rank - 1, 6, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        token = rank == 1 ? v[0] + v[1] + v[2] : token + rank;
        MPI_Send(&token, 1, MPI_INT, (rank + 1) % size, 6, MPI_COMM_WORLD);
    }
    if (argc > 1 && !strcmp(argv[1], "--check")) {
        int mapped = openmpi_mapped();
        long t0 = proxy_ticks();
        compute(1.0);
        long used = proxy_ticks() - t0;
        fprintf(stderr, "hello: rank %d: Open MPI mappings %d, proxy CPU while computing %ld ms\n", rank, mapped,
                used * 1000 / sysconf(_SC_CLK_TCK));
    }
    int all[256];
    MPI_Gather(&rank, 1, MPI_INT, all, 1, MPI_INT, 0, MPI_COMM_WORLD);
    for (int r = 0; rank == 0 && r < size && r < 256; r++)
        printf("hello from rank %d of %d: sum %d token %d\n", all[r], size, sum, r == 0 ? token : 0);
    MPI_Finalize();
    return 0;
}
