// probe.cpp: a C++ program that uses only the MPI C API. What its object
// refers to in namespace MPI comes from mpi.h's C++ header alone; the shim's
// libmpi_cxx.so.40 provides exactly that (gen_cxx.py).
#include <mpi.h>

int probe(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    int r = 0, n = 0;
    MPI_Comm_rank(MPI_COMM_WORLD, &r);
    MPI_Comm_size(MPI_COMM_WORLD, &n);
    double x = r, s = 0;
    MPI_Allreduce(&x, &s, 1, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
    return MPI_Finalize() + (int)s + n;
}
