/* callbacks.c: the application's functions, seen from the proxy
 * (px_dispatch.h): user ops, error handlers, attribute copy and delete
 * callbacks become functions of the proxy that ask the application to run
 * its own (an upcall) -- the proxy never calls into the application's
 * address space. Also the attributes whose values are the proxy's ints
 * (MPI_TAG_UB, ...) and the MPI_Bsend buffer.
 */
#include "px_answer.h"

#include <stdlib.h>
#include <string.h>

#pragma GCC diagnostic ignored "-Wdeprecated-declarations"

/* ---- user ops: one trampoline per slot (Open MPI passes no context) ------------------ */
#define NSLOTS 64
static uint64_t op_fn[NSLOTS];

static void op_run(int slot, void *in, void *inout, int *len, MPI_Datatype *dt)
{
    px_layout l;
    uint64_t id = px_lookup(*dt);
    if (id == TW_ID_BAD) id = px_reg(NULL, *dt, TK_DTYPE);
    if (px_layout_of(*dt, &l) || l.extent <= 0) px_fatal("a user reduction on a datatype without extent");
    size_t cap = px_area_cap(), hdr = 64, avail = (cap - 2 * hdr) / 2;
    if ((size_t)l.true_extent > avail) px_fatal("a user reduction element does not fit the channel");
    int64_t per = 1 + (int64_t)(avail - (size_t)l.true_extent) / l.extent;
    for (int64_t done = 0; done < *len;) {
        int64_t k = *len - done < per ? *len - done : per;
        size_t span = (size_t)((k - 1) * l.extent + l.true_extent);
        unsigned char *area = px_area();
        tw_up_op *u = (tw_up_op *)area;
        u->kind = TW_UP_OP;
        u->len = (int32_t)k;
        u->fn = op_fn[slot];
        u->dt = id;
        u->true_lb = l.true_lb;
        u->in_off = hdr;
        u->inout_off = (hdr + span + 63) & ~(size_t)63;
        MPI_Aint at = (MPI_Aint)done * l.extent + l.true_lb;
        memcpy(area + u->in_off, (char *)in + at, span);
        memcpy(area + u->inout_off, (char *)inout + at, span);
        size_t off = u->inout_off;
        px_upcall(TW_UP_OP, off + span);
        memcpy((char *)inout + at, px_area() + off, span);
        done += k;
    }
}

#define T(a, b) \
    static void op_##a##b(void *i, void *o, int *n, MPI_Datatype *d) { op_run((a) * 8 + (b), i, o, n, d); }
#define ROW(a) T(a, 0) T(a, 1) T(a, 2) T(a, 3) T(a, 4) T(a, 5) T(a, 6) T(a, 7)
ROW(0) ROW(1) ROW(2) ROW(3) ROW(4) ROW(5) ROW(6) ROW(7)
#undef T
#define T(a, b) op_##a##b,
static MPI_User_function *const op_tramp[NSLOTS] = {ROW(0) ROW(1) ROW(2) ROW(3) ROW(4) ROW(5) ROW(6) ROW(7)};

int px_MPI_Op_create(px_ctx *x)
{
    uint64_t fn = x->w[0], a_op = x->w[2];
    int commute = (int)x->w[1], slot = 0;
    while (slot < NSLOTS && op_fn[slot]) slot++;
    if (slot == NSLOTS) px_fatal("MPI_Op_create: more than %d user-defined operations at once", NSLOTS);
    MPI_Op op = MPI_OP_NULL;
    int rc = MPI_Op_create(op_tramp[slot], commute, &op);
    if (rc == MPI_SUCCESS) {
        op_fn[slot] = fn;
        uint64_t id = px_reg(x, op, TK_OP);
        px_ent_of(id)->ext = (void *)(uintptr_t)(slot + 1);
        px_out_h(x, a_op, id);
    }
    return px_end(x, rc);
}

/* A checkpoint keeps a user op as its slot, the application's function and
 * whether it commutes; a restart makes it again at the same slot. */
int px_op_save(void *ext, MPI_Op op, uint64_t rec[3])
{
    uintptr_t s = (uintptr_t)ext;
    if (s < 1 || s > NSLOTS) return -1;
    int commute = 1;
    MPI_Op_commutative(op, &commute);
    rec[0] = s - 1;
    rec[1] = op_fn[s - 1];
    rec[2] = (uint64_t)commute;
    return 0;
}

int px_op_restore(const uint64_t rec[3], MPI_Op *op, void **ext)
{
    if (rec[0] >= NSLOTS || op_fn[rec[0]]) return -1;
    if (MPI_Op_create(op_tramp[rec[0]], (int)rec[2], op) != MPI_SUCCESS) return -1;
    op_fn[rec[0]] = rec[1];
    *ext = (void *)(uintptr_t)(rec[0] + 1);
    return 0;
}

void px_op_forget(void *ext)
{
    uintptr_t s = (uintptr_t)ext;
    if (s >= 1 && s <= NSLOTS) op_fn[s - 1] = 0;
}

