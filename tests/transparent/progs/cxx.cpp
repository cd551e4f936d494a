// cxx.cpp: a C++ program built with mpicxx that uses the MPI C API
// (iostreams, the STL, static constructors, exceptions, a class that owns a
// communicator). Prints a transcript fixed by MPI; rank 0 prints it all.
#include <mpi.h>

#include <iostream>
#include <numeric>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

struct Banner {
    std::string text = "cxx";
};
Banner banner;   // constructed before main

class Ring {
public:
    explicit Ring(MPI_Comm parent) { MPI_Comm_dup(parent, &comm_); MPI_Comm_rank(comm_, &rank_); MPI_Comm_size(comm_, &size_); }
    ~Ring() { MPI_Comm_free(&comm_); }
    Ring(const Ring &) = delete;
    Ring &operator=(const Ring &) = delete;
    std::vector<double> pass(const std::vector<double> &v) const
    {
        std::vector<double> in(v.size());
        int right = (rank_ + 1) % size_, left = (rank_ + size_ - 1) % size_;
        MPI_Sendrecv(v.data(), (int)v.size(), MPI_DOUBLE, right, 3, in.data(), (int)in.size(), MPI_DOUBLE, left, 3,
                     comm_, MPI_STATUS_IGNORE);
        return in;
    }
    int rank() const { return rank_; }

private:
    MPI_Comm comm_ = MPI_COMM_NULL;
    int rank_ = 0, size_ = 1;
};

}  // namespace

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    int rank, size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    std::ostringstream out;
    {
        Ring ring(MPI_COMM_WORLD);
        std::vector<double> v(100);
        std::iota(v.begin(), v.end(), 1.0 * ring.rank());
        for (int i = 0; i < 10; i++) v = ring.pass(v);
        double local = std::accumulate(v.begin(), v.end(), 0.0), total = 0;
        MPI_Allreduce(&local, &total, 1, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
        out << banner.text << " rank " << rank << " of " << size << " local " << local << " total " << total << "\n";
    }
    try {
        if (size > 0) throw std::runtime_error("an exception crosses MPI calls");
    } catch (const std::exception &e) {
        out << "caught: " << e.what() << "\n";
    }
    std::string mine = out.str();
    int len = (int)mine.size();
    std::vector<int> lens(size), displs(size);
    MPI_Gather(&len, 1, MPI_INT, lens.data(), 1, MPI_INT, 0, MPI_COMM_WORLD);
    std::partial_sum(lens.begin(), lens.end(), displs.begin());
    for (int i = size - 1; i > 0; i--) displs[i] = displs[i - 1];
    if (size) displs[0] = 0;
    std::string all(rank == 0 ? (size_t)(displs[size - 1] + lens[size - 1]) : 0, ' ');
    MPI_Gatherv(mine.data(), len, MPI_CHAR, &all[0], lens.data(), displs.data(), MPI_CHAR, 0, MPI_COMM_WORLD);
    if (rank == 0) std::cout << all << std::flush;
    MPI_Finalize();
    return 0;
}
