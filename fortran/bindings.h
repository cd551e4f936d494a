/* bindings.h: libtern's Fortran MPI bindings (internal; not installed).
 *
 * Open MPI's Fortran libraries (libmpi_mpifh for mpif.h and `use mpi`,
 * libmpi_usempif08 for `use mpi_f08`) call PMPI_* directly, so a Fortran
 * program's calls would bypass every wrapper. libtern therefore defines the
 * Fortran entry points itself (mpi_send_, MPI_SEND, ..., mpi_send_f08_):
 * fortran_bindings.c is generated from mpiwrap/mpi_calls.tbl by
 * mpiwrap/gen_fortran.py (which says which calls convert and call tern's C
 * wrapper, and which forward to Open MPI's Fortran PMPI binding); the calls
 * whose Fortran form is not mechanical are in bindings.c. Fortran handles of
 * tern's virtual communicators, requests and messages are
 * mpiwrap/handles_fint.h's.
 *
 * Both Fortran interfaces pass every argument by reference; mpi_f08's
 * handles are derived types holding one MPI_Fint, its statuses have the
 * layout of MPI_Status, and its optional ierror arrives as NULL when absent,
 * so one C body serves both (and mpif.h's ierror is never NULL).
 */
#ifndef TERN_FORTRAN_BINDINGS_H
#define TERN_FORTRAN_BINDINGS_H

#include <mpi.h>
#include <stddef.h>
#include <string.h>

#include "handles_fint.h"
#include "wrap.h"

_Static_assert(sizeof(MPI_Fint) == sizeof(int), "INTEGER arrays are passed to C as int arrays");
_Static_assert(sizeof(MPI_Status) % sizeof(MPI_Fint) == 0, "a Fortran status is an MPI_Status");

/* Another exported name of the same binding. */
#define TF_ALIAS(name, target) __typeof__(target) name __attribute__((alias(#target)))

/* Open MPI's Fortran sentinels are the addresses of its common blocks
 * (mpif.h's COMMON, mpi_f08's BIND(C) variables of the same names): the
 * dynamic linker gives every library the same one. */
extern MPI_Fint mpi_fortran_bottom_, mpi_fortran_in_place_;
extern MPI_Fint mpi_fortran_unweighted_, mpi_fortran_weights_empty_;

static inline void *tf_buf(void *p)
{
    if (p == (void *)&mpi_fortran_bottom_) return MPI_BOTTOM;
    if (p == (void *)&mpi_fortran_in_place_) return MPI_IN_PLACE;
    return p;
}

static inline int *tf_weights(MPI_Fint *w)
{
    if (w == &mpi_fortran_unweighted_) return MPI_UNWEIGHTED;
    if (w == &mpi_fortran_weights_empty_) return MPI_WEIGHTS_EMPTY;
    return w;
}

/* A Fortran status (MPI_STATUS_SIZE integers, 4-byte aligned only) is copied
 * in and out of an aligned MPI_Status: what C writes, Fortran sees, as with
 * Open MPI's own bindings. */
static inline MPI_Status *tf_status_in(MPI_Fint *f, MPI_Status *s)
{
    if (f == MPI_F_STATUS_IGNORE) return MPI_STATUS_IGNORE;
    memcpy(s, f, sizeof *s);
    return s;
}
static inline void tf_status_out(const MPI_Status *c, MPI_Fint *f)
{
    if (c != MPI_STATUS_IGNORE) memcpy(f, c, sizeof *c);
}

/* The datatype arrays of MPI_(I)(neighbor_)alltoallw: as many as the
 * communicator's peers (remote group, neighbours) on that side. Small ones
 * live in stack[TF_NTYPES]; tf_types_done() frees a bigger one. */
#define TF_NTYPES 64
enum { TF_SEND = 0, TF_RECV = 1, TF_NEIGHBOR = 2 };
MPI_Datatype *tf_types(const MPI_Fint *f, MPI_Comm comm, int which, MPI_Datatype *stack);
void tf_types_done(MPI_Datatype *t, const MPI_Datatype *stack);

/* ---- hand-written bindings (bindings.c): return the MPI error code ---- */
int tf_init(void);
int tf_init_thread(MPI_Fint *required, MPI_Fint *provided);
int tf_finalize(void);
int tf_waitall(MPI_Fint *count, MPI_Fint *reqs, MPI_Fint *stats);
int tf_testall(MPI_Fint *count, MPI_Fint *reqs, MPI_Fint *flag, MPI_Fint *stats);
int tf_waitany(MPI_Fint *count, MPI_Fint *reqs, MPI_Fint *index, MPI_Fint *status);
int tf_testany(MPI_Fint *count, MPI_Fint *reqs, MPI_Fint *index, MPI_Fint *flag, MPI_Fint *status);
int tf_waitsome(MPI_Fint *incount, MPI_Fint *reqs, MPI_Fint *outcount, MPI_Fint *indices,
                MPI_Fint *stats);
int tf_testsome(MPI_Fint *incount, MPI_Fint *reqs, MPI_Fint *outcount, MPI_Fint *indices,
                MPI_Fint *stats);
int tf_startall(MPI_Fint *count, MPI_Fint *reqs);
int tf_grequest_start(void *query_fn, void *free_fn, void *cancel_fn, void *extra_state,
                      MPI_Fint *request);

#endif
