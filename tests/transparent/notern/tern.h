/* tern.h for the transparent-mode tests: the workloads of tests/protocol/apps
 * built from the same sources with no tern call at all -- each call of tern's
 * API is a no-op here, so the binary is a plain mpicc program (it imports
 * nothing of tern's and links no libtern). */
#ifndef TERN_H
#define TERN_H

#include <mpi.h>
#include <stdint.h>

static inline int tern_protect(const char *name, void *ptr, int64_t count, MPI_Datatype type)
{
    (void)name, (void)ptr, (void)count, (void)type;
    return 0;
}
static inline int tern_unprotect(const char *name) { (void)name; return 0; }
static inline int tern_snapshot(void) { return 0; }
static inline int tern_request_checkpoint(void) { return 0; }
static inline int tern_restarted(void) { return 0; }
static inline int tern_recover(void) { return 0; }
static inline int tern_array_layout(const char *name, int64_t *global_count, int *saved_nranks)
{
    (void)name, (void)global_count, (void)saved_nranks;
    return -1;
}
static inline uint64_t tern_epoch(void) { return 0; }

#endif
