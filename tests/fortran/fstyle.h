/* fstyle.h: one Fortran source, three MPI binding styles (tests/fortran).
 *
 * Every program here is compiled three times, with TERN_FSTYLE 77 (include
 * 'mpif.h'), 90 (use mpi) or 8 (use mpi_f08). The differences are only the
 * declarations of handles and statuses and how a status field is read:
 *   MPI_MODULE          the use statement (empty for mpif.h)
 *   MPI_INCLUDE         the include line (empty but for mpif.h)
 *   HANDLE(T)           type(T) in mpi_f08, integer otherwise
 *   STATUS              a status: type(MPI_Status) or integer(MPI_STATUS_SIZE)
 *   STATUSES(n)         n of them
 *   SOURCE(s), TAG(s)   its fields
 *   SOURCE_AT(s, i), TAG_AT(s, i)  the fields of the i-th status of an array
 *   FVAL(h)             the handle as an integer (h%MPI_VAL in mpi_f08)
 */
#if TERN_FSTYLE == 8
#define MPI_MODULE use mpi_f08
#define MPI_INCLUDE
#define HANDLE(T) type(T)
#define STATUS type(MPI_Status)
#define STATUSES(n) type(MPI_Status), dimension(n)
#define SOURCE(s) s%MPI_SOURCE
#define TAG(s) s%MPI_TAG
#define SOURCE_AT(s, i) s(i)%MPI_SOURCE
#define TAG_AT(s, i) s(i)%MPI_TAG
#define FVAL(h) h%MPI_VAL
#elif TERN_FSTYLE == 90 || TERN_FSTYLE == 77
#if TERN_FSTYLE == 90
#define MPI_MODULE use mpi
#define MPI_INCLUDE
#else
#define MPI_MODULE
#define MPI_INCLUDE include "mpif.h"
#endif
#define HANDLE(T) integer
#define STATUS integer, dimension(MPI_STATUS_SIZE)
#define STATUSES(n) integer, dimension(MPI_STATUS_SIZE, n)
#define SOURCE(s) s(MPI_SOURCE)
#define TAG(s) s(MPI_TAG)
#define SOURCE_AT(s, i) s(MPI_SOURCE, i)
#define TAG_AT(s, i) s(MPI_TAG, i)
#define FVAL(h) h
#else
#error "TERN_FSTYLE must be 77, 90 or 8"
#endif
