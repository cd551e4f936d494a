/* tern.h: the application API of tern (API mode).
 *
 * Link with -ltern (pkg-config tern) or run unchanged binaries with
 * `mpirun -x LD_PRELOAD=libtern.so`. docs/api.md has a complete example.
 *
 * The model: the application registers what must survive a restart
 * (tern_protect), and calls tern_snapshot() at points where it could resume.
 * Checkpoint triggers (TERN_INTERVAL, a signal, `tern checkpoint`,
 * tern_request_checkpoint()) may arrive at any time on any rank; they are
 * served at the next tern_snapshot() that every rank reaches, after the
 * coordinated drain of in-flight messages. tern_snapshot() is therefore
 * collective over MPI_COMM_WORLD: every rank calls it the same number of times.
 *
 * After a restart (`tern restart`, or TERN_RESTART=CKPT in the environment)
 * the application starts again from main(), calls MPI_Init and the same
 * tern_protect()s, sees tern_restarted() == 1, calls tern_recover() and
 * continues from where the saved snapshot was taken. Messages that were in
 * flight at the cut are delivered again to the matching receives.
 *
 * All functions return 0 (or a boolean where said) on success and a negative
 * value on error, after printing one line naming rank and cause on stderr.
 */
#ifndef TERN_H
#define TERN_H

#include <mpi.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Register count elements of type at ptr under name (unique, at most 200
 * characters of [A-Za-z0-9_.-]). Registering the same name again replaces the
 * earlier registration (buffers that grow). Regions with the same name and
 * type on every rank are stored as one global HDF5 dataset, one hyperslab per
 * rank, so they can be read back on a different rank count. */
int tern_protect(const char *name, void *ptr, int64_t count, MPI_Datatype type);
int tern_unprotect(const char *name);

/* tern_protect of a block of a multi-dimensional array: dims[0..ndims-1]
 * (1 <= ndims <= 8) are this rank's block, row-major (C order), count is
 * their product. Every rank protects its block of the same global array
 * along the first dimension: dims[1..] must be the same on every rank,
 * dims[0] (this rank's rows) may differ and be 0. The checkpoint then holds
 * one dataset of shape {sum of every rank's dims[0], dims[1], ...}, rank
 * r's rows after rank r-1's. Ranks that disagree on dims[1..] (or on the
 * type) get their regions saved per rank, as with different types.
 * Predefined types are stored with their HDF5 type (MPI_DOUBLE as a 64-bit
 * IEEE float, MPI_INT as a 32-bit integer, MPI_C_DOUBLE_COMPLEX as {r, i},
 * ...); MPI_BYTE and derived types as opaque elements. tern_recover reads
 * elements in row-major order, so on another rank count a rank gets the
 * rows that start at the sum of lower ranks' counts. */
int tern_protect_shape(const char *name, void *ptr, int ndims, const int64_t *dims,
                       MPI_Datatype type);

/* A point where the application can resume. Collective over MPI_COMM_WORLD.
 * Returns 1 when a checkpoint was committed here, 0 when none was pending,
 * negative when a checkpoint was attempted and failed (the job can go on; the
 * previous checkpoint stays valid). */
int tern_snapshot(void);

/* Ask for a checkpoint at the next snapshot point (from any one rank). */
int tern_request_checkpoint(void);

/* 1 when this run was started from a checkpoint, 0 otherwise. Valid after
 * MPI_Init. */
int tern_restarted(void);

/* Copy the saved contents into every protected region. Call after the
 * tern_protect()s, before the first communication of the resumed run. On the
 * same rank count each rank gets its own data back. On a different rank count
 * each global array is read as the contiguous slice that starts at the sum of
 * the counts protected by lower ranks in this run; tern_array_layout() tells
 * the application the saved global size so it can size its buffers. */
int tern_recover(void);

/* Layout of a saved global array (valid when tern_restarted()): total
 * elements across all ranks and the rank count it was written with. */
int tern_array_layout(const char *name, int64_t *global_count, int *saved_nranks);

/* The epoch of the checkpoint this run restarted from (0 if none). */
uint64_t tern_epoch(void);

#ifdef __cplusplus
}
#endif
#endif
