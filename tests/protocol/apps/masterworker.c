/* masterworker: dynamic task farm with MPI_ANY_SOURCE / MPI_ANY_TAG.
 *
 * Rank 0 is the master, ranks 1.. are workers. Each iteration is a round of
 * --size tasks (default 24). A task (id, param) asks for a short numeric sum;
 * the master hands tasks out one at a time to whichever worker answered last,
 * receiving with MPI_ANY_SOURCE and MPI_ANY_TAG (the result's tag is
 * 100 + id % 8). Results are stored by task id, so the answer does not depend
 * on arrival order. After a round the master sends DONE to every worker and
 * folds the round's results, in id order, into the state that gives the next
 * round's param.
 *
 * The first task of the next round for every worker is MPI_Isend BEFORE
 * tern_snapshot() and received AFTER it (in flight at the cut); the workers
 * find every message with MPI_Probe(0, MPI_ANY_TAG), size it with
 * MPI_Get_count, then receive it. With --prepost the master also posts its
 * first result receive, MPI_Irecv(MPI_ANY_SOURCE, MPI_ANY_TAG), before the
 * snapshot (a pending wildcard receive across the cut). With one rank the
 * master does the tasks itself.
 *
 * Protected: it (round), acc, hist (hash of all results so far), the results
 * of the current round, the first-task buffers and their requests, the
 * pre-posted receive's buffer and request.
 */
#include <math.h>

#include "app_common.h"

enum { TAG_TASK = 1, TAG_DONE = 2, TAG_RES = 100 };

static double work(double id, double param) {
    double s = 0.0;
    for (int k = 1; k <= 2000; k++) s += sin(param * k + id) / k;
    return s;
}

