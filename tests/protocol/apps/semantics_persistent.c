/* semantics_persistent: persistent requests. 3 ranks in a ring.
 * Send_init/Recv_init once, then 20 rounds of MPI_Startall + MPI_Waitall
 * with the buffers refilled between rounds; the request stays allocated
 * (not MPI_REQUEST_NULL) after completion, an inactive persistent request
 * waits immediately with an empty status, and MPI_Request_free releases it.
 * Also a persistent MPI_Ssend_init with MPI_Start/MPI_Test polling. */
#include "semantics.h"

int main(int argc, char **argv) {
    sem_init(&argc, &argv);
    int right = (sem_rank + 1) % sem_size, left = (sem_rank + sem_size - 1) % sem_size;
    double sb[4], rb[4];
    MPI_Request rq[2];
    MPI_Send_init(sb, 4, MPI_DOUBLE, right, 1, MPI_COMM_WORLD, &rq[0]);
    MPI_Recv_init(rb, 4, MPI_DOUBLE, left, 1, MPI_COMM_WORLD, &rq[1]);
    double acc = 0.0;
    for (int round = 0; round < 20; round++) {
        for (int k = 0; k < 4; k++) sb[k] = sem_rank * 100 + round + k * 0.25;
        MPI_Startall(2, rq);
        MPI_Status st[2];
        MPI_Waitall(2, rq, st);
        EXPECT(rq[0] != MPI_REQUEST_NULL && rq[1] != MPI_REQUEST_NULL, "persistent kept");
        EXPECT(st[1].MPI_SOURCE == left && st[1].MPI_TAG == 1, "status");
        EXPECT(rb[0] == left * 100 + round, "round %d got %g", round, rb[0]);
        for (int k = 0; k < 4; k++) acc += rb[k];
    }
    T("20 rounds from %d: sum %.2f", left, acc);
    MPI_Status st;
    MPI_Wait(&rq[1], &st); /* inactive: returns at once, empty status */
    int cnt = -1;
    MPI_Get_count(&st, MPI_DOUBLE, &cnt);
    T("inactive wait: source %s tag %s count %d",
      st.MPI_SOURCE == MPI_ANY_SOURCE ? "ANY_SOURCE" : "?",
      st.MPI_TAG == MPI_ANY_TAG ? "ANY_TAG" : "?", cnt);
    EXPECT(cnt == 0 && st.MPI_SOURCE == MPI_ANY_SOURCE, "inactive");
    MPI_Request_free(&rq[0]);
    MPI_Request_free(&rq[1]);
    T("freed: %s", rq[0] == MPI_REQUEST_NULL && rq[1] == MPI_REQUEST_NULL ? "NULL" : "?");

    int v = sem_rank, r = -1;
    MPI_Request s, q;
    MPI_Ssend_init(&v, 1, MPI_INT, right, 2, MPI_COMM_WORLD, &s);
    MPI_Recv_init(&r, 1, MPI_INT, left, 2, MPI_COMM_WORLD, &q);
    for (int round = 0; round < 3; round++) {
        v = sem_rank + 10 * round;
        MPI_Start(&q);
        MPI_Start(&s);
        int fs = 0, fq = 0;
        while (!fs || !fq) {
            if (!fs) MPI_Test(&s, &fs, MPI_STATUS_IGNORE);
            if (!fq) MPI_Test(&q, &fq, MPI_STATUS_IGNORE);
        }
        EXPECT(r == left + 10 * round, "ssend round %d got %d", round, r);
    }
    T("ssend_init 3 rounds, last from %d: %d", left, r);
    MPI_Request_free(&s);
    MPI_Request_free(&q);
    return sem_finish("semantics_persistent");
}
