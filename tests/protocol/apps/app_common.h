/* app_common.h: shared helpers of the tern test workloads (tests/protocol/apps).
 *
 * Every workload accepts the same command line:
 *   app [--iters N] [--size S] [--sleep-us U] [--ckpt-at K] [--die-at K]
 *       [--hook-epoch E] [--prepost]
 *   --iters N     iterations of the main loop (one tern_snapshot() each)
 *   --size S      problem size; its meaning is per app (see the app's header)
 *   --sleep-us U  sleep U microseconds per iteration (so a test can trigger a
 *                 checkpoint mid-run with a signal or `tern checkpoint`)
 *   --ckpt-at K   rank 0 calls tern_request_checkpoint() just before the
 *                 snapshot point of iteration K (first run only, not after a
 *                 restart): a deterministic checkpoint for tests
 *   --die-at K    every rank _exit(42)s at the top of iteration K (first run
 *                 only): a deterministic "failure" after a checkpoint
 *   --hook-epoch E  --ckpt-at and --die-at act in the run restarted from
 *                 checkpoint epoch E instead of the first run (E = 0, the
 *                 default), for chains: checkpoint, die, restart, checkpoint
 *                 again, die again, restart again
 *   --prepost     (ring, masterworker) also keep a receive posted across the
 *                 snapshot point; (collmix) an MPI_Iallreduce pending across it;
 *                 (halo2d) persistent requests (Startall) pending across it
 *
 * Output (stdout, rank 0 only):
 *   RESUMED it=K epoch=E     after tern_recover() in a restarted run
 *   SNAPSHOT it=K rc=R       when tern_snapshot() returned non-zero
 *   RESULT <16 hex digits>   FNV-1a 64 hash over the exact bytes of the final
 *                            state of every rank, combined in rank order
 *   ITERS n                  iterations completed
 * A run that is checkpointed, killed and restarted must print the same RESULT
 * as one uninterrupted run with the same arguments and rank count.
 */
#ifndef TERN_APP_COMMON_H
#define TERN_APP_COMMON_H

#include <mpi.h>
#include <inttypes.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tern.h"

struct app_opts {
    long iters;
    long size;
    long sleep_us;
    long ckpt_at;
    long die_at;
    long hook_epoch;
    int prepost;
};

static inline void app_usage(const char *prog) {
    fprintf(stderr,
            "usage: %s [--iters N] [--size S] [--sleep-us U] [--ckpt-at K] "
            "[--die-at K] [--hook-epoch E] [--prepost]\n",
            prog);
}

static inline long app_num(const char *prog, const char *opt, const char *s) {
    char *end = NULL;
    long v = strtol(s ? s : "", &end, 10);
    if (!s || *s == '\0' || *end != '\0' || v < 0) {
        fprintf(stderr, "%s: %s needs a non-negative integer, got '%s'\n", prog,
                opt, s ? s : "");
        exit(2);
    }
    return v;
}

/* Parse argv after MPI_Init. Defaults come from the caller. */
static inline void app_parse(int argc, char **argv, struct app_opts *o) {
    const char *prog = argv[0];
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = (i + 1 < argc) ? argv[i + 1] : NULL;
        if (!strcmp(a, "--iters")) { o->iters = app_num(prog, a, v); i++; }
        else if (!strcmp(a, "--size")) { o->size = app_num(prog, a, v); i++; }
        else if (!strcmp(a, "--sleep-us")) { o->sleep_us = app_num(prog, a, v); i++; }
        else if (!strcmp(a, "--ckpt-at")) { o->ckpt_at = app_num(prog, a, v); i++; }
        else if (!strcmp(a, "--die-at")) { o->die_at = app_num(prog, a, v); i++; }
        else if (!strcmp(a, "--hook-epoch")) { o->hook_epoch = app_num(prog, a, v); i++; }
        else if (!strcmp(a, "--prepost")) { o->prepost = 1; }
        else if (!strcmp(a, "--help") || !strcmp(a, "-h")) { app_usage(prog); exit(0); }
        else {
            fprintf(stderr, "%s: unknown argument '%s'\n", prog, a);
            app_usage(prog);
            exit(2);
        }
    }
}

static inline void app_sleep(long us) {
    if (us <= 0) return;
    struct timespec ts = { us / 1000000, (us % 1000000) * 1000 };
    while (nanosleep(&ts, &ts) != 0) {}
}

