/* handles_fint.h: the Fortran handles (MPI_Fint) of tern's virtual handles.
 *
 * A virtual communicator, request or matched-probe message has a Fortran
 * handle that encodes the same index (communicator ordinal, request slot,
 * message slot) under a tag in bits 26..30:
 *     (FTAG << 26) | index        (index < 2^26; a positive MPI_Fint)
 * so that MPI_Comm_c2f/f2c (and the Fortran bindings, fortran/) translate in
 * O(1) without a table, and a Fortran handle kept in protected memory names
 * the same object after a restart, as the C handle does. Open MPI's own
 * Fortran handles are small indices of its f2c tables (MPI_COMM_WORLD is 0,
 * MPI_REQUEST_NULL 0): they never reach 0x70000000 and pass through
 * PMPI_*_f2c/c2f unchanged -- predefined and foreign handles stay Open MPI's,
 * exactly like their C handles.
 *
 * The exported MPI_Comm_c2f/f2c, MPI_Request_c2f/f2c and
 * MPI_Message_c2f/f2c (handles_fint.c) are these functions.
 */
#ifndef TERN_MPIWRAP_HANDLES_FINT_H
#define TERN_MPIWRAP_HANDLES_FINT_H

#include "wrap.h"

#define TF_FTAG_SHIFT 26
#define TF_FINDEX_MASK ((1u << TF_FTAG_SHIFT) - 1)
#define TF_FTAG_MSG 0x1Cu
#define TF_FTAG_COMM 0x1Du
#define TF_FTAG_REQ 0x1Eu

_Static_assert(4096u * TC_CHUNK <= (1u << TF_FTAG_SHIFT), "communicator ordinals fit a Fortran handle");
_Static_assert(16384u * TR_CHUNK <= (1u << TF_FTAG_SHIFT), "request slots fit a Fortran handle");

/* the index under tag, or -1 when f is not one of tern's Fortran handles */
static inline int64_t tf_fint_index(MPI_Fint f, unsigned tag)
{
    return ((uint32_t)f >> TF_FTAG_SHIFT) == tag ? (int64_t)((uint32_t)f & TF_FINDEX_MASK) : -1;
}
/* the index under (C) tag, or -1 when h is not one of tern's virtual handles */
static inline int64_t tf_virt_index(uintptr_t h, unsigned tag)
{
    return (h >> 48) == tag ? (int64_t)(uint32_t)h : -1;
}
static inline MPI_Fint tf_fint(unsigned tag, int64_t index)
{
    return (MPI_Fint)((tag << TF_FTAG_SHIFT) | ((uint32_t)index & TF_FINDEX_MASK));
}
static inline uintptr_t tf_virt(unsigned tag, int64_t index)
{
    return ((uintptr_t)tag << 48) | (uint32_t)index;
}

/* tf_<h>_f2c / tf_<h>_c2f for MPI_<Name> handles: tern's under (ctag, ftag),
 * Open MPI's through PMPI_<Name>_f2c / c2f */
#define TF_FINT_CONVERSIONS(h, Name, ctag, ftag)                                   \
    static inline MPI_##Name tf_##h##_f2c(MPI_Fint f)                              \
    {                                                                              \
        int64_t i = tf_fint_index(f, ftag);                                        \
        return i >= 0 ? (MPI_##Name)tf_virt(ctag, i) : PMPI_##Name##_f2c(f);       \
    }                                                                              \
    static inline MPI_Fint tf_##h##_c2f(MPI_##Name x)                              \
    {                                                                              \
        int64_t i = tf_virt_index((uintptr_t)x, ctag);                             \
        return i >= 0 ? tf_fint(ftag, i) : PMPI_##Name##_c2f(x);                   \
    }
TF_FINT_CONVERSIONS(comm, Comm, TERN_TAG_COMM, TF_FTAG_COMM)
TF_FINT_CONVERSIONS(req, Request, TERN_TAG_REQ, TF_FTAG_REQ)
TF_FINT_CONVERSIONS(msg, Message, TERN_TAG_MSG, TF_FTAG_MSG)

/* Open MPI's own Fortran handle of the communicator f names: what its
 * Fortran library (which knows nothing of tern) must be given. */
static inline MPI_Fint tf_comm_real_fint(MPI_Fint f)
{
    return tf_fint_index(f, TF_FTAG_COMM) >= 0 ? PMPI_Comm_c2f(tc_real(tf_comm_f2c(f))) : f;
}

#endif
