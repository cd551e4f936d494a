/* keptcomm.c: communicators made inside the time loop, kept in protected
 * memory and used on after a restart that does not make them again: tern
 * rebuilds them from the checkpoint's communicator log (docs/api.md,
 * "Handles"). Needs an even number of ranks (4 in the tests).
 *
 * Made on every run, before tern_recover():   base = MPI_Comm_dup(WORLD)
 * Made once, at iteration 1 (while the kept handles are still
 * MPI_COMM_NULL), so a run restarted from a later checkpoint never makes them:
 *   tmp   = MPI_Comm_split(WORLD, 0, rank), freed at once (a hole in the ordinals)
 *   half  = MPI_Comm_split(WORLD, rank % 2, rank)
 *   cart  = MPI_Cart_create(WORLD, 2-D from MPI_Dims_create, periodic, reorder = 1)
 *   cdup  = MPI_Comm_dup(cart)                       (keeps the topology)
 *   inter = MPI_Intercomm_create(half, 0, WORLD, other half's leader, 7)
 *   dg    = MPI_Dist_graph_create_adjacent(WORLD, in from the left, out to
 *           the right, weights)
 *   gr    = MPI_Graph_create(WORLD, ring, reorder = 0)
 * Every iteration:
 *   before tern_snapshot() (at the end of the previous iteration): an Isend
 *     on half to the next rank of the half (received only after the snapshot:
 *     in flight at the cut, so drained and, after a restart, delivered on the
 *     rebuilt communicator), and a halo Irecv + Isend on cart along dimension
 *     0 (MPI_Cart_shift), pending across the snapshot, buffers protected;
 *   after it: MPI_Recv of the half message, Waitall, MPI_Allreduce on half,
 *     MPI_Sendrecv along dimension 1 of cdup, MPI_Sendrecv over inter with
 *     the same rank of the other half, MPI_Neighbor_allgather on dg and gr,
 *     MPI_Allreduce on a dup of half made and freed right there;
 *     the state (4 integers per rank) mixes what arrived.
 * With KEPT_MISMATCH=1 a restarted run makes, before tern_recover(),
 * MPI_Comm_split(WORLD, rank < size / 2, rank) twice: the second takes the
 * ordinal of half with other members, so the drained message on half cannot
 * be restored and tern_recover() must fail with one line naming half. With
 * KEPT_PARTIAL=1 only rank 0 makes two communicators there: half would be
 * rebuilt by its other member alone, which tern must refuse, not hang on.
 * Protected: it, the state, the kept handles, the requests, the halo buffers. */
#include "app_common.h"

struct kept {
    MPI_Comm half, cart, cdup, inter, dg, gr;
};

static uint64_t mix(uint64_t h, uint64_t v)
{
    return (h ^ v) * 6364136223846793005ULL + 1442695040888963407ULL;
}

