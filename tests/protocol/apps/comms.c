/* comms: communicators and derived datatypes made at run time.
 *
 * Made before the loop, on every run (so again after a restart, in the same
 * order, before tern_recover(), as docs/api.md requires):
 *   half  = MPI_Comm_split(WORLD, rank % 2, -rank)  (reverse key order)
 *   ring  = MPI_Cart_create(WORLD, 1-D periodic, reorder = 0)
 *   dup   = MPI_Comm_dup(WORLD)
 *   every = MPI_Type_vector(n/2, 1, 2, MPI_DOUBLE)   (every other element)
 *   rec   = MPI_Type_create_struct {long id; double val[3]}, resized to the
 *           C struct, committed
 * Made and freed inside the loop, every iteration (never alive at the
 * snapshot point): tmp = MPI_Comm_split(half, it % 2, rank) and
 * t3 = MPI_Type_contiguous(3, MPI_DOUBLE).
 *
 * Per iteration, after tern_snapshot():
 *   - receive (MPI_Recv with type `rec` on `dup`, from the left) the record
 *     that the left neighbour Isent BEFORE the snapshot: a message in flight
 *     at the cut, on a duplicated communicator, of a struct datatype;
 *   - MPI_Allreduce on `half`; MPI_Sendrecv with type `every` on `ring`
 *     (neighbours from MPI_Cart_shift); MPI_Bcast of one t3 on `tmp`;
 *   - update the state; Isend the next record to the right on `dup`.
 *
 * --size: doubles in the local vector (default 32, at least 2).
 * Protected: it, v, the record being sent, the record received, the request.
 */
#include <math.h>
#include <stddef.h>

#include "app_common.h"

struct rec {
    long id;
    double val[3];
};

int main(int argc, char **argv) {
    struct app_opts o = { .iters = 5000, .size = 32, .sleep_us = 0 };
    int rank, size;
    app_start(&argc, &argv, &o, &rank, &size);
    const int n = o.size < 2 ? 2 : (int)(o.size & ~1L);

    /* --- communicators and datatypes, made on every run ------------------ */
    MPI_Comm half, ring, dup;
    MPI_Comm_split(MPI_COMM_WORLD, rank % 2, -rank, &half);
    int dims[1] = { size }, periods[1] = { 1 };
    MPI_Cart_create(MPI_COMM_WORLD, 1, dims, periods, 0, &ring);
    MPI_Comm_dup(MPI_COMM_WORLD, &dup);
    int rl, rr_;
    MPI_Cart_shift(ring, 0, 1, &rl, &rr_);
    int hrank, hsize;
    MPI_Comm_rank(half, &hrank);
    MPI_Comm_size(half, &hsize);

    MPI_Datatype every, rec_t, rec_raw;
    MPI_Type_vector(n / 2, 1, 2, MPI_DOUBLE, &every);
    MPI_Type_commit(&every);
    int bl[2] = { 1, 3 };
    MPI_Aint disp[2] = { offsetof(struct rec, id), offsetof(struct rec, val) };
    MPI_Datatype types[2] = { MPI_LONG, MPI_DOUBLE };
    MPI_Type_create_struct(2, bl, disp, types, &rec_raw);
    MPI_Type_create_resized(rec_raw, 0, sizeof(struct rec), &rec_t);
    MPI_Type_commit(&rec_t);
    MPI_Type_free(&rec_raw);

    const int right = (rank + 1) % size, left = (rank + size - 1) % size;
    long it = 0;
    double *v = app_alloc(sizeof(double) * (size_t)n);
    double *w = app_alloc(sizeof(double) * (size_t)n);
    struct rec out = { 0, { 0, 0, 0 } }, in = { 0, { 0, 0, 0 } };
    MPI_Request sreq = MPI_REQUEST_NULL;

    APP_CHECK(tern_protect("it", &it, 1, MPI_LONG));
    APP_CHECK(tern_protect("v", v, n, MPI_DOUBLE));
    APP_CHECK(tern_protect("rec_out", &out, (int64_t)sizeof out, MPI_BYTE));
    APP_CHECK(tern_protect("rec_in", &in, (int64_t)sizeof in, MPI_BYTE));
    APP_PROTECT_REQS("req", &sreq, 1);

#define SEND_REC()                                                              \
    do {                                                                        \
        out.id = it * 1000 + rank;                                              \
        for (int k = 0; k < 3; k++) out.val[k] = v[k % n] + k;                  \
        MPI_Isend(&out, 1, rec_t, right, 7, dup, &sreq);                        \
    } while (0)

    int restarted = app_recover(&it, rank);
    if (!restarted) {
        for (int i = 0; i < n; i++) v[i] = cos((double)(rank * n + i));
        if (o.iters > 0) SEND_REC();
    }

    while (it < o.iters) {
        app_hooks(&o, it, restarted, rank);
        app_snapshot(it, rank); /* the cut: a record in flight on `dup` */
        app_sleep(o.sleep_us);

        MPI_Status st;
        MPI_Recv(&in, 1, rec_t, left, 7, dup, &st);
        int cnt = -1;
        MPI_Get_count(&st, rec_t, &cnt);
        if (cnt != 1 || in.id != it * 1000 + left) {
            fprintf(stderr, "comms rank %d it %ld: bad record id=%ld count=%d\n", rank, it,
                    in.id, cnt);
            MPI_Abort(MPI_COMM_WORLD, 4);
        }
        MPI_Wait(&sreq, MPI_STATUS_IGNORE);

        double hs = 0.0, mine = v[(int)(it % n)];
        MPI_Allreduce(&mine, &hs, 1, MPI_DOUBLE, MPI_SUM, half);

        memcpy(w, v, sizeof(double) * (size_t)n);
        MPI_Sendrecv(v, 1, every, rr_, 3, w, 1, every, rl, 3, ring, MPI_STATUS_IGNORE);

        MPI_Comm tmp;
        MPI_Datatype t3;
        MPI_Comm_split(half, (int)(it % 2), rank, &tmp);
        MPI_Type_contiguous(3, MPI_DOUBLE, &t3);
        MPI_Type_commit(&t3);
        double b3[3] = { v[0], v[1 % n], (double)hrank };
        MPI_Bcast(b3, 1, t3, 0, tmp);
        MPI_Type_free(&t3);
        MPI_Comm_free(&tmp);

        for (int i = 0; i < n; i++)
            v[i] = 0.5 * v[i] + 0.3 * w[i] + 0.1 * in.val[i % 3] + 0.05 * hs / hsize +
                   0.01 * b3[i % 3] + 1e-3 * sin((double)it);
        it++;
        if (it < o.iters) SEND_REC();
    }

    uint64_t h = fnv1a(FNV_INIT, v, sizeof(double) * (size_t)n);
    app_result(h, it, rank, size);
    MPI_Type_free(&every);
    MPI_Type_free(&rec_t);
    MPI_Comm_free(&dup);
    MPI_Comm_free(&ring);
    MPI_Comm_free(&half);
    MPI_Finalize();
    return 0;
}
