/* refuse.c: calls outside the checkpoint protocol make checkpoints fail with a
 * message naming the call, while the job itself runs on normally.
 *
 * usage: refuse rma|io|thread|dyn|recv [FILE]
 *   rma     MPI_Win_create before the loop, MPI_Win_free at it == 15
 *   io      MPI_File_open(FILE) before the loop, MPI_File_close at it == 15
 *   thread  MPI_Init_thread(MPI_THREAD_MULTIPLE): refused for the whole run
 *   dyn     MPI_Comm_spawn of one child (this program, mode "child"), which
 *           disconnects at once: refused for the whole run
 *   recv    rank 1 posts an MPI_Irecv into unprotected memory at it == 5
 *           (no message comes until it == 15): the receive cannot be saved,
 *           which only rank 1 finds out, after the exchange (it is not
 *           quiet), so the refusal reaches the others through the store's
 *           first collective
 * Rank 0 asks for a checkpoint at it == 5 and it == 25; the snapshot return
 * codes are printed ("SNAPSHOT it=6 rc=-1" ...), then "RESULT <sum>".
 */
#include <mpi.h>
#include <stdio.h>
#include <string.h>

#include "tern.h"

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "rma";
    int provided = 0;
    if (!strcmp(mode, "thread"))
        MPI_Init_thread(&argc, &argv, MPI_THREAD_MULTIPLE, &provided);
    else
        MPI_Init(&argc, &argv);
    int rank;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    if (!strcmp(mode, "child")) {
        MPI_Comm parent;
        MPI_Comm_get_parent(&parent);
        if (parent != MPI_COMM_NULL) MPI_Comm_disconnect(&parent);
        MPI_Finalize();
        return 0;
    }
    if (!strcmp(mode, "dyn")) {
        MPI_Comm child;
        char *cargv[] = { "child", NULL };
        MPI_Comm_spawn(argv[0], cargv, 1, MPI_INFO_NULL, 0, MPI_COMM_WORLD, &child, MPI_ERRCODES_IGNORE);
        MPI_Comm_disconnect(&child);
    }
    double x = 0, winbuf[4] = { 0 };
    long it = 0;
    tern_protect("x", &x, 1, MPI_DOUBLE);
    tern_protect("it", &it, 1, MPI_LONG);
    MPI_Win win = MPI_WIN_NULL;
    MPI_File fh = MPI_FILE_NULL;
    if (!strcmp(mode, "rma"))
        MPI_Win_create(winbuf, sizeof winbuf, sizeof(double), MPI_INFO_NULL, MPI_COMM_WORLD, &win);
    if (!strcmp(mode, "io"))
        MPI_File_open(MPI_COMM_WORLD, argc > 2 ? argv[2] : "refuse.dat",
                      MPI_MODE_CREATE | MPI_MODE_RDWR, MPI_INFO_NULL, &fh);
    if (!strcmp(mode, "thread") && rank == 0) printf("provided %d\n", provided);
    double unprotected = 0;
    MPI_Request rreq = MPI_REQUEST_NULL;
    int recv_mode = !strcmp(mode, "recv");
    for (it = 0; it < 40; it++) {
        if ((it == 5 || it == 25) && rank == 0) tern_request_checkpoint();
        if (recv_mode && it == 5 && rank == 1)
            MPI_Irecv(&unprotected, 1, MPI_DOUBLE, 0, 9, MPI_COMM_WORLD, &rreq);
        int rc = tern_snapshot();
        if (rc && rank == 0) printf("SNAPSHOT it=%ld rc=%d\n", it, rc);
        if (recv_mode && it == 15) {
            double one = 1;
            if (rank == 0) MPI_Send(&one, 1, MPI_DOUBLE, 1, 9, MPI_COMM_WORLD);
            if (rank == 1) MPI_Wait(&rreq, MPI_STATUS_IGNORE);
        }
        if (it == 15 && win != MPI_WIN_NULL) MPI_Win_free(&win);
        if (it == 15 && fh != MPI_FILE_NULL) MPI_File_close(&fh);
        double v = (double)(it + rank), s = 0;
        MPI_Allreduce(&v, &s, 1, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
        x += s;
    }
    if (rank == 0) printf("RESULT %.1f\n", x);
    MPI_Finalize();
    return 0;
}
