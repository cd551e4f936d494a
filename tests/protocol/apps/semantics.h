/* semantics.h: transcript helpers for the pure-MPI semantics checks.
 *
 * The semantics_*.c programs use plain MPI only (no tern calls). Each rank
 * appends lines to its own transcript with T(); sem_finish() gathers them to
 * rank 0, which prints them in rank order as "[rank] line". Only facts that
 * MPI guarantees are printed (never an arrival order that MPI leaves open), so
 * the transcript is the same on every run, with or without
 * LD_PRELOAD=libtern.so. A violated guarantee prints a line starting "FAIL"
 * and makes the exit status 1; compare_wrapped.sh diffs two transcripts.
 */
#ifndef TERN_SEMANTICS_H
#define TERN_SEMANTICS_H

#include <mpi.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *sem_buf;
static size_t sem_len, sem_cap;
static int sem_failed;
static int sem_rank, sem_size;

static void T(const char *fmt, ...) {
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line - 1, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    if ((size_t)n > sizeof line - 2) n = (int)sizeof line - 2;
    line[n++] = '\n';
    if (sem_len + (size_t)n + 1 > sem_cap) {
        sem_cap = (sem_cap + (size_t)n + 1) * 2;
        sem_buf = realloc(sem_buf, sem_cap);
        if (!sem_buf) abort();
    }
    memcpy(sem_buf + sem_len, line, (size_t)n);
    sem_len += (size_t)n;
    sem_buf[sem_len] = '\0';
}

#define EXPECT(cond, ...)                                                      \
    do {                                                                       \
        if (!(cond)) {                                                         \
            sem_failed = 1;                                                    \
            char m_[256];                                                      \
            snprintf(m_, sizeof m_, __VA_ARGS__);                              \
            T("FAIL %s:%d %s (%s)", __FILE__, __LINE__, m_, #cond);            \
        }                                                                      \
    } while (0)

static void sem_init(int *argc, char ***argv) {
    MPI_Init(argc, argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &sem_rank);
    MPI_Comm_size(MPI_COMM_WORLD, &sem_size);
}

/* Gather and print the transcripts, finalize, return the exit status. */
static int sem_finish(const char *name) {
    T("%s end", name);
    int len = (int)sem_len;
    int *lens = NULL, *displs = NULL;
    char *all = NULL;
    if (sem_rank == 0) {
        lens = calloc((size_t)sem_size, sizeof(int));
        displs = calloc((size_t)sem_size, sizeof(int));
    }
    MPI_Gather(&len, 1, MPI_INT, lens, 1, MPI_INT, 0, MPI_COMM_WORLD);
    int total = 0;
    if (sem_rank == 0) {
        for (int r = 0; r < sem_size; r++) { displs[r] = total; total += lens[r]; }
        all = malloc((size_t)total + 1);
    }
    MPI_Gatherv(sem_buf, len, MPI_CHAR, all, lens, displs, MPI_CHAR, 0, MPI_COMM_WORLD);
    int failed = 0;
    MPI_Reduce(&sem_failed, &failed, 1, MPI_INT, MPI_MAX, 0, MPI_COMM_WORLD);
    if (sem_rank == 0) {
        for (int r = 0; r < sem_size; r++) {
            char *p = all + displs[r], *end = p + lens[r];
            while (p < end) {
                char *nl = memchr(p, '\n', (size_t)(end - p));
                if (!nl) nl = end;
                printf("[%d] %.*s\n", r, (int)(nl - p), p);
                p = nl + 1;
            }
        }
        printf("%s: %s\n", name, failed ? "FAILED" : "ok");
        fflush(stdout);
    }
    MPI_Finalize();
    return sem_rank == 0 && failed ? 1 : 0;
}

#endif
