/* A communicator created after the first snapshot point, kept in protected
 * memory and used after a restart that does not create it again: docs/api.md
 * forbids it; tern must say so in one line and stop the job, not let the
 * stale handle crash inside Open MPI.
 *   keptcomm      run: checkpoint requested at iteration 3 (served at the
 *                 next snapshot point all ranks reach), exit at iteration 5
 *   (restarted)   recover, then use the kept communicator -> error */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>

#include "tern.h"

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    int it = 0;
    MPI_Comm kept = MPI_COMM_NULL;
    tern_protect("it", &it, 1, MPI_INT);
    tern_protect("kept", &kept, (int64_t)sizeof kept, MPI_BYTE);
    if (tern_restarted())
        tern_recover();
    for (; it < 10; it++) {
        if (it == 1 && kept == MPI_COMM_NULL)
            MPI_Comm_dup(MPI_COMM_WORLD, &kept);   /* made inside the loop */
        int r = -1;
        MPI_Comm_rank(kept == MPI_COMM_NULL ? MPI_COMM_WORLD : kept, &r);
        if (it == 3)
            tern_request_checkpoint();
        int rc = tern_snapshot();
        if (rc == 1)
            printf("SNAPSHOT it=%d\n", it);
        fflush(stdout);
        if (it == 5 && !tern_restarted()) {
            printf("DIE it=%d\n", it);
            fflush(stdout);
            _Exit(3);   /* a crash after the commit */
        }
    }
    printf("FINISHED\n");
    MPI_Finalize();
    return 0;
}