int main(int argc, char **argv)
{
    struct app_opts o = { .iters = 1000, .size = 0, .sleep_us = 0 };
    int rank, size;
    app_start(&argc, &argv, &o, &rank, &size);
    if (size < 2 || size % 2) {
        if (rank == 0) fprintf(stderr, "keptcomm needs an even number of ranks\n");
        MPI_Abort(MPI_COMM_WORLD, 2);
    }
    const char *mm = getenv("KEPT_MISMATCH");

    MPI_Comm base;
    MPI_Comm_dup(MPI_COMM_WORLD, &base);

    long it = 0;
    uint64_t s[4];
    uint64_t halo[2] = { 0, 0 }, hsend = 0;   /* halo[0] in, halo[1] out */
    struct kept k = { MPI_COMM_NULL, MPI_COMM_NULL, MPI_COMM_NULL, MPI_COMM_NULL, MPI_COMM_NULL,
                      MPI_COMM_NULL };
    MPI_Request req[3] = { MPI_REQUEST_NULL, MPI_REQUEST_NULL, MPI_REQUEST_NULL };
    APP_CHECK(tern_protect("it", &it, 1, MPI_LONG));
    APP_CHECK(tern_protect("s", s, 4, MPI_UINT64_T));
    APP_CHECK(tern_protect("halo", halo, 2, MPI_UINT64_T));
    APP_CHECK(tern_protect("hsend", &hsend, 1, MPI_UINT64_T));
    APP_CHECK(tern_protect("kept", &k, (int64_t)sizeof k, MPI_BYTE));
    APP_PROTECT_REQS("reqs", req, 3);

#define POST()                                                                               \
    do {                                                                                     \
        int hr_, hs_, src_, dst_;                                                            \
        MPI_Comm_rank(k.half, &hr_);                                                         \
        MPI_Comm_size(k.half, &hs_);                                                         \
        hsend = s[0] + (uint64_t)it;                                                         \
        MPI_Isend(&hsend, 1, MPI_UINT64_T, (hr_ + 1) % hs_, 5, k.half, &req[0]);             \
        MPI_Cart_shift(k.cart, 0, 1, &src_, &dst_);                                          \
        halo[1] = s[1] ^ (uint64_t)rank;                                                     \
        MPI_Irecv(&halo[0], 1, MPI_UINT64_T, src_, 11, k.cart, &req[1]);                     \
        MPI_Isend(&halo[1], 1, MPI_UINT64_T, dst_, 11, k.cart, &req[2]);                     \
    } while (0)

    int restarted = tern_restarted();
    if (restarted) {
        if (mm && *mm == '1') {
            MPI_Comm x1, x2;
            MPI_Comm_split(MPI_COMM_WORLD, rank < size / 2, rank, &x1);
            MPI_Comm_split(MPI_COMM_WORLD, rank < size / 2, rank, &x2);
        }
        const char *pp = getenv("KEPT_PARTIAL");
        if (pp && *pp == '1' && rank == 0) {
            /* rank 0 alone takes half's ordinal: the other member would
             * rebuild it alone and wait for ever; tern must refuse instead */
            MPI_Group wg, g0;
            MPI_Comm x1, x2;
            int zero = 0;
            MPI_Comm_group(MPI_COMM_WORLD, &wg);
            MPI_Group_incl(wg, 1, &zero, &g0);
            MPI_Comm_create_group(MPI_COMM_WORLD, g0, 1, &x1);
            MPI_Comm_create_group(MPI_COMM_WORLD, g0, 2, &x2);
        }
        APP_CHECK(tern_recover());
        app_resumed(it, rank);
    } else {
        for (int i = 0; i < 4; i++) s[i] = mix((uint64_t)rank + 1, (uint64_t)i);
    }
    while (it < o.iters) {
        if (it >= 1 && k.half == MPI_COMM_NULL) {
            MPI_Comm tmp;
            MPI_Comm_split(MPI_COMM_WORLD, 0, rank, &tmp);
            MPI_Comm_free(&tmp);
            MPI_Comm_split(MPI_COMM_WORLD, rank % 2, rank, &k.half);
            int dims[2] = { 0, 0 }, periods[2] = { 1, 1 };
            MPI_Dims_create(size, 2, dims);
            MPI_Cart_create(MPI_COMM_WORLD, 2, dims, periods, 1, &k.cart);
            MPI_Comm_dup(k.cart, &k.cdup);
            MPI_Intercomm_create(k.half, 0, MPI_COMM_WORLD, rank % 2 ? 0 : 1, 7, &k.inter);
            int left = (rank + size - 1) % size, right = (rank + 1) % size;
            int wl = 1 + rank, wr = 2 + rank;
            MPI_Dist_graph_create_adjacent(MPI_COMM_WORLD, 1, &left, &wl, 1, &right, &wr,
                                           MPI_INFO_NULL, 0, &k.dg);
            int *index = app_alloc(sizeof(int) * (size_t)size), *edges = app_alloc(sizeof(int) * 2 * (size_t)size);
            for (int i = 0; i < size; i++) {
                index[i] = 2 * (i + 1);
                edges[2 * i] = (i + size - 1) % size;
                edges[2 * i + 1] = (i + 1) % size;
            }
            MPI_Graph_create(MPI_COMM_WORLD, size, index, edges, 0, &k.gr);
            free(index);
            free(edges);
            POST();
        }
        app_hooks(&o, it, restarted, rank);
        app_snapshot(it, rank);
        app_sleep(o.sleep_us);
        if (k.half != MPI_COMM_NULL) {
            int hr, hs, src, dst, rsize;
            uint64_t v = 0, a = 0, b = 0, c = 0, d[1] = { 0 }, g[2] = { 0, 0 };
            MPI_Comm_rank(k.half, &hr);
            MPI_Comm_size(k.half, &hs);
            MPI_Recv(&v, 1, MPI_UINT64_T, (hr + hs - 1) % hs, 5, k.half, MPI_STATUS_IGNORE);
            MPI_Waitall(3, req, MPI_STATUSES_IGNORE);
            MPI_Allreduce(&s[0], &a, 1, MPI_UINT64_T, MPI_SUM, k.half);
            MPI_Cart_shift(k.cdup, 1, 1, &src, &dst);
            MPI_Sendrecv(&s[1], 1, MPI_UINT64_T, dst, 12, &b, 1, MPI_UINT64_T, src, 12, k.cdup,
                         MPI_STATUS_IGNORE);
            MPI_Comm_remote_size(k.inter, &rsize);
            if (hr < rsize)
                MPI_Sendrecv(&s[2], 1, MPI_UINT64_T, hr, 13, &c, 1, MPI_UINT64_T, hr, 13, k.inter,
                             MPI_STATUS_IGNORE);
            MPI_Neighbor_allgather(&s[3], 1, MPI_UINT64_T, d, 1, MPI_UINT64_T, k.dg);
            MPI_Neighbor_allgather(&s[3], 1, MPI_UINT64_T, g, 1, MPI_UINT64_T, k.gr);
            /* made and freed after a restart too: above every saved ordinal */
            MPI_Comm t;
            uint64_t e = 0;
            MPI_Comm_dup(k.half, &t);
            MPI_Allreduce(&s[2], &e, 1, MPI_UINT64_T, MPI_BXOR, t);
            MPI_Comm_free(&t);
            c ^= e;
            s[0] = mix(mix(s[0], a), v);
            s[1] = mix(mix(s[1], b), halo[0]);
            s[2] = mix(s[2], c);
            s[3] = mix(mix(mix(s[3], d[0]), g[0]), g[1]);
        }
        it++;
        if (k.half != MPI_COMM_NULL && it < o.iters) POST();
    }
    app_result(fnv1a(FNV_INIT, s, sizeof s), it, rank, size);
    MPI_Comm *all[] = { &k.half, &k.cart, &k.cdup, &k.inter, &k.dg, &k.gr, &base };
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        if (*all[i] != MPI_COMM_NULL) MPI_Comm_free(all[i]);
    MPI_Finalize();
    return 0;
}