/* ---- error handlers ---------------------------------------------------------------------- */
static void errh_up(uint32_t obj, MPI_Errhandler eh, uint64_t id, int code)
{
    px_ent *e = px_ent_of(px_lookup(eh));
    if (!e || !e->ext) return;
    tw_up_errh *u = (tw_up_errh *)px_area();
    memset(u, 0, sizeof *u);
    u->kind = TW_UP_ERRH;
    u->obj = obj;
    u->fn = (uint64_t)(uintptr_t)e->ext;
    u->id = id;
    u->code = code;
    px_upcall(TW_UP_ERRH, sizeof *u);
}

static void errh_comm(MPI_Comm *comm, int *code, ...)
{
    MPI_Errhandler eh;
    if (PMPI_Comm_get_errhandler(*comm, &eh) != MPI_SUCCESS) return;
    errh_up(TW_OBJ_COMM, eh, px_comm_id(*comm), *code);
    PMPI_Errhandler_free(&eh);
}

static void errh_file(MPI_File *file, int *code, ...)
{
    MPI_Errhandler eh;
    if (PMPI_File_get_errhandler(*file, &eh) != MPI_SUCCESS) return;
    errh_up(TW_OBJ_FILE, eh, px_lookup(*file), *code);
    PMPI_Errhandler_free(&eh);
}

static int errh_create(px_ctx *x, int file)
{
    uint64_t fn = x->w[0], a_eh = x->w[1];
    MPI_Errhandler eh = MPI_ERRHANDLER_NULL;
    int rc = file ? MPI_File_create_errhandler(errh_file, &eh) : MPI_Comm_create_errhandler(errh_comm, &eh);
    if (rc == MPI_SUCCESS) {
        uint64_t id = px_reg(x, eh, TK_ERRH);
        px_ent_of(id)->ext = (void *)(uintptr_t)fn;
        px_out_h(x, a_eh, id);
    }
    return px_end(x, rc);
}

int px_MPI_Comm_create_errhandler(px_ctx *x) { return errh_create(x, 0); }
int px_MPI_Errhandler_create(px_ctx *x) { return errh_create(x, 0); }
int px_MPI_File_create_errhandler(px_ctx *x) { return errh_create(x, 1); }

/* ---- communicators' ids inside callbacks ------------------------------------------------------- */
/* Open MPI hands a callback its own communicator, not tern's virtual one:
 * each communicator the application gets carries its id in an attribute of
 * the proxy's (not copied by MPI_Comm_dup). */
static int id_keyval = MPI_KEYVAL_INVALID;

void px_comm_tag(MPI_Comm c, uint64_t id)
{
    if (id_keyval == MPI_KEYVAL_INVALID &&
        PMPI_Comm_create_keyval(MPI_COMM_NULL_COPY_FN, MPI_COMM_NULL_DELETE_FN, &id_keyval, NULL))
        return;
    MPI_Comm_set_attr(c, id_keyval, (void *)(uintptr_t)id);
}

uint64_t px_comm_id(MPI_Comm real)
{
    uint64_t id = px_lookup(real);   /* MPI_COMM_WORLD, MPI_COMM_SELF, MPI_COMM_NULL */
    if (id != TW_ID_BAD || id_keyval == MPI_KEYVAL_INVALID) return id;
    void *v = NULL;
    int flag = 0;
    if (PMPI_Comm_get_attr(real, id_keyval, &v, &flag) != MPI_SUCCESS || !flag) return TW_ID_BAD;
    return (uint64_t)(uintptr_t)v;
}

/* ---- attribute callbacks ------------------------------------------------------------------------ */
typedef struct {
    uint64_t copy, del, extra;   /* the application's functions (or TW_FN_ codes), its extra_state */
} keyval_fns;

static int attr_up(uint32_t kind, uint32_t obj, uint64_t fn, uint64_t id, int keyval, uint64_t extra, void *val,
                   int *flag, void *out)
{
    tw_up_attr *u = (tw_up_attr *)px_area();
    memset(u, 0, sizeof *u);
    u->kind = kind;
    u->obj = obj;
    u->fn = fn;
    u->id = id;
    u->keyval = keyval;
    u->extra = extra;
    u->attr = (uint64_t)(uintptr_t)val;
    px_upcall(kind, sizeof *u);
    const tw_updone *d = (const tw_updone *)px_area();
    if (flag) *flag = d->flag;
    if (out) *(void **)out = (void *)(uintptr_t)d->value;
    return d->rc;
}

static int copy_cb(uint32_t obj, uint64_t id, int keyval, void *extra, void *in, void *out, int *flag)
{
    const keyval_fns *k = extra;
    if (!k->copy || k->copy == TW_FN_NULL_COPY) {
        *flag = 0;
        return MPI_SUCCESS;
    }
    if (k->copy == TW_FN_DUP) {
        *(void **)out = in;
        *flag = 1;
        return MPI_SUCCESS;
    }
    return attr_up(TW_UP_COPY, obj, k->copy, id, keyval, k->extra, in, flag, out);
}

