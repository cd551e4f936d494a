/* tern_f.c: the C side of the Fortran module `tern` (tern.F90).
 *
 * tern_protect receives the Fortran array's C descriptor (TS 29113: an
 * assumed-type, assumed-rank dummy), so that one procedure serves every type,
 * kind and rank, and the element type is the array's own: the region is
 * registered with the MPI Fortran datatype of that type and kind (its extent
 * is the element size tern stores), or as bytes for derived types and
 * characters. A non-contiguous section is refused: tern saves and restores
 * the memory the region covers, which would be a temporary copy.
 */
#include <ISO_Fortran_binding.h>
#include <mpi.h>
#include <stdarg.h>
#include <stdio.h>

#include "error.h"
#include "tern.h"

int tern_f_protect(const char *name, const CFI_cdesc_t *a);

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
    int rank = -1;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    char prefix[32];
    snprintf(prefix, sizeof prefix, "tern: rank %d", rank);
    va_list ap;
    va_start(ap, fmt);
    tern_vreport(prefix, fmt, ap);
    va_end(ap);
}

/* the MPI datatype of one element, or MPI_DATATYPE_NULL: store as bytes */
static MPI_Datatype element_type(CFI_type_t type)
{
    int kind = (int)(type >> CFI_type_kind_shift);
    switch (type & CFI_type_mask) {
    case CFI_type_Integer:
        return kind == 1 ? MPI_INTEGER1 : kind == 2 ? MPI_INTEGER2 : kind == 4 ? MPI_INTEGER4
             : kind == 8 ? MPI_INTEGER8 : MPI_DATATYPE_NULL;
    case CFI_type_Logical:
        return kind == 1 ? MPI_LOGICAL1 : kind == 2 ? MPI_LOGICAL2 : kind == 4 ? MPI_LOGICAL4
             : kind == 8 ? MPI_LOGICAL8 : MPI_DATATYPE_NULL;
    case CFI_type_Real:
        return kind == 4 ? MPI_REAL4 : kind == 8 ? MPI_REAL8 : kind == 16 ? MPI_REAL16 : MPI_DATATYPE_NULL;
    case CFI_type_Complex:   /* the kind of each part */
        return kind == 4 ? MPI_COMPLEX8 : kind == 8 ? MPI_COMPLEX16 : kind == 16 ? MPI_COMPLEX32
             : MPI_DATATYPE_NULL;
    default:
        return MPI_DATATYPE_NULL;
    }
}

int tern_f_protect(const char *name, const CFI_cdesc_t *a)
{
    if (!CFI_is_contiguous(a)) {
        say("tern_protect(%s): the array is not contiguous (a section with strides); protect the "
            "whole array", name);
        return -1;
    }
    int64_t count = 1;
    for (int i = 0; i < a->rank; i++) count *= (int64_t)a->dim[i].extent;
    MPI_Datatype t = element_type(a->type);
    MPI_Aint lb = 0, extent = 0;
    if (t != MPI_DATATYPE_NULL) PMPI_Type_get_extent(t, &lb, &extent);
    if (t == MPI_DATATYPE_NULL || (size_t)extent != a->elem_len) {
        t = MPI_BYTE;
        count *= (int64_t)a->elem_len;
    }
    return tern_protect(name, a->base_addr, count, t);
}
