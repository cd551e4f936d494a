/* callbacks.c: the application's functions, run in the application.
 *
 * User reduction ops, error handlers and attribute callbacks are code of the
 * application: the proxy never calls into the application's address space,
 * it asks (an upcall, tern_wire.h) and the shim runs the function here.
 * Open MPI's predefined callbacks (MPI_COMM_DUP_FN, MPI_NULL_COPY_FN, ...)
 * are functions of this library too; passed to the proxy they become codes,
 * which it maps to its own.
 */
#include "shim.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#pragma GCC diagnostic ignored "-Wdeprecated-declarations"

int sh_op_running;   /* a user op works on data in the channel: no MPI call from it */

/* ---- Open MPI's predefined callbacks -------------------------------------------- */
static int null_copy(int *flag)
{
    *flag = 0;
    return MPI_SUCCESS;
}

static int dup_copy(void *in, void *out, int *flag)
{
    *(void **)out = in;
    *flag = 1;
    return MPI_SUCCESS;
}

#define NULL_COPY_FN(name, obj)                                                           \
    int name(obj o, int k, void *extra, void *in, void *out, int *flag)                     \
    {                                                                                      \
        (void)o, (void)k, (void)extra, (void)in, (void)out;                                \
        return null_copy(flag);                                                            \
    }
#define DUP_FN(name, obj)                                                                 \
    int name(obj o, int k, void *extra, void *in, void *out, int *flag)                     \
    {                                                                                      \
        (void)o, (void)k, (void)extra;                                                     \
        return dup_copy(in, out, flag);                                                    \
    }
#define NULL_DELETE_FN(name, obj)                                                         \
    int name(obj o, int k, void *val, void *extra)                                          \
    {                                                                                      \
        (void)o, (void)k, (void)val, (void)extra;                                          \
        return MPI_SUCCESS;                                                                \
    }
#pragma GCC visibility push(default)
NULL_COPY_FN(OMPI_C_MPI_NULL_COPY_FN, MPI_Comm)
NULL_COPY_FN(OMPI_C_MPI_COMM_NULL_COPY_FN, MPI_Comm)
NULL_COPY_FN(OMPI_C_MPI_TYPE_NULL_COPY_FN, MPI_Datatype)
NULL_COPY_FN(OMPI_C_MPI_WIN_NULL_COPY_FN, MPI_Win)
DUP_FN(OMPI_C_MPI_DUP_FN, MPI_Comm)
DUP_FN(OMPI_C_MPI_COMM_DUP_FN, MPI_Comm)
DUP_FN(OMPI_C_MPI_TYPE_DUP_FN, MPI_Datatype)
DUP_FN(OMPI_C_MPI_WIN_DUP_FN, MPI_Win)
NULL_DELETE_FN(OMPI_C_MPI_NULL_DELETE_FN, MPI_Comm)
NULL_DELETE_FN(OMPI_C_MPI_COMM_NULL_DELETE_FN, MPI_Comm)
NULL_DELETE_FN(OMPI_C_MPI_TYPE_NULL_DELETE_FN, MPI_Datatype)
NULL_DELETE_FN(OMPI_C_MPI_WIN_NULL_DELETE_FN, MPI_Win)
#pragma GCC visibility pop

uint64_t sh_fn(void (*f)(void))
{
    typedef void (*vf)(void);
    static const struct { vf f; uint64_t code; } known[] = {
        {(vf)OMPI_C_MPI_NULL_COPY_FN, TW_FN_NULL_COPY},   {(vf)OMPI_C_MPI_COMM_NULL_COPY_FN, TW_FN_NULL_COPY},
        {(vf)OMPI_C_MPI_TYPE_NULL_COPY_FN, TW_FN_NULL_COPY}, {(vf)OMPI_C_MPI_WIN_NULL_COPY_FN, TW_FN_NULL_COPY},
        {(vf)OMPI_C_MPI_DUP_FN, TW_FN_DUP},                {(vf)OMPI_C_MPI_COMM_DUP_FN, TW_FN_DUP},
        {(vf)OMPI_C_MPI_TYPE_DUP_FN, TW_FN_DUP},           {(vf)OMPI_C_MPI_WIN_DUP_FN, TW_FN_DUP},
        {(vf)OMPI_C_MPI_NULL_DELETE_FN, TW_FN_NULL_DELETE}, {(vf)OMPI_C_MPI_COMM_NULL_DELETE_FN, TW_FN_NULL_DELETE},
        {(vf)OMPI_C_MPI_TYPE_NULL_DELETE_FN, TW_FN_NULL_DELETE}, {(vf)OMPI_C_MPI_WIN_NULL_DELETE_FN, TW_FN_NULL_DELETE},
    };
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (known[i].f == f) return known[i].code;
    return (uint64_t)(uintptr_t)f;
}

