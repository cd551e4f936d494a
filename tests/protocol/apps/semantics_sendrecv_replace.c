/* semantics_sendrecv_replace: MPI_Sendrecv and MPI_Sendrecv_replace.
 * Ring shifts of a buffer all the way round (size steps): every rank ends with
 * its own data; with a vector datatype only the strided elements travel;
 * MPI_PROC_NULL partners leave the buffer alone; the status names the source. */
#include "semantics.h"

int main(int argc, char **argv) {
    sem_init(&argc, &argv);
    int right = (sem_rank + 1) % sem_size, left = (sem_rank + sem_size - 1) % sem_size;
    int a[16];
    for (int i = 0; i < 16; i++) a[i] = sem_rank * 100 + i;
    MPI_Status st;
    char line[256];
    int pos = snprintf(line, sizeof line, "replace ring, head after each step:");
    for (int s = 0; s < sem_size; s++) {
        MPI_Sendrecv_replace(a, 16, MPI_INT, right, s, left, s, MPI_COMM_WORLD, &st);
        EXPECT(st.MPI_SOURCE == left && st.MPI_TAG == s, "status");
        pos += snprintf(line + pos, sizeof line - (size_t)pos, " %d", a[0]);
    }
    T("%s", line);
    EXPECT(a[0] == sem_rank * 100 && a[15] == sem_rank * 100 + 15, "back home");

    MPI_Datatype every;
    MPI_Type_vector(8, 1, 2, MPI_INT, &every);
    MPI_Type_commit(&every);
    for (int i = 0; i < 16; i++) a[i] = sem_rank * 100 + i;
    MPI_Sendrecv_replace(a, 1, every, right, 7, left, 7, MPI_COMM_WORLD, &st);
    int cnt, el;
    MPI_Get_count(&st, every, &cnt);
    MPI_Get_elements(&st, every, &el);
    T("vector replace: a[0..3] = %d %d %d %d count %d elements %d", a[0], a[1], a[2], a[3],
      cnt, el);
    EXPECT(a[0] == left * 100 && a[1] == sem_rank * 100 + 1 && a[2] == left * 100 + 2, "vector");
    MPI_Type_free(&every);

    int up = sem_rank + 1 < sem_size ? sem_rank + 1 : MPI_PROC_NULL;
    int down = sem_rank > 0 ? sem_rank - 1 : MPI_PROC_NULL;
    int x = 1000 + sem_rank;
    MPI_Sendrecv_replace(&x, 1, MPI_INT, up, 8, down, 8, MPI_COMM_WORLD, &st);
    T("chain: x %d source %s", x, st.MPI_SOURCE == MPI_PROC_NULL ? "PROC_NULL" : "rank");
    EXPECT(x == (down == MPI_PROC_NULL ? 1000 + sem_rank : 1000 + down), "chain");

    double big[20000], got[20000];
    for (int i = 0; i < 20000; i++) big[i] = sem_rank + i * 1e-3;
    MPI_Sendrecv(big, 20000, MPI_DOUBLE, right, 9, got, 20000, MPI_DOUBLE, left, 9,
                 MPI_COMM_WORLD, &st);
    MPI_Get_count(&st, MPI_DOUBLE, &cnt);
    T("sendrecv 160 KB: count %d got[19999] = %.3f", cnt, got[19999]);
    EXPECT(cnt == 20000 && got[19999] == left + 19999 * 1e-3, "sendrecv big");
    return sem_finish("semantics_sendrecv_replace");
}
