/* semantics_cancel: MPI_Cancel of posted receives. 2 ranks.
 *  1. Rank 0 posts an Irecv no one will match, cancels it, waits:
 *     MPI_Test_cancelled is true; a later message with that tag goes to a
 *     later receive, not to the cancelled one.
 *  2. An Irecv that has already been matched and completed (Wait after a
 *     barrier that follows the send) is not cancelled by a Cancel issued
 *     before its Wait: Test_cancelled false, data delivered.
 *  3. Cancelling a persistent receive that was started and never matched. */
#include "semantics.h"

int main(int argc, char **argv) {
    sem_init(&argc, &argv);
    if (sem_size != 2) { if (sem_rank == 0) fprintf(stderr, "needs 2 ranks\n"); MPI_Abort(MPI_COMM_WORLD, 2); }
    MPI_Status st;
    int flag;
    if (sem_rank == 0) {
        int dead = -1, live = -1;
        MPI_Request rq;
        MPI_Irecv(&dead, 1, MPI_INT, 1, 11, MPI_COMM_WORLD, &rq);
        MPI_Cancel(&rq);
        MPI_Wait(&rq, &st);
        MPI_Test_cancelled(&st, &flag);
        T("1 cancelled=%d request %s", flag, rq == MPI_REQUEST_NULL ? "NULL" : "?");
        EXPECT(flag && rq == MPI_REQUEST_NULL, "cancel unmatched");
        MPI_Barrier(MPI_COMM_WORLD); /* now rank 1 sends tag 11 */
        MPI_Recv(&live, 1, MPI_INT, 1, 11, MPI_COMM_WORLD, &st);
        T("1 later receive got %d, cancelled buffer still %d", live, dead);
        EXPECT(live == 42 && dead == -1, "later receive");

        int got = -1;
        MPI_Irecv(&got, 1, MPI_INT, 1, 12, MPI_COMM_WORLD, &rq);
        MPI_Barrier(MPI_COMM_WORLD); /* rank 1 has sent tag 12 (eager, 4 bytes) */
        /* make sure it arrived: poll with Test until done */
        flag = 0;
        while (!flag) MPI_Test(&rq, &flag, &st);
        MPI_Test_cancelled(&st, &flag);
        T("2 completed before cancel: cancelled=%d got %d", flag, got);
        EXPECT(!flag && got == 43, "completed");
        /* Cancel of a matched-but-not-yet-waited receive */
        MPI_Irecv(&got, 1, MPI_INT, 1, 13, MPI_COMM_WORLD, &rq);
        MPI_Barrier(MPI_COMM_WORLD);
        MPI_Probe(1, 14, MPI_COMM_WORLD, &st); /* tag 14 sent after 13 */
        MPI_Recv(&live, 1, MPI_INT, 1, 14, MPI_COMM_WORLD, &st);
        MPI_Cancel(&rq);
        MPI_Wait(&rq, &st);
        MPI_Test_cancelled(&st, &flag);
        T("2 matched then cancel: cancelled=%d got %d", flag, got);
        EXPECT(!flag && got == 44, "matched then cancel");

        int p = -1;
        MPI_Recv_init(&p, 1, MPI_INT, 1, 15, MPI_COMM_WORLD, &rq);
        MPI_Start(&rq);
        MPI_Cancel(&rq);
        MPI_Wait(&rq, &st);
        MPI_Test_cancelled(&st, &flag);
        T("3 persistent cancelled=%d request %s", flag, rq != MPI_REQUEST_NULL ? "kept" : "NULL");
        EXPECT(flag && rq != MPI_REQUEST_NULL, "persistent cancel");
        MPI_Request_free(&rq);
    } else {
        MPI_Barrier(MPI_COMM_WORLD);
        int v = 42;
        MPI_Send(&v, 1, MPI_INT, 0, 11, MPI_COMM_WORLD);
        v = 43;
        MPI_Send(&v, 1, MPI_INT, 0, 12, MPI_COMM_WORLD);
        MPI_Barrier(MPI_COMM_WORLD);
        MPI_Barrier(MPI_COMM_WORLD);
        v = 44;
        MPI_Send(&v, 1, MPI_INT, 0, 13, MPI_COMM_WORLD);
        v = 45;
        MPI_Send(&v, 1, MPI_INT, 0, 14, MPI_COMM_WORLD);
    }
    return sem_finish("semantics_cancel");
}