#define APP_CHECK(call)                                                        \
    do {                                                                       \
        int rc_ = (call);                                                      \
        if (rc_ < 0) {                                                         \
            int r_ = -1;                                                       \
            MPI_Comm_rank(MPI_COMM_WORLD, &r_);                                \
            fprintf(stderr, "rank %d: %s failed (%d) at %s:%d\n", r_, #call,   \
                    rc_, __FILE__, __LINE__);                                  \
            MPI_Abort(MPI_COMM_WORLD, 3);                                      \
        }                                                                      \
    } while (0)

/* Register one MPI_Request array as opaque bytes. */
#define APP_PROTECT_REQS(name, reqs, n)                                        \
    APP_CHECK(tern_protect((name), (reqs), (int64_t)(sizeof(MPI_Request) * (n)), MPI_BYTE))

/* FNV-1a 64. */
static inline uint64_t fnv1a(uint64_t h, const void *p, size_t n) {
    const unsigned char *b = (const unsigned char *)p;
    for (size_t i = 0; i < n; i++) { h ^= b[i]; h *= 1099511628211ULL; }
    return h;
}
#define FNV_INIT 14695981039346656037ULL

/* MPI_Init, this rank, the job size, and the command line over the defaults
 * already in *o: how every workload starts. */
static inline void app_start(int *argc, char ***argv, struct app_opts *o, int *rank, int *size) {
    MPI_Init(argc, argv);
    MPI_Comm_rank(MPI_COMM_WORLD, rank);
    MPI_Comm_size(MPI_COMM_WORLD, size);
    app_parse(*argc, *argv, o);
}

/* The per-iteration hooks at the top of the loop, before tern_snapshot():
 * deterministic failure (--die-at) and checkpoint request (--ckpt-at). Only in
 * the run that restarted from epoch --hook-epoch (0: the first run), so the
 * run after it goes through. */
static inline void app_hooks(const struct app_opts *o, long it, int restarted, int rank) {
    (void)restarted;
    if ((long)tern_epoch() != o->hook_epoch) return;
    if (o->die_at > 0 && it == o->die_at) {
        fflush(stdout);
        if (rank == 0) fprintf(stderr, "app: dying at it=%ld (--die-at)\n", it);
        _exit(42);
    }
    if (o->ckpt_at > 0 && it == o->ckpt_at && rank == 0)
        APP_CHECK(tern_request_checkpoint());
}

/* tern_snapshot() with a transcript line on rank 0 when something happened. */
static inline int app_snapshot(long it, int rank) {
    int rc = tern_snapshot();
    if (rc != 0 && rank == 0) {
        printf("SNAPSHOT it=%ld rc=%d\n", it, rc);
        fflush(stdout);
    }
    return rc;
}

static inline void app_resumed(long it, int rank) {
    if (rank == 0) {
        printf("RESUMED it=%ld epoch=%" PRIu64 "\n", it, tern_epoch());
        fflush(stdout);
    }
}

/* After a restart: recover the protected state and say where the run
 * resumes (*it is read after the recovery). Returns whether this run is a
 * restarted one. */
static inline int app_recover(const long *it, int rank) {
    if (!tern_restarted()) return 0;
    APP_CHECK(tern_recover());
    app_resumed(*it, rank);
    return 1;
}

/* Gather each rank's hash to rank 0, combine in rank order and print. */
static inline void app_result(uint64_t local, long iters, int rank, int size) {
    uint64_t *all = NULL;
    if (rank == 0) all = (uint64_t *)calloc((size_t)size, sizeof(uint64_t));
    MPI_Gather(&local, 1, MPI_UINT64_T, all, 1, MPI_UINT64_T, 0, MPI_COMM_WORLD);
    if (rank == 0) {
        uint64_t h = fnv1a(FNV_INIT, all, sizeof(uint64_t) * (size_t)size);
        printf("RESULT %016" PRIx64 "\nITERS %ld\n", h, iters);
        fflush(stdout);
        free(all);
    }
}

static inline void *app_alloc(size_t n) {
    void *p = calloc(n ? n : 1, 1);
    if (!p) { fprintf(stderr, "out of memory\n"); MPI_Abort(MPI_COMM_WORLD, 3); }
    return p;
}

#endif
