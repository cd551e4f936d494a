/* handles_fint.c: MPI_Comm_c2f/f2c, MPI_Request_c2f/f2c, MPI_Message_c2f/f2c
 * for tern's virtual handles (the encoding is handles_fint.h's). A C library
 * called from Fortran (or Fortran code called from C) converts a handle and
 * gets the same virtual object, counted and restored like any other. Inside
 * tern (tern_internal) handles are Open MPI's and pass straight through. */
#include "handles_fint.h"

#define TF_EXPORTED(h, Name)                                                       \
    MPI_Fint MPI_##Name##_c2f(MPI_##Name x)                                        \
    {                                                                              \
        return TERN_UNLIKELY(tern_internal) ? PMPI_##Name##_c2f(x) : tf_##h##_c2f(x); \
    }                                                                              \
    MPI_##Name MPI_##Name##_f2c(MPI_Fint f)                                        \
    {                                                                              \
        return TERN_UNLIKELY(tern_internal) ? PMPI_##Name##_f2c(f) : tf_##h##_f2c(f); \
    }
TF_EXPORTED(comm, Comm)
TF_EXPORTED(req, Request)
TF_EXPORTED(msg, Message)
