/* drained.c: drained messages are delivered to every kind of receive and
 * probe, MPI_ANY_SOURCE / MPI_ANY_TAG honoured, each exactly once, in MPI's
 * order, in a continuing run and after a restart.
 *
 * Every iteration each rank r > 0 posts K = 8 MPI_Isend to rank 0 BEFORE
 * tern_snapshot() (tags 100 + j % 3, sizes alternating 2 doubles and 20000
 * doubles = eager and rendezvous) and waits for them after it. Rank 0 receives
 * them all AFTER the snapshot, so at a checkpoint they are all drained into
 * tern's buffer; it uses, in turn: MPI_Probe + MPI_Recv, MPI_Mprobe (tag 101)
 * + MPI_Mrecv, MPI_Iprobe loop + MPI_Recv, MPI_Irecv + MPI_Wait, a persistent
 * MPI_Recv_init + MPI_Start + MPI_Wait, MPI_Improbe loop + MPI_Imrecv +
 * MPI_Wait, and MPI_Recv(ANY, ANY) for the rest. It checks the status of
 * each (source, tag, count), that (source, tag) order is kept, and that every
 * message comes exactly once. Options: app_common.h's.
 */
#include "app_common.h"

#define K 8
#define BIG 20000

static long msg_len(int j) { return (j % 2) ? BIG : 2; }

int main(int argc, char **argv)
{
    struct app_opts o = { .iters = 1000, .size = 0, .sleep_us = 0 };
    int rank, size;
    app_start(&argc, &argv, &o, &rank, &size);

    long it = 0;
    uint64_t state = 0;
    double *sb = app_alloc(sizeof(double) * K * BIG);
    double *rb = app_alloc(sizeof(double) * BIG);
    MPI_Request req[K];
    for (int j = 0; j < K; j++) req[j] = MPI_REQUEST_NULL;
    APP_CHECK(tern_protect("it", &it, 1, MPI_LONG));
    APP_CHECK(tern_protect("state", &state, 1, MPI_UINT64_T));
    APP_CHECK(tern_protect("sbuf", sb, K * BIG, MPI_DOUBLE));
    APP_PROTECT_REQS("reqs", req, K);
    /* persistent receive, made on every run (not kept across a restart) */
    MPI_Request preq = MPI_REQUEST_NULL;
    if (rank == 0)
        MPI_Recv_init(rb, BIG, MPI_DOUBLE, MPI_ANY_SOURCE, MPI_ANY_TAG, MPI_COMM_WORLD, &preq);

#define POST()                                                                           \
    do {                                                                                 \
        if (rank > 0)                                                                    \
            for (int j = 0; j < K; j++) {                                                \
                double *p = sb + (size_t)j * BIG;                                        \
                for (long i = 0; i < msg_len(j); i++) p[i] = rank * 1000.0 + j + (double)((it + i) % 13); \
                MPI_Isend(p, (int)msg_len(j), MPI_DOUBLE, 0, 100 + j % 3, MPI_COMM_WORLD, &req[j]); \
            }                                                                            \
    } while (0)

    int restarted = app_recover(&it, rank);
    if (!restarted && o.iters > 0) {
        POST();
    }
    int nsrc = size - 1;
    int *seen = app_alloc(sizeof(int) * (size_t)size * K);
    int *lastj = app_alloc(sizeof(int) * (size_t)size * 3);
    while (it < o.iters) {
        app_hooks(&o, it, restarted, rank);
        app_snapshot(it, rank);
        app_sleep(o.sleep_us);
        if (rank == 0) {
            memset(seen, 0, sizeof(int) * (size_t)size * K);
            for (int i = 0; i < size * 3; i++) lastj[i] = -1;
            for (int m = 0; m < nsrc * K; m++) {
                MPI_Status st;
                int way = m % 7, flag = 0;
                if (way == 1) {   /* matched probe on one tag; fall back if none left */
                    MPI_Message mh;
                    MPI_Improbe(MPI_ANY_SOURCE, 101, MPI_COMM_WORLD, &flag, &mh, &st);
                    if (flag) MPI_Mrecv(rb, BIG, MPI_DOUBLE, &mh, &st);
                    else way = 6;
                }
                if (way == 0) {
                    MPI_Probe(MPI_ANY_SOURCE, MPI_ANY_TAG, MPI_COMM_WORLD, &st);
                    int c;
                    MPI_Get_count(&st, MPI_DOUBLE, &c);
                    MPI_Recv(rb, c, MPI_DOUBLE, st.MPI_SOURCE, st.MPI_TAG, MPI_COMM_WORLD, &st);
                } else if (way == 2) {
                    while (!flag) MPI_Iprobe(MPI_ANY_SOURCE, MPI_ANY_TAG, MPI_COMM_WORLD, &flag, &st);
                    MPI_Recv(rb, BIG, MPI_DOUBLE, st.MPI_SOURCE, st.MPI_TAG, MPI_COMM_WORLD, &st);
                } else if (way == 3) {
                    MPI_Request r;
                    MPI_Irecv(rb, BIG, MPI_DOUBLE, MPI_ANY_SOURCE, MPI_ANY_TAG, MPI_COMM_WORLD, &r);
                    MPI_Wait(&r, &st);
                } else if (way == 4) {
                    MPI_Start(&preq);
                    MPI_Wait(&preq, &st);
                } else if (way == 5) {
                    MPI_Message mh;
                    MPI_Request r;
                    while (!flag) MPI_Improbe(MPI_ANY_SOURCE, MPI_ANY_TAG, MPI_COMM_WORLD, &flag, &mh, &st);
                    MPI_Imrecv(rb, BIG, MPI_DOUBLE, &mh, &r);
                    MPI_Wait(&r, &st);
                } else if (way == 6) {
                    MPI_Recv(rb, BIG, MPI_DOUBLE, MPI_ANY_SOURCE, MPI_ANY_TAG, MPI_COMM_WORLD, &st);
                }
                int c = -1, s = st.MPI_SOURCE, t = st.MPI_TAG;
                MPI_Get_count(&st, MPI_DOUBLE, &c);
                int j = (int)(rb[0] - s * 1000.0 - (double)(it % 13) + 0.5);
                if (s < 1 || s >= size || t < 100 || t > 102 || j < 0 || j >= K || t != 100 + j % 3 ||
                    c != msg_len(j) || seen[s * K + j]++ || j <= lastj[s * 3 + t - 100]) {
                    fprintf(stderr, "drained it %ld msg %d way %d: bad src=%d tag=%d count=%d j=%d rb0=%g seen=%d last=%d\n",
                            it, m, way, s, t, c, j, rb[0], (s >= 0 && s < size && j >= 0 && j < K) ? seen[s * K + j] : -9, (s >= 0 && s < size && t >= 100 && t <= 102) ? lastj[s * 3 + t - 100] : -9);
                    MPI_Abort(MPI_COMM_WORLD, 5);
                }
                lastj[s * 3 + t - 100] = j;
                uint64_t v = 0;
                for (int i = 0; i < c; i++) v += (uint64_t)(rb[i] * 7.0) * (uint64_t)(i + 1);
                state += v * (uint64_t)(s + 1) ^ (uint64_t)it;   /* order-independent */
            }
        }
        MPI_Waitall(K, req, MPI_STATUSES_IGNORE);
        MPI_Barrier(MPI_COMM_WORLD);   /* next round's sends only after this round's receives */
        it++;
        if (it < o.iters) POST();
    }
    if (rank == 0) MPI_Request_free(&preq);
    app_result(fnv1a(FNV_INIT, &state, sizeof state), it, rank, size);
    MPI_Finalize();
    return 0;
}
