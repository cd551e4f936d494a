/* semantics_probe: MPI_Probe, MPI_Iprobe, MPI_Mprobe/MPI_Mrecv,
 * MPI_Improbe/MPI_Imrecv. 3 ranks.
 *  1. Rank 1 sends 3 messages of different lengths and tags to rank 0.
 *     Rank 0 Probes (ANY_SOURCE, ANY_TAG), sizes a buffer from
 *     MPI_Get_count, and receives exactly the probed message; a probe does
 *     not consume: probing twice gives the same message.
 *  2. Iprobe polls until a message from rank 2 (tag 9) is there, then the
 *     message is received.
 *  3. Mprobe takes a message out of matching: a later Recv with the same
 *     (source, tag) gets the NEXT message, and Mrecv of the handle gets the
 *     probed one.
 *  4. Improbe until a message is there, then Imrecv + Wait.
 *  5. Iprobe for a message that was never sent returns false. */
#include "semantics.h"

int main(int argc, char **argv) {
    sem_init(&argc, &argv);
    if (sem_size != 3) { if (sem_rank == 0) fprintf(stderr, "needs 3 ranks\n"); MPI_Abort(MPI_COMM_WORLD, 2); }
    MPI_Status st, st2;
    int cnt, flag;
    if (sem_rank == 1) {
        int a[100];
        for (int i = 0; i < 100; i++) a[i] = i;
        MPI_Send(a, 7, MPI_INT, 0, 1, MPI_COMM_WORLD);
        MPI_Send(a, 30, MPI_INT, 0, 2, MPI_COMM_WORLD);
        MPI_Send(a, 100, MPI_INT, 0, 3, MPI_COMM_WORLD);
        MPI_Barrier(MPI_COMM_WORLD); /* after 1 */
        MPI_Barrier(MPI_COMM_WORLD); /* after 2 */
        int m1 = 111, m2 = 222;
        MPI_Send(&m1, 1, MPI_INT, 0, 4, MPI_COMM_WORLD);
        MPI_Send(&m2, 1, MPI_INT, 0, 4, MPI_COMM_WORLD);
        int m3[5] = { 5, 4, 3, 2, 1 };
        MPI_Send(m3, 5, MPI_INT, 0, 6, MPI_COMM_WORLD);
    } else if (sem_rank == 2) {
        MPI_Barrier(MPI_COMM_WORLD);
        double x = 2.5;
        MPI_Send(&x, 1, MPI_DOUBLE, 0, 9, MPI_COMM_WORLD);
        MPI_Barrier(MPI_COMM_WORLD);
    } else {
        for (int k = 0; k < 3; k++) {
            MPI_Probe(MPI_ANY_SOURCE, MPI_ANY_TAG, MPI_COMM_WORLD, &st);
            MPI_Probe(MPI_ANY_SOURCE, MPI_ANY_TAG, MPI_COMM_WORLD, &st2);
            MPI_Get_count(&st, MPI_INT, &cnt);
            EXPECT(st.MPI_SOURCE == st2.MPI_SOURCE && st.MPI_TAG == st2.MPI_TAG, "probe twice");
            int *b = calloc((size_t)cnt, sizeof(int));
            MPI_Recv(b, cnt, MPI_INT, st.MPI_SOURCE, st.MPI_TAG, MPI_COMM_WORLD, &st2);
            int c2;
            MPI_Get_count(&st2, MPI_INT, &c2);
            T("1 probe: source %d tag %d count %d; recv count %d last %d", st.MPI_SOURCE,
              st.MPI_TAG, cnt, c2, b[cnt - 1]);
            EXPECT(c2 == cnt && b[cnt - 1] == cnt - 1 && st.MPI_TAG == k + 1, "probe/recv");
            free(b);
        }
        MPI_Barrier(MPI_COMM_WORLD);
        flag = 0;
        long polls = 0;
        while (!flag) { MPI_Iprobe(2, 9, MPI_COMM_WORLD, &flag, &st); polls++; }
        double x = 0;
        MPI_Recv(&x, 1, MPI_DOUBLE, 2, 9, MPI_COMM_WORLD, &st2);
        MPI_Get_count(&st, MPI_DOUBLE, &cnt);
        T("2 iprobe: source %d tag %d count %d value %g polled %s", st.MPI_SOURCE, st.MPI_TAG,
          cnt, x, polls > 0 ? "yes" : "no");
        EXPECT(x == 2.5 && cnt == 1, "iprobe");
        MPI_Barrier(MPI_COMM_WORLD);

        MPI_Message msg;
        MPI_Mprobe(1, 4, MPI_COMM_WORLD, &msg, &st);
        int v = 0, w = 0;
        MPI_Recv(&w, 1, MPI_INT, 1, 4, MPI_COMM_WORLD, &st2);
        MPI_Mrecv(&v, 1, MPI_INT, &msg, &st);
        T("3 mprobe: mrecv got %d (tag %d), recv after mprobe got %d, handle %s", v,
          st.MPI_TAG, w, msg == MPI_MESSAGE_NULL ? "MESSAGE_NULL" : "?");
        EXPECT(v == 111 && w == 222 && msg == MPI_MESSAGE_NULL, "mprobe");

        flag = 0;
        while (!flag) MPI_Improbe(MPI_ANY_SOURCE, 6, MPI_COMM_WORLD, &flag, &msg, &st);
        MPI_Get_count(&st, MPI_INT, &cnt);
        int m3[5] = { 0 };
        MPI_Request rq;
        MPI_Imrecv(m3, cnt, MPI_INT, &msg, &rq);
        MPI_Wait(&rq, &st2);
        T("4 improbe: source %d count %d data %d %d %d %d %d", st.MPI_SOURCE, cnt, m3[0],
          m3[1], m3[2], m3[3], m3[4]);
        EXPECT(cnt == 5 && m3[0] == 5 && m3[4] == 1, "improbe");

        MPI_Iprobe(MPI_ANY_SOURCE, 77, MPI_COMM_WORLD, &flag, &st);
        T("5 iprobe of nothing: %d", flag);
        EXPECT(!flag, "iprobe nothing");
    }
    return sem_finish("semantics_probe");
}