static int delete_cb(uint32_t obj, uint64_t id, int keyval, void *val, void *extra)
{
    const keyval_fns *k = extra;
    if (!k->del || k->del == TW_FN_NULL_DELETE) return MPI_SUCCESS;
    return attr_up(TW_UP_DELETE, obj, k->del, id, keyval, k->extra, val, NULL, NULL);
}

static int comm_copy(MPI_Comm c, int kv, void *extra, void *in, void *out, int *flag)
{
    return copy_cb(TW_OBJ_COMM, px_comm_id(c), kv, extra, in, out, flag);
}

static int comm_delete(MPI_Comm c, int kv, void *val, void *extra)
{
    return delete_cb(TW_OBJ_COMM, px_comm_id(c), kv, val, extra);
}

static int type_copy(MPI_Datatype t, int kv, void *extra, void *in, void *out, int *flag)
{
    return copy_cb(TW_OBJ_TYPE, px_lookup(t), kv, extra, in, out, flag);
}

static int type_delete(MPI_Datatype t, int kv, void *val, void *extra)
{
    return delete_cb(TW_OBJ_TYPE, px_lookup(t), kv, val, extra);
}

static int keyval_create(px_ctx *x, int type)
{
    uint64_t a_kv = x->w[2];
    keyval_fns *k = malloc(sizeof *k);   /* lives as long as the keyval's attributes may */
    if (!k) px_fatal("out of memory");
    *k = (keyval_fns){x->w[0], x->w[1], x->w[3]};
    int kv = MPI_KEYVAL_INVALID;
    int rc = type ? MPI_Type_create_keyval(type_copy, type_delete, &kv, k)
                  : MPI_Comm_create_keyval(comm_copy, comm_delete, &kv, k);
    if (rc == MPI_SUCCESS) px_out(x, a_kv, &kv, sizeof kv);
    else free(k);
    return px_end(x, rc);
}

int px_MPI_Comm_create_keyval(px_ctx *x) { return keyval_create(x, 0); }
int px_MPI_Keyval_create(px_ctx *x) { return keyval_create(x, 0); }
int px_MPI_Type_create_keyval(px_ctx *x) { return keyval_create(x, 1); }

/* ---- attribute values ----------------------------------------------------------------------------- */
/* The predefined attributes of a communicator point at ints of the proxy:
 * the shim keeps a copy and points the application at it. */
static int predefined_int(int keyval)
{
    return keyval == MPI_TAG_UB || keyval == MPI_HOST || keyval == MPI_IO || keyval == MPI_WTIME_IS_GLOBAL ||
           keyval == MPI_APPNUM || keyval == MPI_LASTUSEDCODE || keyval == MPI_UNIVERSE_SIZE;
}

static int attr_get(px_ctx *x, int type)
{
    int keyval = (int)x->w[1];
    uint64_t a_val = x->w[2], a_flag = x->w[3];
    void *v = NULL;
    int flag = 0, rc;
    if (type) rc = MPI_Type_get_attr((MPI_Datatype)px_h(x, x->w[0]), keyval, &v, &flag);
    else rc = MPI_Comm_get_attr((MPI_Comm)px_h(x, x->w[0]), keyval, &v, &flag);
    if (rc == MPI_SUCCESS && flag && a_val) {
        if (!type && predefined_int(keyval) && v) {
            tw_attrint *d = px_rec(x, TW_R_ATTRINT, a_val, sizeof *d);
            d->keyval = keyval;
            d->value = *(int *)v;
        } else {
            px_out(x, a_val, &v, sizeof v);
        }
    }
    if (rc == MPI_SUCCESS) px_out(x, a_flag, &flag, sizeof flag);
    return px_end(x, rc);
}

int px_MPI_Comm_get_attr(px_ctx *x) { return attr_get(x, 0); }
int px_MPI_Attr_get(px_ctx *x) { return attr_get(x, 0); }
int px_MPI_Type_get_attr(px_ctx *x) { return attr_get(x, 1); }

/* ---- the MPI_Bsend buffer: the proxy's, of the application's size -------------------------------- */
static void *bsend_buf;
static uint64_t bsend_app;

int px_MPI_Buffer_attach(px_ctx *x)
{
    int size = (int)x->w[1];
    void *p = malloc(size > 0 ? (size_t)size : 1);
    if (!p) return px_end(x, MPI_ERR_NO_MEM);
    int rc = MPI_Buffer_attach(p, size);
    if (rc == MPI_SUCCESS) {
        bsend_buf = p;
        bsend_app = x->w[0];
    } else {
        free(p);
    }
    return px_end(x, rc);
}

int px_MPI_Buffer_detach(px_ctx *x)
{
    uint64_t a_buf = x->w[0], a_size = x->w[1];
    void *p = NULL;
    int size = 0;
    int rc = MPI_Buffer_detach(&p, &size);
    if (rc == MPI_SUCCESS) {
        px_out(x, a_buf, &bsend_app, sizeof bsend_app);
        px_out(x, a_size, &size, sizeof size);
        free(bsend_buf);
        bsend_buf = NULL;
    }
    return px_end(x, rc);
}
