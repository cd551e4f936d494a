/* errors.c: error handlers and attributes. MPI_ERRORS_RETURN and the codes it
 * returns; a user error handler (which calls MPI itself); attribute copy and
 * delete callbacks through MPI_Comm_dup and MPI_Comm_free; the predefined
 * attributes. The transcript is rank 0's. */
#include <mpi.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static int handled;

static void handler(MPI_Comm *comm, int *code, ...)
{
    char s[MPI_MAX_ERROR_STRING];
    int len = 0, cls = 0, rank = -1;
    MPI_Error_class(*code, &cls);
    MPI_Error_string(cls, s, &len);
    MPI_Comm_rank(*comm, &rank);
    if (rank == 0) printf("handler: class %d (%s) on %s\n", cls, s, *comm == MPI_COMM_WORLD ? "world" : "other");
    handled++;
}

static int copies, deletes;

static int copy_fn(MPI_Comm c, int kv, void *extra, void *in, void *out, int *flag)
{
    (void)c, (void)kv;
    copies += *(int *)extra;
    *(long *)out = (long)(intptr_t)in * 10;
    *flag = 1;
    return MPI_SUCCESS;
}

static int delete_fn(MPI_Comm c, int kv, void *val, void *extra)
{
    (void)c, (void)kv, (void)extra;
    deletes += (int)(intptr_t)val;
    return MPI_SUCCESS;
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    int rank, size, rc, cls;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    int x = 1;
    rc = MPI_Send(&x, 1, MPI_INT, size + 5, 0, MPI_COMM_WORLD);
    MPI_Error_class(rc, &cls);
    if (rank == 0) printf("send to rank %d: %s, class %s\n", size + 5, rc == MPI_SUCCESS ? "success" : "error",
                          cls == MPI_ERR_RANK ? "MPI_ERR_RANK" : "other");
    rc = MPI_Bcast(&x, -1, MPI_INT, 0, MPI_COMM_WORLD);
    MPI_Error_class(rc, &cls);
    if (rank == 0) printf("negative count: class %s\n", cls == MPI_ERR_COUNT ? "MPI_ERR_COUNT" : "other");

    MPI_Errhandler eh, got;
    MPI_Comm_create_errhandler(handler, &eh);
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, eh);
    MPI_Comm_get_errhandler(MPI_COMM_WORLD, &got);
    if (rank == 0) printf("get_errhandler gives the same handle: %d\n", got == eh);
    MPI_Errhandler_free(&got);
    rc = MPI_Send(&x, 1, MPI_INT, size + 5, 0, MPI_COMM_WORLD);
    if (rank == 0) printf("after the handler: returned %s, handled %d\n", rc == MPI_SUCCESS ? "success" : "error", handled);
    MPI_Comm_call_errhandler(MPI_COMM_WORLD, MPI_ERR_OTHER);
    if (rank == 0) printf("call_errhandler: handled %d\n", handled);
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    MPI_Errhandler_free(&eh);

    int one = 1, kv;
    MPI_Comm_create_keyval(copy_fn, delete_fn, &kv, &one);
    MPI_Comm_set_attr(MPI_COMM_WORLD, kv, (void *)(intptr_t)7);
    MPI_Comm dup;
    MPI_Comm_dup(MPI_COMM_WORLD, &dup);
    void *val = NULL;
    int flag = 0;
    MPI_Comm_get_attr(dup, kv, &val, &flag);
    if (rank == 0) printf("attribute on the dup: flag %d value %ld copies %d\n", flag, (long)(intptr_t)val, copies);
    MPI_Comm_free(&dup);
    MPI_Comm_delete_attr(MPI_COMM_WORLD, kv);
    if (rank == 0) printf("deletes %d\n", deletes);
    MPI_Comm_free_keyval(&kv);
    int *ub = NULL;
    MPI_Comm_get_attr(MPI_COMM_WORLD, MPI_TAG_UB, &ub, &flag);
    if (rank == 0) printf("MPI_TAG_UB: flag %d at least 32767: %d\n", flag, flag && *ub >= 32767);
    MPI_Finalize();
    return 0;
}
