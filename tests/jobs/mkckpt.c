/* mkckpt DIR [EPOCH]: every rank writes a small segment, one committed
 * checkpoint (through the store, no libtern): the error-message tests of
 * `tern restart` need a real checkpoint with a known rank count. */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>

#include "tern_store.h"

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    if (argc < 2) {
        fprintf(stderr, "usage: mkckpt DIR [EPOCH]\n");
        MPI_Abort(MPI_COMM_WORLD, 2);
    }
    int rank;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    tern_store_opts o;
    tern_store_opts_default(&o);
    o.job = "mkckpt";
    tern_ckpt_writer *w;
    tern_error err = {0};
    tern_ckpt_stats st;
    double x[16];
    for (int i = 0; i < 16; i++) x[i] = rank * 100 + i;
    if (tern_ckpt_begin(MPI_COMM_WORLD, argv[1], argc > 2 ? strtoull(argv[2], 0, 10) : 1, &o,
                        &w, &err) ||
        tern_ckpt_put(w, "x", x, sizeof x, &err) || tern_ckpt_commit(w, &st, &err)) {
        fprintf(stderr, "mkckpt: %s\n", err.msg);
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    if (rank == 0) printf("%s\n", st.path);
    MPI_Finalize();
    return 0;
}
