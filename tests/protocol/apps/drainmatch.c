/* drainmatch: MPI matching rules applied to messages that tern drained.
 *
 * 3 ranks. Before the snapshot points, ranks 1 and 2 MPI_Isend 30 messages
 * each to rank 0 on MPI_COMM_WORLD (tag i % 3; every 10th is 80 KB, so eager
 * and rendezvous mix) and 4 each on a duplicate communicator, and rank 0 has
 * posted one MPI_Irecv(source 1, tag 2) into protected memory. Nobody
 * receives before two tern_snapshot() calls. With --drain, rank 0 asks for a
 * checkpoint first, so every message is drained at the cut into the posted
 * receive or into tern's buffer; with --die as well, every rank exits after
 * the commit, and a run with TERN_RESTART resumes there.
 *
 * Then rank 0 receives everything with a fixed sequence of selective
 * operations: the pre-posted receive; Recv by (source, tag); Probe +
 * Get_count + Recv by ANY_TAG; Mprobe/Mrecv by ANY_SOURCE; Iprobe/Improbe +
 * Imrecv; Recv(ANY_SOURCE, ANY_TAG); the duplicate communicator by
 * ANY_SOURCE; a final Iprobe that must find nothing. MPI fixes what each of
 * these returns, so the transcript (rank 0's lines and a RESULT hash of them)
 * must be the same in all three runs: plain, drained, drained and restarted.
 *
 * usage: drainmatch [--drain] [--die]
 */
#include <stdarg.h>

#include "app_common.h"

#define NMSG 30
#define NDUP 4
#define BIG 20000 /* ints: 80 KB */

static int len_of(int i) { return i % 10 == 9 ? BIG : 2 + i % 4; }

static char tr[16384];
static size_t trlen;
static int failed;

