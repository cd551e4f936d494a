/* semantics_status: what a status says.
 * 2 ranks. MPI_SOURCE and MPI_TAG; MPI_Get_count of a short message into a
 * larger buffer; zero-byte messages; a receive from MPI_PROC_NULL; a vector
 * datatype received partially (MPI_Get_count is MPI_UNDEFINED, while
 * MPI_Get_elements counts the basic elements); a struct datatype;
 * MPI_Get_elements_x; MPI_Status_set_elements; a truncated receive with
 * MPI_ERRORS_RETURN giving MPI_ERR_TRUNCATE. */
#include <stddef.h>

#include "semantics.h"

struct pt { int id; double xy[2]; };

int main(int argc, char **argv) {
    sem_init(&argc, &argv);
    if (sem_size != 2) { if (sem_rank == 0) fprintf(stderr, "needs 2 ranks\n"); MPI_Abort(MPI_COMM_WORLD, 2); }
    MPI_Datatype vec, pt_t, pt_raw;
    MPI_Type_vector(3, 2, 4, MPI_DOUBLE, &vec); /* 6 doubles per element */
    MPI_Type_commit(&vec);
    int bl[2] = { 1, 2 };
    MPI_Aint dp[2] = { offsetof(struct pt, id), offsetof(struct pt, xy) };
    MPI_Datatype ty[2] = { MPI_INT, MPI_DOUBLE };
    MPI_Type_create_struct(2, bl, dp, ty, &pt_raw);
    MPI_Type_create_resized(pt_raw, 0, sizeof(struct pt), &pt_t);
    MPI_Type_commit(&pt_t);
    MPI_Status st;
    int cnt, el;
    double d[64];
    for (int i = 0; i < 64; i++) d[i] = i;
    if (sem_rank == 1) {
        MPI_Send(d, 5, MPI_DOUBLE, 0, 3, MPI_COMM_WORLD);        /* short */
        MPI_Send(NULL, 0, MPI_BYTE, 0, 4, MPI_COMM_WORLD);       /* empty */
        MPI_Send(d, 8, MPI_DOUBLE, 0, 5, MPI_COMM_WORLD);        /* 1 vec + 2 */
        MPI_Send(d, 12, MPI_DOUBLE, 0, 6, MPI_COMM_WORLD);       /* 2 vec */
        struct pt p[3];
        for (int i = 0; i < 3; i++) { p[i].id = 100 + i; p[i].xy[0] = i; p[i].xy[1] = -i; }
        MPI_Send(p, 3, pt_t, 0, 7, MPI_COMM_WORLD);
        MPI_Send(d, 10, MPI_DOUBLE, 0, 8, MPI_COMM_WORLD);       /* too long */
    } else {
        double r[64];
        MPI_Recv(r, 64, MPI_DOUBLE, 1, MPI_ANY_TAG, MPI_COMM_WORLD, &st);
        MPI_Get_count(&st, MPI_DOUBLE, &cnt);
        MPI_Get_count(&st, MPI_BYTE, &el);
        T("short: source %d tag %d count %d doubles = %d bytes", st.MPI_SOURCE, st.MPI_TAG, cnt, el);
        EXPECT(cnt == 5 && el == 40 && st.MPI_TAG == 3, "short");

        MPI_Recv(r, 64, MPI_DOUBLE, MPI_ANY_SOURCE, 4, MPI_COMM_WORLD, &st);
        MPI_Get_count(&st, MPI_DOUBLE, &cnt);
        T("empty: source %d tag %d count %d", st.MPI_SOURCE, st.MPI_TAG, cnt);
        EXPECT(cnt == 0, "empty");

        MPI_Recv(r, 64, MPI_DOUBLE, MPI_PROC_NULL, 9, MPI_COMM_WORLD, &st);
        MPI_Get_count(&st, MPI_DOUBLE, &cnt);
        T("proc_null: source %s tag %s count %d",
          st.MPI_SOURCE == MPI_PROC_NULL ? "PROC_NULL" : "?",
          st.MPI_TAG == MPI_ANY_TAG ? "ANY_TAG" : "?", cnt);
        EXPECT(st.MPI_SOURCE == MPI_PROC_NULL && st.MPI_TAG == MPI_ANY_TAG && cnt == 0, "proc_null");

        memset(r, 0, sizeof r);
        MPI_Recv(r, 4, vec, 1, 5, MPI_COMM_WORLD, &st);
        MPI_Get_count(&st, vec, &cnt);
        MPI_Get_elements(&st, vec, &el);
        T("vector partial: count %s elements %d; r[8..9]=%g %g r[12..13]=%g %g",
          cnt == MPI_UNDEFINED ? "UNDEFINED" : "defined", el, r[8], r[9], r[12], r[13]);
        EXPECT(cnt == MPI_UNDEFINED && el == 8, "vector partial");

        MPI_Recv(r, 4, vec, 1, 6, MPI_COMM_WORLD, &st);
        MPI_Get_count(&st, vec, &cnt);
        MPI_Get_elements(&st, vec, &el);
        MPI_Count elx = 0;
        MPI_Get_elements_x(&st, vec, &elx);
        T("vector whole: count %d elements %d elements_x %lld", cnt, el, (long long)elx);
        EXPECT(cnt == 2 && el == 12 && elx == 12, "vector whole");

        struct pt q[4];
        memset(q, 0, sizeof q);
        MPI_Recv(q, 4, pt_t, 1, 7, MPI_COMM_WORLD, &st);
        MPI_Get_count(&st, pt_t, &cnt);
        MPI_Get_elements(&st, pt_t, &el);
        T("struct: count %d elements %d ids %d %d %d xy %g %g", cnt, el, q[0].id, q[1].id,
          q[2].id, q[2].xy[0], q[2].xy[1]);
        EXPECT(cnt == 3 && el == 9 && q[2].id == 102, "struct");

        MPI_Status s2 = st;
        MPI_Status_set_elements(&s2, MPI_DOUBLE, 7);
        MPI_Get_count(&s2, MPI_DOUBLE, &cnt);
        T("set_elements: count %d", cnt);
        EXPECT(cnt == 7, "set_elements");

        MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
        int rc = MPI_Recv(r, 4, MPI_DOUBLE, 1, 8, MPI_COMM_WORLD, &st);
        int cls = MPI_SUCCESS;
        MPI_Error_class(rc, &cls);
        T("truncate: class %s", cls == MPI_ERR_TRUNCATE ? "MPI_ERR_TRUNCATE" : "other");
        EXPECT(cls == MPI_ERR_TRUNCATE, "truncate class %d", cls);
        MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_ARE_FATAL);
    }
    MPI_Type_free(&vec);
    MPI_Type_free(&pt_t);
    MPI_Type_free(&pt_raw);
    return sem_finish("semantics_status");
}