/* ---- predefined attribute values --------------------------------------------------- */
/* MPI_Comm_get_attr(MPI_TAG_UB) gives a pointer to an int: the proxy's int
 * is copied into a slot of ours, which lives as long as the process. */
void *sh_attr_slot(int keyval, int value)
{
    static int slot[64];
    if (keyval < 0 || keyval >= 64) return NULL;
    slot[keyval] = value;
    return &slot[keyval];
}

/* ---- upcalls ---------------------------------------------------------------------------- */
static size_t done(unsigned char *base, int rc, int flag, uint64_t value)
{
    tw_updone *d = (tw_updone *)base;
    memset(d, 0, sizeof *d);
    d->kind = TW_UPDONE;
    d->rc = rc;
    d->flag = flag;
    d->value = value;
    return sizeof *d;
}

static size_t run_op(unsigned char *base)
{
    tw_up_op u = *(const tw_up_op *)base;
    MPI_Datatype dt = sh_handle(u.dt);
    int len = u.len;
    sh_op_running = 1;
    ((MPI_User_function *)(uintptr_t)u.fn)(base + u.in_off - u.true_lb, base + u.inout_off - u.true_lb,
                                          &len, &dt);
    sh_op_running = 0;
    /* the result stays where it is: the proxy copies the inout span back */
    return done(base, MPI_SUCCESS, 0, 0);
}

static size_t run_errh(unsigned char *base)
{
    tw_up_errh u = *(const tw_up_errh *)base;
    int code = u.code;
    if (u.obj == TW_OBJ_FILE) {
        MPI_File f = sh_handle(u.id);
        ((MPI_File_errhandler_function *)(uintptr_t)u.fn)(&f, &code);
    } else {
        MPI_Comm c = sh_handle(u.id);
        ((MPI_Comm_errhandler_function *)(uintptr_t)u.fn)(&c, &code);
    }
    return done(base, MPI_SUCCESS, 0, 0);
}

static size_t run_attr(uint32_t kind, unsigned char *base)
{
    tw_up_attr u = *(const tw_up_attr *)base;
    void *h = sh_handle(u.id), *extra = (void *)(uintptr_t)u.extra, *val = (void *)(uintptr_t)u.attr;
    if (kind == TW_UP_DELETE) {
        int rc = u.obj == TW_OBJ_TYPE
                     ? ((MPI_Type_delete_attr_function *)(uintptr_t)u.fn)(h, u.keyval, val, extra)
                     : ((MPI_Comm_delete_attr_function *)(uintptr_t)u.fn)(h, u.keyval, val, extra);
        return done(base, rc, 0, 0);
    }
    void *out = NULL;
    int flag = 0;
    int rc = u.obj == TW_OBJ_TYPE
                 ? ((MPI_Type_copy_attr_function *)(uintptr_t)u.fn)(h, u.keyval, extra, val, &out, &flag)
                 : ((MPI_Comm_copy_attr_function *)(uintptr_t)u.fn)(h, u.keyval, extra, val, &out, &flag);
    return done(base, rc, flag, (uint64_t)(uintptr_t)out);
}

size_t sh_upcall(uint32_t kind, unsigned char *base, size_t len)
{
    (void)len;
    switch (kind) {
    case TW_UP_OP: return run_op(base);
    case TW_UP_ERRH: return run_errh(base);
    case TW_UP_COPY:
    case TW_UP_DELETE: return run_attr(kind, base);
    }
    sh_say("the proxy asked for an unknown upcall %u", kind);
    _exit(1);
}
