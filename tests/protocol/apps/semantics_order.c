/* semantics_order: non-overtaking per (source, tag, communicator).
 * 3 ranks. Ranks 1 and 2 Isend 40 messages to rank 0 on MPI_COMM_WORLD with
 * tag i % 3 (every 10th is 80 KB, so eager and rendezvous mix), and 10
 * messages on a duplicate of MPI_COMM_WORLD first. Rank 0 receives rank 1's
 * tag-2 messages by exact (source, tag), then the rest of rank 1's by
 * MPI_ANY_TAG, then rank 2's by MPI_ANY_SOURCE, then the duplicate's. Each
 * list of sequence numbers must be increasing per (source, tag) and per
 * source on an ANY_TAG receive. */
#include "semantics.h"

#define NMSG 40
#define NDUP 10
#define BIG 20000

static int len_of(int i) { return i % 10 == 9 ? BIG : 2 + i % 4; }

int main(int argc, char **argv) {
    sem_init(&argc, &argv);
    if (sem_size != 3) { if (sem_rank == 0) fprintf(stderr, "needs 3 ranks\n"); MPI_Abort(MPI_COMM_WORLD, 2); }
    MPI_Comm dup;
    MPI_Comm_dup(MPI_COMM_WORLD, &dup);
    int *buf = calloc(BIG, sizeof(int));
    if (sem_rank > 0) {
        int *msgs[NMSG + NDUP];
        MPI_Request rq[NMSG + NDUP];
        for (int i = 0; i < NDUP; i++) {
            msgs[NMSG + i] = calloc(2, sizeof(int));
            msgs[NMSG + i][0] = sem_rank; msgs[NMSG + i][1] = 1000 + i;
            MPI_Isend(msgs[NMSG + i], 2, MPI_INT, 0, 0, dup, &rq[NMSG + i]);
        }
        for (int i = 0; i < NMSG; i++) {
            int n = len_of(i);
            msgs[i] = calloc((size_t)n, sizeof(int));
            msgs[i][0] = sem_rank; msgs[i][1] = i;
            for (int k = 2; k < n; k++) msgs[i][k] = i * 7 + k;
            MPI_Isend(msgs[i], n, MPI_INT, 0, i % 3, MPI_COMM_WORLD, &rq[i]);
        }
        MPI_Waitall(NMSG + NDUP, rq, MPI_STATUSES_IGNORE);
        T("sent %d on world, %d on dup", NMSG, NDUP);
        for (int i = 0; i < NMSG + NDUP; i++) free(msgs[i]);
    } else {
        char line[400];
        int pos, last;
        MPI_Status st;
        /* A: rank 1, tag 2 exactly */
        pos = snprintf(line, sizeof line, "A src=1 tag=2:");
        last = -1;
        for (int i = 2; i < NMSG; i += 3) {
            MPI_Recv(buf, BIG, MPI_INT, 1, 2, MPI_COMM_WORLD, &st);
            int cnt; MPI_Get_count(&st, MPI_INT, &cnt);
            EXPECT(buf[0] == 1 && st.MPI_SOURCE == 1 && st.MPI_TAG == 2, "A status");
            EXPECT(buf[1] > last, "A order %d after %d", buf[1], last);
            EXPECT(cnt == len_of(buf[1]), "A count %d", cnt);
            for (int k = 2; k < cnt; k++) EXPECT(buf[k] == buf[1] * 7 + k, "A payload");
            last = buf[1];
            pos += snprintf(line + pos, sizeof line - (size_t)pos, " %d", buf[1]);
        }
        T("%s", line);
        /* B: rank 1, any tag */
        pos = snprintf(line, sizeof line, "B src=1 tag=ANY:");
        last = -1;
        for (int i = 0; i < NMSG; i++) {
            if (i % 3 == 2) continue;
            MPI_Recv(buf, BIG, MPI_INT, 1, MPI_ANY_TAG, MPI_COMM_WORLD, &st);
            EXPECT(buf[0] == 1 && st.MPI_TAG == buf[1] % 3, "B tag");
            EXPECT(buf[1] > last, "B order %d after %d", buf[1], last);
            last = buf[1];
            pos += snprintf(line + pos, sizeof line - (size_t)pos, " %d/%d", buf[1], st.MPI_TAG);
        }
        T("%s", line);
        /* C: ANY_SOURCE (only rank 2 left on world), tag 1 first then ANY_TAG */
        int seen[NMSG] = { 0 };
        pos = snprintf(line, sizeof line, "C src=ANY tag=1:");
        last = -1;
        for (int i = 1; i < NMSG; i += 3) {
            MPI_Recv(buf, BIG, MPI_INT, MPI_ANY_SOURCE, 1, MPI_COMM_WORLD, &st);
            EXPECT(st.MPI_SOURCE == 2 && buf[0] == 2, "C source");
            EXPECT(buf[1] > last && buf[1] % 3 == 1, "C order");
            last = buf[1]; seen[buf[1]] = 1;
            pos += snprintf(line + pos, sizeof line - (size_t)pos, " %d", buf[1]);
        }
        T("%s", line);
        pos = snprintf(line, sizeof line, "C src=ANY tag=ANY:");
        last = -1;
        for (int i = 0; i < NMSG; i++) {
            if (i % 3 == 1) continue;
            MPI_Recv(buf, BIG, MPI_INT, MPI_ANY_SOURCE, MPI_ANY_TAG, MPI_COMM_WORLD, &st);
            EXPECT(st.MPI_SOURCE == 2 && !seen[buf[1]] && buf[1] > last, "C2 order");
            last = buf[1]; seen[buf[1]] = 1;
            pos += snprintf(line + pos, sizeof line - (size_t)pos, " %d", buf[1]);
        }
        T("%s", line);
        /* D: the duplicate communicator, any source: per-source order */
        int lastd[3] = { -1, -1, -1 }, nd[3] = { 0, 0, 0 };
        for (int i = 0; i < 2 * NDUP; i++) {
            MPI_Recv(buf, 2, MPI_INT, MPI_ANY_SOURCE, MPI_ANY_TAG, dup, &st);
            int s = st.MPI_SOURCE;
            EXPECT(s >= 1 && s <= 2 && buf[0] == s && st.MPI_TAG == 0, "D source");
            if (s < 1 || s > 2) continue;
            EXPECT(buf[1] > lastd[s], "D order");
            lastd[s] = buf[1]; nd[s]++;
        }
        T("D dup: from 1: %d (last %d), from 2: %d (last %d)", nd[1], lastd[1], nd[2], lastd[2]);
        int flag;
        MPI_Iprobe(MPI_ANY_SOURCE, MPI_ANY_TAG, MPI_COMM_WORLD, &flag, &st);
        T("nothing left on world: %s", flag ? "no" : "yes");
    }
    free(buf);
    MPI_Comm_free(&dup);
    return sem_finish("semantics_order");
}
