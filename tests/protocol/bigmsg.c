/* bigmsg.c: a message of more than 2 GiB in flight at the cut.
 *
 * 2 ranks. Every iteration rank 0 fills --size MiB (default 2100: over
 * INT_MAX bytes) of uint64 words from a generator keyed by the iteration and
 * posts one MPI_Isend of them (count < INT_MAX words, bytes > INT_MAX)
 * before tern_snapshot(); rank 1 receives it after the snapshot point, so at
 * a checkpoint it is drained into tern's buffer (received in MiB blocks),
 * saved in the checkpoint, and delivered from there (unpacked in pieces under
 * INT_MAX bytes) in the continuing or the restarted run. Rank 1 checks every
 * word and folds a sum into the answer. Options: app_common.h's (--size in
 * MiB, a multiple of 8 bytes per word).
 */
#include "app_common.h"

static uint64_t word(long it, uint64_t i)
{
    uint64_t z = (uint64_t)it * 0x9e3779b97f4a7c15ULL + i;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    return z ^ (z >> 31);
}

int main(int argc, char **argv)
{
    struct app_opts o = { .iters = 3, .size = 2100, .sleep_us = 0 };
    int rank, size;
    app_start(&argc, &argv, &o, &rank, &size);
    if (size != 2) {
        if (rank == 0) fprintf(stderr, "bigmsg: run on 2 ranks\n");
        MPI_Abort(MPI_COMM_WORLD, 2);
    }
    uint64_t nw = ((uint64_t)o.size << 20) / 8;
    if (nw > (uint64_t)INT_MAX) {
        if (rank == 0) fprintf(stderr, "bigmsg: --size too large for one int count of words\n");
        MPI_Abort(MPI_COMM_WORLD, 2);
    }
    uint64_t *buf = malloc(nw * 8);
    if (!buf) {
        fprintf(stderr, "bigmsg: rank %d: out of memory\n", rank);
        MPI_Abort(MPI_COMM_WORLD, 3);
    }
    long it = 0;
    uint64_t state = 0;
    MPI_Request req = MPI_REQUEST_NULL;
    APP_CHECK(tern_protect("it", &it, 1, MPI_LONG));
    APP_CHECK(tern_protect("state", &state, 1, MPI_UINT64_T));
    APP_PROTECT_REQS("req", &req, 1);
    int restarted = app_recover(&it, rank);
    while (it < o.iters) {
        if (rank == 0 && req == MPI_REQUEST_NULL) {
            for (uint64_t i = 0; i < nw; i++) buf[i] = word(it, i);
            MPI_Isend(buf, (int)nw, MPI_UINT64_T, 1, 3, MPI_COMM_WORLD, &req);
        }
        app_hooks(&o, it, restarted, rank);
        app_snapshot(it, rank);   /* the message is in flight here */
        if (rank == 0) {
            MPI_Wait(&req, MPI_STATUS_IGNORE);
        } else {
            MPI_Status st;
            MPI_Recv(buf, (int)nw, MPI_UINT64_T, 0, 3, MPI_COMM_WORLD, &st);
            MPI_Count got = 0;
            MPI_Get_elements_x(&st, MPI_BYTE, &got);
            if (got != (MPI_Count)(nw * 8) || st.MPI_SOURCE != 0 || st.MPI_TAG != 3) {
                fprintf(stderr, "bigmsg it %ld: bad status: %lld bytes from %d tag %d\n", it,
                        (long long)got, st.MPI_SOURCE, st.MPI_TAG);
                MPI_Abort(MPI_COMM_WORLD, 5);
            }
            uint64_t sum = 0;
            for (uint64_t i = 0; i < nw; i++) {
                if (buf[i] != word(it, i)) {
                    fprintf(stderr, "bigmsg it %ld: word %" PRIu64 " wrong\n", it, i);
                    MPI_Abort(MPI_COMM_WORLD, 6);
                }
                sum += buf[i] * (i | 1);
            }
            state = fnv1a(state ^ (uint64_t)it, &sum, sizeof sum);
        }
        app_sleep(o.sleep_us);
        it++;
    }
    app_result(fnv1a(FNV_INIT, &state, sizeof state), it, rank, size);
    free(buf);
    MPI_Finalize();
    return 0;
}
