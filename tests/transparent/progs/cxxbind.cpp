// cxxbind.cpp: a program that uses the deprecated MPI C++ bindings, which
// transparent mode refuses before it starts (one line).
#include <mpi.h>
#include <iostream>

int main(int argc, char **argv)
{
    MPI::Init(argc, argv);
    std::cout << "rank " << MPI::COMM_WORLD.Get_rank() << "\n";
    MPI::Finalize();
    return 0;
}