static void line(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void line(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tr + trlen, sizeof tr - trlen - 2, fmt, ap);
    va_end(ap);
    if (n > 0) trlen += (size_t)n < sizeof tr - trlen - 2 ? (size_t)n : sizeof tr - trlen - 2;
    tr[trlen++] = '\n';
    tr[trlen] = '\0';
}
#define EXPECT(c, fmt, ...)                                                    \
    do {                                                                       \
        if (!(c)) { failed = 1; line("FAIL line %d: " fmt, __LINE__, ##__VA_ARGS__); } \
    } while (0)

/* check one received message's payload and status */
static void check_msg(const int *b, const MPI_Status *st, int src, const char *what) {
    int cnt = -1;
    MPI_Get_count(st, MPI_INT, &cnt);
    int seq = b[1];
    EXPECT(b[0] == src && st->MPI_SOURCE == src, "%s: source %d/%d want %d", what, b[0],
           st->MPI_SOURCE, src);
    EXPECT(seq >= 0 && seq < NMSG && st->MPI_TAG == seq % 3 && cnt == len_of(seq),
           "%s: seq %d tag %d count %d", what, seq, st->MPI_TAG, cnt);
    if (seq >= 0 && seq < NMSG)
        for (int k = 2; k < cnt; k += 97) EXPECT(b[k] == seq * 7 + k, "%s: payload", what);
}

int main(int argc, char **argv) {
    MPI_Init(&argc, &argv);
    int rank, size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    int drain = 0, die = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--drain")) drain = 1;
        else if (!strcmp(argv[i], "--die")) die = 1;
        else { fprintf(stderr, "usage: %s [--drain] [--die]\n", argv[0]); return 2; }
    }
    if (size != 3) {
        if (rank == 0) fprintf(stderr, "drainmatch needs 3 ranks\n");
        MPI_Abort(MPI_COMM_WORLD, 2);
    }
    MPI_Comm dup; /* made on every run, before tern_recover() */
    MPI_Comm_dup(MPI_COMM_WORLD, &dup);

    long stage = 0;
    int *sbuf = app_alloc(sizeof(int) * (size_t)NMSG * BIG); /* senders' messages */
    int dbuf[NDUP][2];
    int pre[BIG];                        /* rank 0's pre-posted receive */
    MPI_Request sreq[NMSG + NDUP], preq = MPI_REQUEST_NULL;
    for (int i = 0; i < NMSG + NDUP; i++) sreq[i] = MPI_REQUEST_NULL;
    memset(pre, 0, sizeof pre);
    memset(dbuf, 0, sizeof dbuf);

    APP_CHECK(tern_protect("stage", &stage, 1, MPI_LONG));
    APP_CHECK(tern_protect("sbuf", sbuf, (int64_t)NMSG * BIG, MPI_INT));
    APP_CHECK(tern_protect("dbuf", dbuf, 2 * NDUP, MPI_INT));
    APP_CHECK(tern_protect("pre", pre, BIG, MPI_INT));
    APP_PROTECT_REQS("sreq", sreq, NMSG + NDUP);
    APP_PROTECT_REQS("preq", &preq, 1);

    int restarted = app_recover(&stage, rank);
    if (restarted) {
        /* the sends and the pre-posted receive come back with the state */
    } else if (rank > 0) {
        for (int i = 0; i < NDUP; i++) {
            dbuf[i][0] = rank;
            dbuf[i][1] = 1000 + i;
            MPI_Isend(dbuf[i], 2, MPI_INT, 0, 0, dup, &sreq[NMSG + i]);
        }
        for (int i = 0; i < NMSG; i++) {
            int *m = sbuf + (size_t)i * BIG, n = len_of(i);
            m[0] = rank;
            m[1] = i;
            for (int k = 2; k < n; k++) m[k] = i * 7 + k;
            MPI_Isend(m, n, MPI_INT, 0, i % 3, MPI_COMM_WORLD, &sreq[i]);
        }
    } else {
        MPI_Irecv(pre, BIG, MPI_INT, 1, 2, MPI_COMM_WORLD, &preq);
    }

    int committed = 0;
    while (stage < 2) {
        if (!restarted && drain && stage == 0 && rank == 0) APP_CHECK(tern_request_checkpoint());
        int rc = tern_snapshot();
        if (rc == 1) committed = 1;
        if (rc < 0) {
            if (rank == 0) fprintf(stderr, "drainmatch: tern_snapshot failed\n");
            MPI_Abort(MPI_COMM_WORLD, 3);
        }
        stage++;
    }
    if (drain && !restarted && rank == 0) {
        /* a checkpoint was asked for: it must have happened */
        if (!committed) {
            fprintf(stderr, "drainmatch: no checkpoint was committed\n");
            MPI_Abort(MPI_COMM_WORLD, 3);
        }
    }
    if (die && !restarted) {
        fflush(stdout);
        _exit(42);
    }

    if (rank > 0) {
        MPI_Waitall(NMSG + NDUP, sreq, MPI_STATUSES_IGNORE);
    } else {
        int *b = app_alloc(sizeof(int) * BIG);
        MPI_Status st;
        char l[512];
        int pos, last, cnt;

        /* A: the pre-posted receive (source 1, tag 2): rank 1's seq 2 */
        MPI_Wait(&preq, &st);
        check_msg(pre, &st, 1, "A");
        line("A pre-posted (1, 2): seq %d", pre[1]);
        EXPECT(pre[1] == 2, "A: seq %d", pre[1]);

        /* B: (source 1, tag 2): the rest, in order */
        pos = snprintf(l, sizeof l, "B (1, 2):");
        last = 2;
        for (int i = 5; i < NMSG; i += 3) {
            MPI_Recv(b, BIG, MPI_INT, 1, 2, MPI_COMM_WORLD, &st);
            check_msg(b, &st, 1, "B");
            EXPECT(b[1] > last, "B order %d after %d", b[1], last);
            last = b[1];
            pos += snprintf(l + pos, sizeof l - (size_t)pos, " %d", b[1]);
        }
        line("%s", l);

        /* C: Probe(1, ANY_TAG) + Get_count + Recv of exactly that */
        pos = snprintf(l, sizeof l, "C probe (1, ANY):");
        last = -1;
        for (int i = 0; i < NMSG; i++) {
            if (i % 3 == 2) continue;
            MPI_Probe(1, MPI_ANY_TAG, MPI_COMM_WORLD, &st);
            MPI_Get_count(&st, MPI_INT, &cnt);
            int tag = st.MPI_TAG;
            MPI_Recv(b, cnt, MPI_INT, 1, tag, MPI_COMM_WORLD, &st);
            check_msg(b, &st, 1, "C");
            EXPECT(b[1] > last && cnt == len_of(b[1]), "C order %d after %d", b[1], last);
            last = b[1];
            pos += snprintf(l + pos, sizeof l - (size_t)pos, " %d/%d", b[1], tag);
        }
        line("%s", l);

        /* D: Mprobe(ANY_SOURCE, tag 1) + Mrecv: only rank 2's are left */
        pos = snprintf(l, sizeof l, "D mprobe (ANY, 1):");
        last = -1;
        for (int i = 1; i < NMSG; i += 3) {
            MPI_Message msg;
            MPI_Mprobe(MPI_ANY_SOURCE, 1, MPI_COMM_WORLD, &msg, &st);
            MPI_Get_count(&st, MPI_INT, &cnt);
            MPI_Mrecv(b, cnt, MPI_INT, &msg, &st);
            check_msg(b, &st, 2, "D");
            EXPECT(b[1] > last && msg == MPI_MESSAGE_NULL, "D order %d after %d", b[1], last);
            last = b[1];
            pos += snprintf(l + pos, sizeof l - (size_t)pos, " %d", b[1]);
        }
        line("%s", l);

        /* E: Improbe(ANY_SOURCE, tag 0) polled + Imrecv, then Iprobe polled +
         * Recv(ANY_SOURCE, ANY_TAG) for rank 2's tag-2 messages */
        pos = snprintf(l, sizeof l, "E improbe (ANY, 0):");
        last = -1;
        for (int i = 0; i < NMSG; i += 3) {
            MPI_Message msg;
            int flag = 0;
            while (!flag) MPI_Improbe(MPI_ANY_SOURCE, 0, MPI_COMM_WORLD, &flag, &msg, &st);
            MPI_Get_count(&st, MPI_INT, &cnt);
            MPI_Request r;
            MPI_Imrecv(b, cnt, MPI_INT, &msg, &r);
            MPI_Wait(&r, &st);
            check_msg(b, &st, 2, "E");
            EXPECT(b[1] > last, "E order %d after %d", b[1], last);
            last = b[1];
            pos += snprintf(l + pos, sizeof l - (size_t)pos, " %d", b[1]);
        }
        line("%s", l);
        pos = snprintf(l, sizeof l, "E iprobe + recv (ANY, ANY):");
        last = -1;
        for (int i = 2; i < NMSG; i += 3) {
            int flag = 0;
            while (!flag) MPI_Iprobe(MPI_ANY_SOURCE, MPI_ANY_TAG, MPI_COMM_WORLD, &flag, &st);
            EXPECT(st.MPI_SOURCE == 2 && st.MPI_TAG == 2, "E iprobe %d/%d", st.MPI_SOURCE,
                   st.MPI_TAG);
            MPI_Recv(b, BIG, MPI_INT, MPI_ANY_SOURCE, MPI_ANY_TAG, MPI_COMM_WORLD, &st);
            check_msg(b, &st, 2, "E2");
            EXPECT(b[1] > last, "E2 order %d after %d", b[1], last);
            last = b[1];
            pos += snprintf(l + pos, sizeof l - (size_t)pos, " %d", b[1]);
        }
        line("%s", l);

        /* F: the duplicate communicator, ANY_SOURCE: per-source order */
        int lastd[3] = { -1, -1, -1 }, nd[3] = { 0, 0, 0 };
        for (int i = 0; i < 2 * NDUP; i++) {
            int d[2] = { -1, -1 };
            MPI_Recv(d, 2, MPI_INT, MPI_ANY_SOURCE, MPI_ANY_TAG, dup, &st);
            int s = st.MPI_SOURCE;
            EXPECT(s >= 1 && s <= 2 && d[0] == s && st.MPI_TAG == 0, "F source %d", s);
            if (s < 1 || s > 2) continue;
            EXPECT(d[1] == 1000 + nd[s], "F order %d", d[1]);
            lastd[s] = d[1];
            nd[s]++;
        }
        line("F dup: from 1: %d (last %d), from 2: %d (last %d)", nd[1], lastd[1], nd[2],
             lastd[2]);

        /* G: nothing left */
        int flag = 1;
        MPI_Iprobe(MPI_ANY_SOURCE, MPI_ANY_TAG, MPI_COMM_WORLD, &flag, &st);
        int flag2 = 1;
        MPI_Iprobe(MPI_ANY_SOURCE, MPI_ANY_TAG, dup, &flag2, &st);
        line("G left over: world %d, dup %d", flag, flag2);
        EXPECT(!flag && !flag2, "G left over");

        fputs(tr, stdout);
        printf("RESULT %016" PRIx64 "\n", fnv1a(FNV_INIT, tr, trlen));
        fflush(stdout);
        free(b);
    }
    MPI_Barrier(MPI_COMM_WORLD);
    MPI_Comm_free(&dup);
    free(sbuf);
    MPI_Finalize();
    return failed ? 1 : 0;
}