int main(int argc, char **argv) {
    struct app_opts o = { .iters = 1500, .size = 24, .sleep_us = 0 };
    int rank, size;
    app_start(&argc, &argv, &o, &rank, &size);
    const int ntask = o.size < 1 ? 1 : (int)o.size;
    const int nw = size - 1;

    long it = 0;
    double acc = 0.5;
    uint64_t hist = FNV_INIT;
    double *res = app_alloc(sizeof(double) * (size_t)ntask);
    double *first = app_alloc(sizeof(double) * 2 * (size_t)(nw > 0 ? nw : 1));
    MPI_Request *freq = app_alloc(sizeof(MPI_Request) * (size_t)(nw > 0 ? nw : 1));
    int ninit = 0; /* first tasks sent for the coming round */
    double pre[2] = { 0, 0 };              /* --prepost: first result */
    MPI_Request preq = MPI_REQUEST_NULL;
    for (int w = 0; w < nw; w++) freq[w] = MPI_REQUEST_NULL;

    APP_CHECK(tern_protect("it", &it, 1, MPI_LONG));
    APP_CHECK(tern_protect("acc", &acc, 1, MPI_DOUBLE));
    APP_CHECK(tern_protect("hist", &hist, 1, MPI_UINT64_T));
    APP_CHECK(tern_protect("ninit", &ninit, 1, MPI_INT));
    APP_CHECK(tern_protect("results", res, ntask, MPI_DOUBLE));
    if (nw > 0) {
        APP_CHECK(tern_protect("first_tasks", first, 2 * (int64_t)nw, MPI_DOUBLE));
        APP_PROTECT_REQS("first_reqs", freq, nw);
        APP_CHECK(tern_protect("pre_result", pre, 2, MPI_DOUBLE));
        APP_PROTECT_REQS("pre_req", &preq, 1);
    }

    /* Master: Isend the first task of the coming round to each worker. */
#define OPEN_ROUND()                                                             \
    do {                                                                         \
        ninit = 0;                                                               \
        for (int w = 0; w < nw && w < ntask; w++) {                              \
            first[2 * w] = (double)w;                                            \
            first[2 * w + 1] = acc;                                              \
            MPI_Isend(&first[2 * w], 2, MPI_DOUBLE, w + 1, TAG_TASK, MPI_COMM_WORLD, \
                      &freq[w]);                                                 \
            ninit++;                                                             \
        }                                                                        \
        if (o.prepost && ninit > 0)                                              \
            MPI_Irecv(pre, 2, MPI_DOUBLE, MPI_ANY_SOURCE, MPI_ANY_TAG,           \
                      MPI_COMM_WORLD, &preq);                                    \
    } while (0)

    int restarted = app_recover(&it, rank);
    if (!restarted && rank == 0 && o.iters > 0) {
        OPEN_ROUND();
    }

    while (it < o.iters) {
        app_hooks(&o, it, restarted, rank);
        app_snapshot(it, rank); /* the cut: first tasks in flight */
        app_sleep(o.sleep_us);

        if (rank == 0) {
            for (int t = 0; t < ntask; t++) res[t] = NAN;
            if (nw == 0) {
                for (int t = 0; t < ntask; t++) res[t] = work(t, acc);
            } else {
                int next = ninit, outstanding = ninit, got = 0;
                int first_done = 0;
                while (outstanding > 0) {
                    double msg[2];
                    MPI_Status st;
                    if (o.prepost && !first_done) {
                        MPI_Wait(&preq, &st);
                        msg[0] = pre[0];
                        msg[1] = pre[1];
                        first_done = 1;
                    } else {
                        MPI_Recv(msg, 2, MPI_DOUBLE, MPI_ANY_SOURCE, MPI_ANY_TAG, MPI_COMM_WORLD, &st);
                    }
                    int id = (int)msg[0];
                    if (id < 0 || id >= ntask || st.MPI_TAG != TAG_RES + id % 8 ||
                        st.MPI_SOURCE < 1 || !isnan(res[id])) {
                        fprintf(stderr, "master: bad result id=%d tag=%d src=%d\n", id,
                                st.MPI_TAG, st.MPI_SOURCE);
                        MPI_Abort(MPI_COMM_WORLD, 4);
                    }
                    res[id] = msg[1];
                    got++;
                    outstanding--;
                    if (next < ntask) {
                        double t[2] = { (double)next, acc };
                        MPI_Send(t, 2, MPI_DOUBLE, st.MPI_SOURCE, TAG_TASK, MPI_COMM_WORLD);
                        next++;
                        outstanding++;
                    }
                }
                MPI_Waitall(nw, freq, MPI_STATUSES_IGNORE);
                for (int w = 1; w <= nw; w++)
                    MPI_Send(NULL, 0, MPI_DOUBLE, w, TAG_DONE, MPI_COMM_WORLD);
                if (got != ntask) MPI_Abort(MPI_COMM_WORLD, 4);
            }
            double s = 0.0;
            for (int t = 0; t < ntask; t++) s += res[t];
            hist = fnv1a(hist, res, sizeof(double) * (size_t)ntask);
            acc = 0.5 + 0.25 * sin(acc + s + 0.37 * (double)it); /* never settles */
        } else {
            for (;;) {
                double t[2];
                MPI_Status st, pst;
                int cnt = -1;
                MPI_Probe(0, MPI_ANY_TAG, MPI_COMM_WORLD, &pst);
                MPI_Get_count(&pst, MPI_DOUBLE, &cnt);
                if (cnt != (pst.MPI_TAG == TAG_DONE ? 0 : 2)) {
                    fprintf(stderr, "worker %d: probed tag %d count %d\n", rank, pst.MPI_TAG, cnt);
                    MPI_Abort(MPI_COMM_WORLD, 4);
                }
                MPI_Recv(t, 2, MPI_DOUBLE, 0, pst.MPI_TAG, MPI_COMM_WORLD, &st);
                if (st.MPI_TAG == TAG_DONE) break;
                double r[2] = { t[0], work(t[0], t[1]) };
                int id = (int)t[0];
                MPI_Send(r, 2, MPI_DOUBLE, 0, TAG_RES + id % 8, MPI_COMM_WORLD);
            }
        }
        it++;
        if (rank == 0 && it < o.iters) OPEN_ROUND();
    }

    uint64_t h = rank == 0 ? fnv1a(hist, &acc, sizeof acc) : 0;
    app_result(h, it, rank, size);
    MPI_Finalize();
    return 0;
}
