/* semantics_requests: request objects beyond plain Isend/Irecv. 3 ranks.
 *  1. MPI_Issend does not complete before the receive is matched; it does
 *     after. MPI_Request_get_status reports completion without freeing.
 *  2. MPI_Bsend with an attached buffer; detach waits for delivery.
 *  3. Nonblocking collectives: Ibarrier, Ibcast, Iallreduce, Igather,
 *     completed with Waitall in one array with a point-to-point request.
 *  4. MPI_Comm_idup, then traffic on the new communicator.
 *  5. Wait/Test on MPI_REQUEST_NULL: at once, empty status. */
#include "semantics.h"

int main(int argc, char **argv) {
    sem_init(&argc, &argv);
    if (sem_size != 3) { if (sem_rank == 0) fprintf(stderr, "needs 3 ranks\n"); MPI_Abort(MPI_COMM_WORLD, 2); }
    MPI_Status st;
    int flag;
    /* 1 */
    if (sem_rank == 0) {
        int v = 7;
        MPI_Request rq;
        MPI_Issend(&v, 1, MPI_INT, 1, 1, MPI_COMM_WORLD, &rq);
        for (int i = 0; i < 100; i++) MPI_Test(&rq, &flag, MPI_STATUS_IGNORE);
        /* rank 1 posts its receive only after this barrier */
        T("1 issend done before the receive: %d", flag);
        EXPECT(!flag, "issend completed early");
        MPI_Barrier(MPI_COMM_WORLD);
        flag = 0;
        while (!flag) MPI_Request_get_status(rq, &flag, &st);
        T("1 get_status after the receive: %d, request %s", flag,
          rq != MPI_REQUEST_NULL ? "still allocated" : "NULL");
        EXPECT(rq != MPI_REQUEST_NULL, "get_status freed");
        MPI_Wait(&rq, &st);
        T("1 wait: request %s", rq == MPI_REQUEST_NULL ? "NULL" : "?");
    } else if (sem_rank == 1) {
        MPI_Barrier(MPI_COMM_WORLD);
        int v = 0;
        MPI_Recv(&v, 1, MPI_INT, 0, 1, MPI_COMM_WORLD, &st);
        T("1 received %d", v);
    } else {
        MPI_Barrier(MPI_COMM_WORLD);
    }
    /* 2 */
    int bsz = 4 * (MPI_BSEND_OVERHEAD + (int)sizeof(double) * 8);
    char *bbuf = malloc((size_t)bsz);
    MPI_Buffer_attach(bbuf, bsz);
    double d[8];
    for (int i = 0; i < 8; i++) d[i] = sem_rank + i * 0.5;
    int to = (sem_rank + 1) % sem_size, from = (sem_rank + sem_size - 1) % sem_size;
    MPI_Bsend(d, 8, MPI_DOUBLE, to, 2, MPI_COMM_WORLD);
    for (int i = 0; i < 8; i++) d[i] = -1; /* the buffered copy went, not this */
    double r[8];
    MPI_Recv(r, 8, MPI_DOUBLE, from, 2, MPI_COMM_WORLD, &st);
    void *ret;
    int rsz;
    MPI_Buffer_detach(&ret, &rsz);
    T("2 bsend from %d: %g .. %g, detached %s size %d", from, r[0], r[7],
      ret == bbuf ? "our buffer" : "?", rsz == bsz);
    EXPECT(r[0] == from && r[7] == from + 3.5 && ret == bbuf && rsz == bsz, "bsend");
    free(bbuf);
    /* 3 */
    MPI_Request rq[6];
    int bc = sem_rank == 2 ? 99 : -1, one = sem_rank + 1, sum = 0, gat[3] = { 0, 0, 0 };
    int pv = sem_rank * 10, pr = -1;
    MPI_Ibarrier(MPI_COMM_WORLD, &rq[0]);
    MPI_Ibcast(&bc, 1, MPI_INT, 2, MPI_COMM_WORLD, &rq[1]);
    MPI_Iallreduce(&one, &sum, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD, &rq[2]);
    MPI_Igather(&one, 1, MPI_INT, gat, 1, MPI_INT, 0, MPI_COMM_WORLD, &rq[3]);
    MPI_Irecv(&pr, 1, MPI_INT, from, 3, MPI_COMM_WORLD, &rq[4]);
    MPI_Isend(&pv, 1, MPI_INT, to, 3, MPI_COMM_WORLD, &rq[5]);
    MPI_Waitall(6, rq, MPI_STATUSES_IGNORE);
    int allnull = 1;
    for (int i = 0; i < 6; i++) allnull &= rq[i] == MPI_REQUEST_NULL;
    if (sem_rank == 0)
        T("3 nbc: bcast %d sum %d gather %d %d %d p2p %d all null %d", bc, sum, gat[0], gat[1],
          gat[2], pr, allnull);
    else
        T("3 nbc: bcast %d sum %d p2p %d all null %d", bc, sum, pr, allnull);
    EXPECT(bc == 99 && sum == 6 && pr == from * 10 && allnull, "nbc");
    EXPECT(sem_rank != 0 || (gat[0] == 1 && gat[1] == 2 && gat[2] == 3), "igather");
    /* 4 */
    MPI_Comm c2;
    MPI_Request ir;
    MPI_Comm_idup(MPI_COMM_WORLD, &c2, &ir);
    MPI_Wait(&ir, MPI_STATUS_IGNORE);
    int c2r, c2s, x = sem_rank;
    MPI_Comm_rank(c2, &c2r);
    MPI_Comm_size(c2, &c2s);
    MPI_Allreduce(MPI_IN_PLACE, &x, 1, MPI_INT, MPI_MAX, c2);
    int cmp;
    MPI_Comm_compare(c2, MPI_COMM_WORLD, &cmp);
    T("4 idup: rank %d size %d max %d compare %s", c2r, c2s, x,
      cmp == MPI_CONGRUENT ? "CONGRUENT" : "?");
    EXPECT(c2r == sem_rank && c2s == 3 && x == 2 && cmp == MPI_CONGRUENT, "idup");
    MPI_Comm_free(&c2);
    /* 5 */
    MPI_Request nr = MPI_REQUEST_NULL;
    MPI_Wait(&nr, &st);
    int cnt = -1;
    MPI_Get_count(&st, MPI_INT, &cnt);
    MPI_Test(&nr, &flag, &st);
    T("5 null request: wait count %d source %s, test flag %d", cnt,
      st.MPI_SOURCE == MPI_ANY_SOURCE ? "ANY_SOURCE" : "?", flag);
    EXPECT(cnt == 0 && flag == 1, "null request");
    return sem_finish("semantics_requests");
}
