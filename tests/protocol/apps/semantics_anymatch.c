/* semantics_anymatch: MPI_ANY_SOURCE and MPI_ANY_TAG matching.
 * 4 ranks.
 *  1. Ranks 1..3 each send 12 messages {src, seq} to rank 0 with tag
 *     10 + seq % 4. Rank 0 receives all 36 with (ANY_SOURCE, ANY_TAG): the
 *     status must agree with the payload, each source's messages must come in
 *     order, and every message exactly once. Printed: counts per source/tag.
 *  2. Posting order decides matching: rank 0 posts Irecv(ANY_SOURCE, tag 5)
 *     then Irecv(1, tag 5) then Irecv(ANY_SOURCE, ANY_TAG); after a barrier
 *     rank 1 sends "first", "second", "third" with tag 5. They must land in
 *     posting order.
 *  3. A receive of a specific tag skips earlier messages of other tags from
 *     the same source, which are then received by ANY_TAG in order. */
#include "semantics.h"

#define PER 12

int main(int argc, char **argv) {
    sem_init(&argc, &argv);
    if (sem_size != 4) { if (sem_rank == 0) fprintf(stderr, "needs 4 ranks\n"); MPI_Abort(MPI_COMM_WORLD, 2); }
    MPI_Status st;
    /* 1 */
    if (sem_rank > 0) {
        for (int i = 0; i < PER; i++) {
            int m[2] = { sem_rank, i };
            MPI_Send(m, 2, MPI_INT, 0, 10 + i % 4, MPI_COMM_WORLD);
        }
    } else {
        int last[4] = { -1, -1, -1, -1 }, cnt[4][4] = { { 0 } };
        for (int i = 0; i < 3 * PER; i++) {
            int m[2] = { -1, -1 };
            MPI_Recv(m, 2, MPI_INT, MPI_ANY_SOURCE, MPI_ANY_TAG, MPI_COMM_WORLD, &st);
            int s = st.MPI_SOURCE;
            EXPECT(s >= 1 && s <= 3 && m[0] == s, "source %d payload %d", s, m[0]);
            EXPECT(st.MPI_TAG == 10 + m[1] % 4, "tag %d seq %d", st.MPI_TAG, m[1]);
            if (s < 1 || s > 3) continue;
            EXPECT(m[1] == last[s] + 1, "order from %d: %d after %d", s, m[1], last[s]);
            last[s] = m[1];
            cnt[s][(st.MPI_TAG - 10) & 3]++;
        }
        for (int s = 1; s <= 3; s++)
            T("1 from %d: tags 10..13 x %d %d %d %d, last seq %d", s, cnt[s][0], cnt[s][1],
              cnt[s][2], cnt[s][3], last[s]);
    }
    /* 2 */
    char b[3][16];
    memset(b, 0, sizeof b);
    MPI_Request rq[3];
    if (sem_rank == 0) {
        MPI_Irecv(b[0], 16, MPI_CHAR, MPI_ANY_SOURCE, 5, MPI_COMM_WORLD, &rq[0]);
        MPI_Irecv(b[1], 16, MPI_CHAR, 1, 5, MPI_COMM_WORLD, &rq[1]);
        MPI_Irecv(b[2], 16, MPI_CHAR, MPI_ANY_SOURCE, MPI_ANY_TAG, MPI_COMM_WORLD, &rq[2]);
    }
    MPI_Barrier(MPI_COMM_WORLD);
    if (sem_rank == 1) {
        const char *w[3] = { "first", "second", "third" };
        for (int i = 0; i < 3; i++)
            MPI_Send(w[i], (int)strlen(w[i]) + 1, MPI_CHAR, 0, 5, MPI_COMM_WORLD);
    }
    if (sem_rank == 0) {
        MPI_Status sts[3];
        MPI_Waitall(3, rq, sts);
        T("2 posted order: [%s] [%s] [%s] sources %d %d %d tags %d %d %d", b[0], b[1], b[2],
          sts[0].MPI_SOURCE, sts[1].MPI_SOURCE, sts[2].MPI_SOURCE, sts[0].MPI_TAG,
          sts[1].MPI_TAG, sts[2].MPI_TAG);
        EXPECT(!strcmp(b[0], "first") && !strcmp(b[1], "second") && !strcmp(b[2], "third"),
               "posting order");
    }
    /* 3 */
    if (sem_rank == 2) {
        for (int i = 0; i < 6; i++) MPI_Send(&i, 1, MPI_INT, 3, i < 5 ? 20 : 21, MPI_COMM_WORLD);
    }
    if (sem_rank == 3) {
        int v = -1;
        MPI_Recv(&v, 1, MPI_INT, 2, 21, MPI_COMM_WORLD, &st);
        T("3 tag 21 first: %d", v);
        EXPECT(v == 5, "skip to tag 21");
        char line[128];
        int pos = snprintf(line, sizeof line, "3 then ANY_TAG:");
        for (int i = 0; i < 5; i++) {
            MPI_Recv(&v, 1, MPI_INT, MPI_ANY_SOURCE, MPI_ANY_TAG, MPI_COMM_WORLD, &st);
            EXPECT(v == i && st.MPI_TAG == 20 && st.MPI_SOURCE == 2, "ANY_TAG order");
            pos += snprintf(line + pos, sizeof line - (size_t)pos, " %d/%d", v, st.MPI_TAG);
        }
        T("%s", line);
    }
    return sem_finish("semantics_anymatch");
}
