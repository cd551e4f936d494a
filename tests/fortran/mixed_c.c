/* mixed_c.c: a C library called from a Fortran program (mixed.F90). Like
 * any C library with a Fortran interface it takes and returns Fortran
 * handles (MPI_Fint) and converts them with MPI_Comm_f2c / MPI_Comm_c2f /
 * MPI_Request_c2f: under tern the C handles are the same virtual ones the
 * Fortran bindings use, so its traffic is counted, drained and restored with
 * the program's. */
#include <mpi.h>

MPI_Fint cmix_dup(MPI_Fint fcomm);
void cmix_irecv(double *buf, int n, int src, int tag, MPI_Fint fcomm, MPI_Fint *freq);
void cmix_isend(double *buf, int n, int dest, int tag, MPI_Fint fcomm, MPI_Fint *freq);

/* a communicator made in C, used by Fortran */
MPI_Fint cmix_dup(MPI_Fint fcomm)
{
    MPI_Comm dup;
    MPI_Comm_dup(MPI_Comm_f2c(fcomm), &dup);
    return MPI_Comm_c2f(dup);
}

/* a receive posted in C, completed by Fortran's MPI_Waitall */
void cmix_irecv(double *buf, int n, int src, int tag, MPI_Fint fcomm, MPI_Fint *freq)
{
    MPI_Request r;
    MPI_Irecv(buf, n, MPI_DOUBLE, src, tag, MPI_Comm_f2c(fcomm), &r);
    *freq = MPI_Request_c2f(r);
}

void cmix_isend(double *buf, int n, int dest, int tag, MPI_Fint fcomm, MPI_Fint *freq)
{
    MPI_Request r;
    MPI_Isend(buf, n, MPI_DOUBLE, dest, tag, MPI_Comm_f2c(fcomm), &r);
    *freq = MPI_Request_c2f(r);
}
