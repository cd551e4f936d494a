/* semantics_completion: MPI_Waitany, MPI_Waitsome, MPI_Testall, MPI_Testany,
 * MPI_Testsome. 4 ranks; ranks 1..3 send to rank 0.
 * The order in which requests complete is left open by MPI, so only what is
 * guaranteed is printed: each index is reported exactly once, with the right
 * status, completed slots become MPI_REQUEST_NULL, and MPI_UNDEFINED comes
 * back once everything is done. */
#include "semantics.h"

#define N 9 /* 3 messages from each of 3 senders */

static void post(int *buf, MPI_Request *rq) {
    for (int i = 0; i < N; i++)
        MPI_Irecv(&buf[i], 1, MPI_INT, 1 + i % 3, 30 + i / 3, MPI_COMM_WORLD, &rq[i]);
}
static int expect_val(int i) { return (1 + i % 3) * 1000 + 30 + i / 3; }

int main(int argc, char **argv) {
    sem_init(&argc, &argv);
    if (sem_size != 4) { if (sem_rank == 0) fprintf(stderr, "needs 4 ranks\n"); MPI_Abort(MPI_COMM_WORLD, 2); }
    const char *phase[4] = { "waitany", "waitsome", "testall", "testany+testsome" };
    for (int ph = 0; ph < 4; ph++) {
        if (sem_rank > 0) {
            MPI_Barrier(MPI_COMM_WORLD);
            /* reverse tag order, so completion order differs from index order */
            for (int t = 32; t >= 30; t--) {
                int v = sem_rank * 1000 + t;
                MPI_Send(&v, 1, MPI_INT, 0, t, MPI_COMM_WORLD);
            }
            continue;
        }
        int buf[N], done[N] = { 0 }, ndone = 0;
        MPI_Request rq[N];
        MPI_Status sts[N];
        for (int i = 0; i < N; i++) buf[i] = -1;
        post(buf, rq);
        if (ph == 3) {
            /* nothing can have arrived yet (the senders wait in the barrier):
             * Testsome must say 0, whatever outcount held before */
            int out = MPI_UNDEFINED, ix[N], flag = 1, idx = -5;
            MPI_Testsome(N, rq, &out, ix, sts);
            T("nothing arrived: testsome outcount %d", out);
            EXPECT(out == 0, "testsome with active requests and none complete");
            MPI_Testany(N, rq, &idx, &flag, sts);
            T("nothing arrived: testany flag %d index %s", flag,
              idx == MPI_UNDEFINED ? "UNDEFINED" : "?");
            EXPECT(flag == 0 && idx == MPI_UNDEFINED, "testany with none complete");
            MPI_Testall(N, rq, &flag, sts);
            T("nothing arrived: testall flag %d", flag);
            EXPECT(flag == 0, "testall with none complete");
        }
        MPI_Barrier(MPI_COMM_WORLD);
        if (ph == 0) {
            for (;;) {
                int idx;
                MPI_Status st;
                MPI_Waitany(N, rq, &idx, &st);
                if (idx == MPI_UNDEFINED) break;
                EXPECT(!done[idx] && rq[idx] == MPI_REQUEST_NULL, "waitany idx %d", idx);
                EXPECT(st.MPI_SOURCE == 1 + idx % 3 && st.MPI_TAG == 30 + idx / 3, "status");
                done[idx]++; ndone++;
            }
        } else if (ph == 1) {
            int calls = 0;
            for (;;) {
                int out, idx[N];
                MPI_Waitsome(N, rq, &out, idx, sts);
                if (out == MPI_UNDEFINED) break;
                calls++;
                EXPECT(out >= 1, "waitsome outcount %d", out);
                for (int k = 0; k < out; k++) {
                    EXPECT(!done[idx[k]], "dup idx");
                    EXPECT(sts[k].MPI_SOURCE == 1 + idx[k] % 3, "status");
                    done[idx[k]]++; ndone++;
                }
            }
            EXPECT(calls >= 1 && calls <= N, "calls");
        } else if (ph == 2) {
            int flag = 0;
            while (!flag) MPI_Testall(N, rq, &flag, sts);
            for (int i = 0; i < N; i++) {
                EXPECT(rq[i] == MPI_REQUEST_NULL && sts[i].MPI_TAG == 30 + i / 3, "testall");
                done[i]++; ndone++;
            }
        } else {
            int flag = 0, idx, k = 0;
            while (ndone < N) {
                if (k++ % 2 == 0) {
                    MPI_Testany(N, rq, &idx, &flag, sts);
                    if (flag && idx != MPI_UNDEFINED) {
                        EXPECT(!done[idx], "testany dup");
                        done[idx]++; ndone++;
                    }
                } else {
                    /* outcount is an OUT argument: what it held before the
                     * call must not matter (here: MPI_UNDEFINED) */
                    int out = MPI_UNDEFINED, ix[N];
                    MPI_Testsome(N, rq, &out, ix, sts);
                    EXPECT(out != MPI_UNDEFINED, "testsome undefined early");
                    for (int j = 0; j < out && out != MPI_UNDEFINED; j++) {
                        EXPECT(!done[ix[j]], "testsome dup");
                        done[ix[j]]++; ndone++;
                    }
                }
            }
            int out;
            MPI_Testsome(N, rq, &out, (int[N]){ 0 }, sts);
            MPI_Testany(N, rq, &idx, &flag, sts);
            T("after all: testsome %s, testany idx %s flag %d",
              out == MPI_UNDEFINED ? "UNDEFINED" : "?", idx == MPI_UNDEFINED ? "UNDEFINED" : "?",
              flag);
        }
        int ok = 1;
        for (int i = 0; i < N; i++) ok &= done[i] == 1 && buf[i] == expect_val(i);
        EXPECT(ok, "%s values", phase[ph]);
        T("%s: %d completed, each once: %s", phase[ph], ndone, ok ? "yes" : "no");
    }
    return sem_finish("semantics_completion");
}
