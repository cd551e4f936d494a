/* wrap_core.c: handle tables and the hand-written wrappers (calls with special
 * semantics: receives and probes that must see drained messages first, request
 * completion, communicator destruction, MPI_Init/Finalize). Everything else is
 * generated from mpi_calls.tbl (see gen_wrappers.py). */
#include "wrap.h"

#include <limits.h>
#include <stdio.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>

int tern_internal;
int tern_initialized, tern_finalized;
int tern_world_rank, tern_world_size;
int tern_thread_level = MPI_THREAD_SINGLE;
int tq_total;

/* ======================================================================== */
/* communicators                                                             */
/* ======================================================================== */
tern_comm **tc_chunks[4096];
tern_comm *tc_world_p, *tc_self_p;
uint32_t tc_count;

static void *xcalloc(size_t n, size_t s)
{
    void *p = calloc(n ? n : 1, s ? s : 1);
    if (!p) {
        fprintf(stderr, "tern: out of memory\n");
        abort();
    }
    return p;
}

void tc_bad_handle(uintptr_t v)
{
    fprintf(stderr, "tern: rank %d: communicator handle %#lx names no communicator of this run "
            "(it was not alive at the checkpoint, tern_recover() was not called, or the restart "
            "is on another rank count or from a protocol version 1 checkpoint: create it again "
            "before tern_recover(); see docs/api.md)\n",
            tern_world_rank, (unsigned long)v);
    PMPI_Abort(MPI_COMM_WORLD, 18);
    _exit(18);
}

tern_comm *tc_by_ordinal(uint32_t ord)
{
    if (ord >= tc_count) return NULL;
    /* after a restart, ordinals that were freed before the checkpoint stay
     * holes, possibly whole chunks of them */
    tern_comm **ch = tc_chunks[ord / TC_CHUNK];
    return ch ? ch[ord % TC_CHUNK] : NULL;
}

static uint64_t mix64(uint64_t h, uint64_t v)
{
    h ^= v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
    h *= 0xff51afd7ed558ccdULL;
    return h ^ (h >> 33);
}

static tern_comm *tc_new_at(MPI_Comm real, MPI_Comm virt_or_null, uint32_t ord)
{
    if (ord / TC_CHUNK >= 4096) {
        fprintf(stderr, "tern: more than %d communicators created\n", 4096 * TC_CHUNK);
        abort();
    }
    if (!tc_chunks[ord / TC_CHUNK]) tc_chunks[ord / TC_CHUNK] = xcalloc(TC_CHUNK, sizeof(tern_comm *));
    tern_comm *c = xcalloc(1, sizeof *c);
    c->real = real;
    c->ordinal = ord;
    c->virt = virt_or_null ? virt_or_null : (MPI_Comm)(((uintptr_t)TERN_TAG_COMM << 48) | ord);
    PMPI_Comm_test_inter(real, &c->inter);
    PMPI_Comm_rank(real, &c->rank);
    PMPI_Comm_size(real, &c->size);
    MPI_Group g, wg;
    if (c->inter) {
        PMPI_Comm_remote_size(real, &c->npeers);
        PMPI_Comm_remote_group(real, &g);
    } else {
        c->npeers = c->size;
        PMPI_Comm_group(real, &g);
    }
    c->sent = xcalloc((size_t)c->npeers, sizeof(uint64_t));
    c->recvd = xcalloc((size_t)c->npeers, sizeof(uint64_t));
    c->world = xcalloc((size_t)c->npeers, sizeof(int));
    int *ranks = xcalloc((size_t)c->npeers, sizeof(int));
    for (int i = 0; i < c->npeers; i++) ranks[i] = i;
    PMPI_Comm_group(MPI_COMM_WORLD, &wg);
    PMPI_Group_translate_ranks(g, c->npeers, ranks, wg, c->world);
    PMPI_Group_free(&g);
    PMPI_Group_free(&wg);
    free(ranks);
    uint64_t h = 0x1234;
    int minw = 1 << 30;
    for (int i = 0; i < c->npeers; i++) {
        h = mix64(h, (uint64_t)(int64_t)c->world[i]);
        if (c->world[i] >= 0 && c->world[i] < minw) minw = c->world[i];
    }
    c->world_hash = h;
    /* Antisymmetric pair weights: s(a,b) = -s(b,a), so over the members of
     * an intracommunicator (or both groups of an intercommunicator) the
     * weights cancel and only unequal collective counts survive the sum. */
    int me = tern_world_rank;
    c->sigw = 0;
    for (int i = 0; i < c->npeers; i++) {
        int w = c->world[i];
        if (w < 0 || w == me) continue;
        int lo = me < w ? me : w, hi = me < w ? w : me;
        uint64_t g = mix64(mix64(0x51c0ffee, (uint64_t)lo), (uint64_t)hi) | 1;
        c->sigw += me < w ? g : (uint64_t)0 - g;
    }
    tc_chunks[ord / TC_CHUNK][ord % TC_CHUNK] = c;
    if (ord >= tc_count) tc_count = ord + 1;
    return c;
}

uint64_t *tern_wsent, *tern_wrecvd;

uint64_t tc_signature(void)
{
    uint64_t sig = 0;
    for (uint32_t o = 0; o < tc_count; o++) {
        tern_comm *c = tc_by_ordinal(o);
        if (!c || c->freed || !c->sigw) continue;
        uint64_t h = (c->gid ^ 0x9e3779b97f4a7c15ULL) * 0xbf58476d1ce4e5b9ULL;
        h ^= (c->coll_seq + 0x632be59bd9b4e019ULL) * 0x94d049bb133111ebULL;
        h ^= h >> 29;
        sig += c->sigw * h;
    }
    return sig;
}

static tern_comm *tc_new(MPI_Comm real, MPI_Comm virt_or_null)
{
    return tc_new_at(real, virt_or_null, tc_count);
}

void tc_init_predefined(void)
{
    tern_wsent = xcalloc((size_t)tern_world_size, sizeof(uint64_t));
    tern_wrecvd = xcalloc((size_t)tern_world_size, sizeof(uint64_t));
    tc_world_p = tc_new(MPI_COMM_WORLD, MPI_COMM_WORLD);
    tc_world_p->ctor = "MPI_COMM_WORLD";
    tc_world_p->gid = 1;
    tc_self_p = tc_new(MPI_COMM_SELF, MPI_COMM_SELF);
    tc_self_p->ctor = "MPI_COMM_SELF";
    tc_self_p->gid = mix64(2, (uint64_t)tern_world_rank);
}

uint64_t tc_ninter;

tern_comm *tc_register_at(MPI_Comm real, uint32_t ord, uint64_t gid, uint64_t nctor, const char *ctor)
{
    if (ord < 2 || tc_by_ordinal(ord)) return NULL;
    tern_comm *c = tc_new_at(real, NULL, ord);
    c->ctor = ctor;
    c->gid = gid;
    c->nctor = nctor;
    return c;
}

void tc_skip_to(uint32_t n)
{
    if (n > tc_count) tc_count = n;
}

MPI_Comm tc_register(MPI_Comm real, tern_comm *parent, const char *ctor)
{
    if (real == MPI_COMM_NULL) {
        if (parent) parent->nctor++;
        return MPI_COMM_NULL;
    }
    if (!parent || tern_internal) return real;   /* foreign parent: stays foreign */
    tern_comm *c = tc_new(real, NULL);
    c->ctor = ctor;
    c->parent = parent->ordinal;
    /* Same on every member: parent's gid, the parent's constructor count (all
     * members of the parent call constructors in the same order) and the
     * member set (tells apart the siblings of one MPI_Comm_split). */
    c->gid = mix64(mix64(parent->gid, ++parent->nctor), c->world_hash);
    if (c->inter) {
        /* the two groups have different parents: name it by both member sets
         * (the same on both sides) and a count of intercommunicators made */
        MPI_Group lg, wg;
        PMPI_Comm_group(real, &lg);
        PMPI_Comm_group(MPI_COMM_WORLD, &wg);
        int *r = xcalloc((size_t)c->size, sizeof(int)), *w = xcalloc((size_t)c->size, sizeof(int));
        for (int i = 0; i < c->size; i++) r[i] = i;
        PMPI_Group_translate_ranks(lg, c->size, r, wg, w);
        uint64_t lh = 0x1234;
        for (int i = 0; i < c->size; i++) lh = mix64(lh, (uint64_t)(int64_t)w[i]);
        PMPI_Group_free(&lg);
        PMPI_Group_free(&wg);
        free(r);
        free(w);
        uint64_t a = lh < c->world_hash ? lh : c->world_hash, b = lh < c->world_hash ? c->world_hash : lh;
        c->gid = mix64(mix64(mix64(a, b), ++tc_ninter), 0x1e7e4);
    }
    return c->virt;
}

/* ======================================================================== */
/* requests                                                                   */
/* ======================================================================== */
tern_req *tr_chunks[16384];
uint32_t tr_hiwater;
static uint32_t tr_free_head = UINT32_MAX;
static unsigned char *tr_reserved;      /* restart: slots kept for saved requests */
static uint32_t tr_nreserved;

static tern_req *tr_slot(uint32_t i)
{
    if (i / TR_CHUNK >= 16384) {
        fprintf(stderr, "tern: too many live requests\n");
        abort();
    }
    if (!tr_chunks[i / TR_CHUNK]) {
        tr_chunks[i / TR_CHUNK] = xcalloc(TR_CHUNK, sizeof(tern_req));
        for (uint32_t k = 0; k < TR_CHUNK; k++) tr_chunks[i / TR_CHUNK][k].idx = (i / TR_CHUNK) * TR_CHUNK + k;
    }
    return &tr_chunks[i / TR_CHUNK][i % TR_CHUNK];
}

/* Only under MPI_THREAD_MULTIPLE (checkpoints are refused then, but the job
 * must run correctly): the pool is shared by the application's threads. */
static volatile int tr_lock_word;
static inline void tr_lock(void)
{
    if (TERN_UNLIKELY(tern_thread_level == MPI_THREAD_MULTIPLE))
        while (__atomic_exchange_n(&tr_lock_word, 1, __ATOMIC_ACQUIRE)) {}
}
static inline void tr_unlock(void)
{
    if (TERN_UNLIKELY(tern_thread_level == MPI_THREAD_MULTIPLE))
        __atomic_store_n(&tr_lock_word, 0, __ATOMIC_RELEASE);
}

tern_req *tr_alloc(void)
{
    tern_req *q;
    tr_lock();
    for (;;) {
        if (tr_free_head != UINT32_MAX) {
            q = tr_slot(tr_free_head);
            tr_free_head = q->next_free;
        } else {
            q = tr_slot(tr_hiwater++);
        }
        if (TERN_UNLIKELY(tr_reserved) && q->idx < tr_nreserved && tr_reserved[q->idx]) continue;
        break;
    }
    tr_unlock();
    q->state = TRS_ACTIVE;
    q->app_freed = 0;
    q->variant = 0;
    return q;
}

void tr_reserve(uint32_t idx)
{
    if (idx >= tr_nreserved) {
        uint32_t n = idx + 64;
        tr_reserved = realloc(tr_reserved, n);
        memset(tr_reserved + tr_nreserved, 0, n - tr_nreserved);
        tr_nreserved = n;
    }
    tr_reserved[idx] = 1;
    tr_slot(idx);
}

tern_req *tr_alloc_at(uint32_t idx)
{
    tern_req *q = tr_slot(idx);
    if (idx < tr_nreserved) tr_reserved[idx] = 0;
    if (idx >= tr_hiwater) {
        /* slots between hiwater and idx go to the free list */
        for (uint32_t k = tr_hiwater; k < idx; k++) {
            tern_req *f = tr_slot(k);
            f->next_free = tr_free_head;
            tr_free_head = k;
        }
        tr_hiwater = idx + 1;
    }
    q->state = TRS_ACTIVE;
    q->app_freed = 0;
    return q;
}

void tr_free(tern_req *q)
{
    tr_lock();
    q->state = TRS_FREE;
    q->real = MPI_REQUEST_NULL;
    q->next_free = tr_free_head;
    tr_free_head = q->idx;
    tr_unlock();
}

tern_req *tr_new(MPI_Request real, int kind, tern_comm *c, const void *buf, int count,
                 MPI_Datatype dt, int peer, int tag)
{
    tern_req *q = tr_alloc();
    q->real = real;
    q->kind = (uint8_t)kind;
    q->state = (kind == TR_PSEND || kind == TR_PRECV) ? TRS_INACTIVE : TRS_ACTIVE;
    q->comm = c;
    q->buf = (void *)buf;
    q->count = count;
    q->dt = dt;
    q->peer = peer;
    q->tag = tag;
    return q;
}

MPI_Request tr_wrap(MPI_Request real, int kind, tern_comm *c, const void *buf,
                    int count, MPI_Datatype dt, int peer, int tag)
{
    if (!c || tern_internal) return real;
    if (real == MPI_REQUEST_NULL && kind != TR_NBC) return real;
    return tr_handle(tr_new(real, kind, c, buf, count, dt, peer, tag));
}

void tr_set_variant(MPI_Request h, const char *ctor)
{
    tern_req *q = tr_get(h);
    if (!q) return;
    q->variant = !strcmp(ctor, "MPI_Bsend_init") ? 1 : !strcmp(ctor, "MPI_Ssend_init") ? 2
               : !strcmp(ctor, "MPI_Rsend_init") ? 3 : 0;
}

/* A real completion of q with status st: count receives. */
void tr_complete(tern_req *q, MPI_Status *st)
{
    if ((q->kind == TR_RECV || q->kind == TR_PRECV || q->kind == TR_MRECV) && q->comm)
        tc_count_recv(q->comm, st);
}

/* After the application has seen q complete: free or deactivate it. */
static void tr_release(tern_req *q, MPI_Request *h)
{
    if (q->kind == TR_PSEND || q->kind == TR_PRECV) {
        q->state = TRS_INACTIVE;
    } else {
        tr_free(q);
        *h = MPI_REQUEST_NULL;
    }
}

/* ======================================================================== */
/* drained-message queue                                                      */
/* ======================================================================== */
tern_msg *tq_find(tern_comm *c, int src, int tag, tern_msg **prev)
{
    tern_msg *p = NULL;
    for (tern_msg *m = c->qhead; m; p = m, m = m->next) {
        if ((src == MPI_ANY_SOURCE || src == m->src) && (tag == MPI_ANY_TAG || tag == m->tag)) {
            if (prev) *prev = p;
            return m;
        }
    }
    return NULL;
}

void tq_unlink(tern_comm *c, tern_msg *m, tern_msg *prev)
{
    if (prev) prev->next = m->next;
    else c->qhead = m->next;
    if (c->qtail == m) c->qtail = prev;
    m->next = NULL;
    c->nq--;
    tq_total--;
}

void tq_append(tern_comm *c, tern_msg *m)
{
    m->next = NULL;
    if (c->qtail) c->qtail->next = m;
    else c->qhead = m;
    c->qtail = m;
    c->nq++;
    tq_total++;
}

void tq_status(const tern_msg *m, MPI_Status *st)
{
    st->MPI_SOURCE = m->src;
    st->MPI_TAG = m->tag;
    st->MPI_ERROR = MPI_SUCCESS;
    PMPI_Status_set_cancelled(st, 0);
    PMPI_Status_set_elements_x(st, MPI_BYTE, (MPI_Count)m->len);
}

int tq_deliver(tern_msg *m, void *buf, int count, MPI_Datatype dt, tern_comm *c,
               MPI_Status *st)
{
    MPI_Status tmp;
    if (!st) st = &tmp;
    tq_status(m, st);
    int tsize = 0;
    PMPI_Type_size(dt, &tsize);
    size_t cap = (size_t)tsize * (size_t)(count > 0 ? count : 0);
    int rc = MPI_SUCCESS;
    size_t n = m->len;
    if (n > cap) {
        n = cap;
        rc = MPI_ERR_TRUNCATE;
        st->MPI_ERROR = rc;
    }
    if (n > 0 && tsize > 0) {
        /* MPI_Unpack takes int sizes: a message over INT_MAX bytes is
         * unpacked a run of whole elements at a time (the drained bytes are
         * the sender's packed representation, element after element) */
        MPI_Aint lb, ext;
        PMPI_Type_get_extent(dt, &lb, &ext);
        size_t elems = n / (size_t)tsize, per = (size_t)INT_MAX / (size_t)tsize, done = 0;
        if (per == 0) per = 1;
        while (done < elems) {
            size_t k = elems - done < per ? elems - done : per;
            int pos = 0;
            PMPI_Unpack(m->data + done * (size_t)tsize, (int)(k * (size_t)tsize), &pos,
                        (char *)buf + (MPI_Aint)done * ext, (int)k, dt, c->real);
            done += k;
        }
    }
    free(m);
    return rc;
}

/* Find, unlink and deliver a drained message matching (src, tag). 1 if one
 * was delivered (rc in *rc). */
static int tq_take(tern_comm *c, int src, int tag, void *buf, int count, MPI_Datatype dt,
                   MPI_Status *st, int *rc)
{
    tern_msg *prev = NULL, *m = tq_find(c, src, tag, &prev);
    if (!m) return 0;
    tq_unlink(c, m, prev);
    *rc = tq_deliver(m, buf, count, dt, c, st);
    return 1;
}

/* ======================================================================== */
/* refusals                                                                   */
/* ======================================================================== */
static int unsafe_open[TERN_UNSAFE_N];
static int unsafe_perm[TERN_UNSAFE_N];
static const char *unsafe_call[TERN_UNSAFE_N];
static const char *const unsafe_why[TERN_UNSAFE_N] = {
    "one-sided communication (RMA) is outside the checkpoint protocol",
    "MPI-IO issued by the application is outside the checkpoint protocol",
    "dynamic process management is outside the checkpoint protocol",
    "MPI_THREAD_MULTIPLE is not supported by the checkpoint protocol",
    "the checkpoint protocol cannot account for this call",
};

void tern_unsafe_mark(const char *call, int kind, int delta)
{
    if (kind < 0 || kind >= TERN_UNSAFE_N) return;
    if (delta > 0) {
        unsafe_open[kind]++;
        unsafe_call[kind] = call;
    } else if (delta < 0) {
        if (unsafe_open[kind] > 0) unsafe_open[kind]--;
    } else {
        unsafe_perm[kind] = 1;
        unsafe_call[kind] = call;
    }
}

int tern_unsafe_reason(char *buf, size_t len)
{
    for (int k = 0; k < TERN_UNSAFE_N; k++) {
        if (unsafe_perm[k] || unsafe_open[k] > 0) {
            snprintf(buf, len, "%s was called and %s%s", unsafe_call[k] ? unsafe_call[k] : "?",
                     unsafe_why[k],
                     unsafe_open[k] > 0 ? " (still in use)" : "");
            return 1;
        }
    }
    return 0;
}

/* ======================================================================== */
/* environment                                                                */
/* ======================================================================== */
static void after_init(void)
{
    PMPI_Comm_rank(MPI_COMM_WORLD, &tern_world_rank);
    PMPI_Comm_size(MPI_COMM_WORLD, &tern_world_size);
    tc_init_predefined();
    tern_initialized = 1;
    tern_coord_init();
}

int MPI_Init(int *argc, char ***argv)
{
    tern_coord_preinit();
    int rc = PMPI_Init(argc, argv);
    if (rc == MPI_SUCCESS) after_init();
    return rc;
}

int MPI_Init_thread(int *argc, char ***argv, int required, int *provided)
{
    tern_coord_preinit();
    int rc = PMPI_Init_thread(argc, argv, required, provided);
    if (rc == MPI_SUCCESS) {
        tern_thread_level = *provided;
        if (*provided == MPI_THREAD_MULTIPLE)
            tern_unsafe_mark("MPI_Init_thread(MPI_THREAD_MULTIPLE)", TERN_UNSAFE_THREAD, 0);
        after_init();
    }
    return rc;
}

int MPI_Finalize(void)
{
    if (tern_initialized && !tern_finalized) {
        tern_coord_finalize();
        tern_finalized = 1;
    }
    tern_internal = 1;   /* whatever runs from here on is not the application's */
    int rc = PMPI_Finalize();
    tern_coord_after_finalize();
    return rc;
}

/* ======================================================================== */
/* receives and probes                                                        */
/* ======================================================================== */
int MPI_Recv(void *buf, int count, MPI_Datatype dt, int source, int tag, MPI_Comm comm,
             MPI_Status *status)
{
    if (TERN_UNLIKELY(tern_internal)) return PMPI_Recv(buf, count, dt, source, tag, comm, status);
    tern_comm *c = tc_get(comm);
    if (!c) return PMPI_Recv(buf, count, dt, source, tag, comm, status);
    int rc;
    if (TERN_UNLIKELY(c->nq) && tq_take(c, source, tag, buf, count, dt, status, &rc)) return rc;
    MPI_Status tmp;
    MPI_Status *st = status ? status : &tmp;
    rc = PMPI_Recv(buf, count, dt, source, tag, c->real, st);
    tc_count_recv(c, st);
    return rc;
}

int MPI_Irecv(void *buf, int count, MPI_Datatype dt, int source, int tag, MPI_Comm comm,
              MPI_Request *request)
{
    if (TERN_UNLIKELY(tern_internal)) return PMPI_Irecv(buf, count, dt, source, tag, comm, request);
    tern_comm *c = tc_get(comm);
    if (!c) return PMPI_Irecv(buf, count, dt, source, tag, comm, request);
    if (TERN_UNLIKELY(c->nq)) {
        tern_msg *prev = NULL, *m = tq_find(c, source, tag, &prev);
        if (m) {
            tern_req *q = tr_new(MPI_REQUEST_NULL, TR_RECV, c, buf, count, dt, source, tag);
            tq_unlink(c, m, prev);
            tq_deliver(m, buf, count, dt, c, &q->st);
            q->state = TRS_DONE;
            *request = tr_handle(q);
            return MPI_SUCCESS;
        }
    }
    MPI_Request r;
    int rc = PMPI_Irecv(buf, count, dt, source, tag, c->real, &r);
    if (rc != MPI_SUCCESS) {
        *request = r;
        return rc;
    }
    *request = tr_handle(tr_new(r, TR_RECV, c, buf, count, dt, source, tag));
    return rc;
}

int MPI_Sendrecv(const void *sendbuf, int sendcount, MPI_Datatype sendtype, int dest,
                 int sendtag, void *recvbuf, int recvcount, MPI_Datatype recvtype,
                 int source, int recvtag, MPI_Comm comm, MPI_Status *status)
{
    if (TERN_UNLIKELY(tern_internal))
        return PMPI_Sendrecv(sendbuf, sendcount, sendtype, dest, sendtag, recvbuf, recvcount,
                             recvtype, source, recvtag, comm, status);
    tern_comm *c = tc_get(comm);
    if (!c)
        return PMPI_Sendrecv(sendbuf, sendcount, sendtype, dest, sendtag, recvbuf, recvcount,
                             recvtype, source, recvtag, comm, status);
    tc_count_send(c, dest);
    if (TERN_UNLIKELY(c->nq) && tq_find(c, source, recvtag, NULL)) {
        MPI_Request r;
        int rc = PMPI_Isend(sendbuf, sendcount, sendtype, dest, sendtag, c->real, &r);
        int rc2;
        tq_take(c, source, recvtag, recvbuf, recvcount, recvtype, status, &rc2);
        PMPI_Wait(&r, MPI_STATUS_IGNORE);
        return rc != MPI_SUCCESS ? rc : rc2;
    }
    MPI_Status tmp;
    MPI_Status *st = status ? status : &tmp;
    int rc = PMPI_Sendrecv(sendbuf, sendcount, sendtype, dest, sendtag, recvbuf, recvcount,
                           recvtype, source, recvtag, c->real, st);
    tc_count_recv(c, st);
    return rc;
}

int MPI_Sendrecv_replace(void *buf, int count, MPI_Datatype dt, int dest, int sendtag,
                         int source, int recvtag, MPI_Comm comm, MPI_Status *status)
{
    if (TERN_UNLIKELY(tern_internal))
        return PMPI_Sendrecv_replace(buf, count, dt, dest, sendtag, source, recvtag, comm, status);
    tern_comm *c = tc_get(comm);
    if (!c) return PMPI_Sendrecv_replace(buf, count, dt, dest, sendtag, source, recvtag, comm, status);
    tc_count_send(c, dest);
    if (TERN_UNLIKELY(c->nq) && tq_find(c, source, recvtag, NULL)) {
        int psize = 0, pos = 0;
        PMPI_Pack_size(count, dt, c->real, &psize);
        void *tmpb = malloc(psize ? (size_t)psize : 1);
        PMPI_Pack(buf, count, dt, tmpb, psize, &pos, c->real);
        MPI_Request r;
        int rc = PMPI_Isend(tmpb, pos, MPI_PACKED, dest, sendtag, c->real, &r);
        int rc2;
        tq_take(c, source, recvtag, buf, count, dt, status, &rc2);
        PMPI_Wait(&r, MPI_STATUS_IGNORE);
        free(tmpb);
        return rc != MPI_SUCCESS ? rc : rc2;
    }
    MPI_Status tmp;
    MPI_Status *st = status ? status : &tmp;
    int rc = PMPI_Sendrecv_replace(buf, count, dt, dest, sendtag, source, recvtag, c->real, st);
    tc_count_recv(c, st);
    return rc;
}

int MPI_Probe(int source, int tag, MPI_Comm comm, MPI_Status *status)
{
    if (TERN_UNLIKELY(tern_internal)) return PMPI_Probe(source, tag, comm, status);
    tern_comm *c = tc_get(comm);
    if (!c) return PMPI_Probe(source, tag, comm, status);
    if (TERN_UNLIKELY(c->nq)) {
        tern_msg *m = tq_find(c, source, tag, NULL);
        if (m) {
            if (status) tq_status(m, status);
            return MPI_SUCCESS;
        }
    }
    return PMPI_Probe(source, tag, c->real, status);
}

int MPI_Iprobe(int source, int tag, MPI_Comm comm, int *flag, MPI_Status *status)
{
    if (TERN_UNLIKELY(tern_internal)) return PMPI_Iprobe(source, tag, comm, flag, status);
    tern_comm *c = tc_get(comm);
    if (!c) return PMPI_Iprobe(source, tag, comm, flag, status);
    if (TERN_UNLIKELY(c->nq)) {
        tern_msg *m = tq_find(c, source, tag, NULL);
        if (m) {
            *flag = 1;
            if (status) tq_status(m, status);
            return MPI_SUCCESS;
        }
    }
    return PMPI_Iprobe(source, tag, c->real, flag, status);
}

/* Matched probes: every message handle given to the application is virtual,
 * so that MPI_Mrecv knows the communicator (for counting) or the drained
 * message it stands for. */
static tern_mmsg *mm_tab;
static uint32_t mm_n, mm_cap;

static MPI_Message mm_new(MPI_Message real, tern_msg *drained, tern_comm *c)
{
    uint32_t i;
    for (i = 0; i < mm_n; i++)
        if (!mm_tab[i].used) break;
    if (i == mm_n) {
        if (mm_n == mm_cap) {
            mm_cap = mm_cap ? 2 * mm_cap : 16;
            mm_tab = realloc(mm_tab, mm_cap * sizeof *mm_tab);
        }
        mm_n++;
    }
    mm_tab[i] = (tern_mmsg){ real, drained, c, 1 };
    return (MPI_Message)(((uintptr_t)TERN_TAG_MSG << 48) | i);
}

static tern_mmsg *mm_get(MPI_Message h)
{
    uintptr_t v = (uintptr_t)h;
    if ((v >> 48) != TERN_TAG_MSG) return NULL;
    uint32_t i = (uint32_t)v;
    return i < mm_n && mm_tab[i].used ? &mm_tab[i] : NULL;
}

static int improbe_common(int source, int tag, tern_comm *c, int *flag, MPI_Message *message,
                          MPI_Status *status, int blocking)
{
    if (TERN_UNLIKELY(c->nq)) {
        tern_msg *prev = NULL, *m = tq_find(c, source, tag, &prev);
        if (m) {
            tq_unlink(c, m, prev);
            if (status) tq_status(m, status);
            *flag = 1;
            *message = mm_new(MPI_MESSAGE_NULL, m, c);
            return MPI_SUCCESS;
        }
    }
    MPI_Message r = MPI_MESSAGE_NULL;
    int rc = blocking ? PMPI_Mprobe(source, tag, c->real, &r, status)
                      : PMPI_Improbe(source, tag, c->real, flag, &r, status);
    if (blocking) *flag = 1;
    if (rc == MPI_SUCCESS && *flag && r != MPI_MESSAGE_NULL && r != MPI_MESSAGE_NO_PROC)
        *message = mm_new(r, NULL, c);
    else
        *message = r;
    return rc;
}

int MPI_Mprobe(int source, int tag, MPI_Comm comm, MPI_Message *message, MPI_Status *status)
{
    tern_comm *c = tern_internal ? NULL : tc_get(comm);
    if (!c) return PMPI_Mprobe(source, tag, comm, message, status);
    int flag;
    return improbe_common(source, tag, c, &flag, message, status, 1);
}

int MPI_Improbe(int source, int tag, MPI_Comm comm, int *flag, MPI_Message *message,
                MPI_Status *status)
{
    tern_comm *c = tern_internal ? NULL : tc_get(comm);
    if (!c) return PMPI_Improbe(source, tag, comm, flag, message, status);
    return improbe_common(source, tag, c, flag, message, status, 0);
}

int MPI_Mrecv(void *buf, int count, MPI_Datatype dt, MPI_Message *message, MPI_Status *status)
{
    tern_mmsg *mm = mm_get(*message);
    if (!mm) return PMPI_Mrecv(buf, count, dt, message, status);
    tern_mmsg m = *mm;
    mm->used = 0;
    *message = MPI_MESSAGE_NULL;
    if (m.drained) return tq_deliver(m.drained, buf, count, dt, m.comm, status);
    MPI_Status tmp;
    MPI_Status *st = status ? status : &tmp;
    int rc = PMPI_Mrecv(buf, count, dt, &m.real, st);
    tc_count_recv(m.comm, st);
    return rc;
}

int MPI_Imrecv(void *buf, int count, MPI_Datatype dt, MPI_Message *message, MPI_Request *request)
{
    tern_mmsg *mm = mm_get(*message);
    if (!mm) return PMPI_Imrecv(buf, count, dt, message, request);
    tern_mmsg m = *mm;
    mm->used = 0;
    *message = MPI_MESSAGE_NULL;
    tern_req *q = tr_new(MPI_REQUEST_NULL, TR_MRECV, m.comm, buf, count, dt, MPI_ANY_SOURCE, MPI_ANY_TAG);
    if (m.drained) {
        tq_deliver(m.drained, buf, count, dt, m.comm, &q->st);
        q->state = TRS_DONE;
        *request = tr_handle(q);
        return MPI_SUCCESS;
    }
    int rc = PMPI_Imrecv(buf, count, dt, &m.real, &q->real);
    *request = tr_handle(q);
    return rc;
}

MPI_Fint MPI_Message_c2f(MPI_Message message)
{
    tern_mmsg *mm = mm_get(message);
    return PMPI_Message_c2f(mm ? mm->real : message);
}

/* ======================================================================== */
/* request completion                                                         */
/* ======================================================================== */
int MPI_Wait(MPI_Request *request, MPI_Status *status)
{
    tern_req *q = tr_get(*request);
    if (!q) return PMPI_Wait(request, status);
    MPI_Status tmp;
    MPI_Status *st = status ? status : &tmp;
    int rc = MPI_SUCCESS;
    if (q->state == TRS_DONE) {
        *st = q->st;
        rc = st->MPI_ERROR == MPI_ERR_TRUNCATE ? MPI_ERR_TRUNCATE : MPI_SUCCESS;
    } else if (q->state == TRS_ACTIVE) {
        rc = PMPI_Wait(&q->real, st);
        tr_complete(q, st);
    } else {
        /* inactive persistent request: empty status */
        return PMPI_Wait(&q->real, status);
    }
    tr_release(q, request);
    return rc;
}

int MPI_Test(MPI_Request *request, int *flag, MPI_Status *status)
{
    tern_req *q = tr_get(*request);
    if (!q) return PMPI_Test(request, flag, status);
    MPI_Status tmp;
    MPI_Status *st = status ? status : &tmp;
    int rc = MPI_SUCCESS;
    if (q->state == TRS_DONE) {
        *st = q->st;
        *flag = 1;
    } else if (q->state == TRS_ACTIVE) {
        rc = PMPI_Test(&q->real, flag, st);
        if (!*flag) return rc;
        tr_complete(q, st);
    } else {
        return PMPI_Test(&q->real, flag, status);
    }
    tr_release(q, request);
    return rc;
}

#define LOCAL_N 64
/* Translate an array of requests into real[]; returns the number of virtual
 * requests tern already completed (state DONE). */
static int xlate(int n, MPI_Request *reqs, MPI_Request *real)
{
    int ndone = 0;
    for (int i = 0; i < n; i++) {
        tern_req *q = tr_get(reqs[i]);
        if (!q) real[i] = reqs[i];
        else if (q->state == TRS_DONE) {
            real[i] = MPI_REQUEST_NULL;
            ndone++;
        } else real[i] = q->real;
    }
    return ndone;
}

/* After the real call: for index i, complete the application's view. `done`
 * says whether the real request i completed in this call. */
static void finish_one(MPI_Request *reqs, MPI_Request *real, int i, MPI_Status *st, int done)
{
    tern_req *q = tr_get(reqs[i]);
    if (!q) {
        reqs[i] = real[i];
        return;
    }
    if (q->state == TRS_DONE) {
        if (st) *st = q->st;
        tr_release(q, &reqs[i]);
        return;
    }
    q->real = real[i];
    if (done && q->state == TRS_ACTIVE) {
        tr_complete(q, st);
        tr_release(q, &reqs[i]);
    }
}

int MPI_Waitall(int n, MPI_Request reqs[], MPI_Status stats[])
{
    MPI_Request lr[LOCAL_N];
    MPI_Status ls[LOCAL_N];
    MPI_Request *real = n <= LOCAL_N ? lr : malloc(sizeof(MPI_Request) * (size_t)n);
    MPI_Status *st = stats != MPI_STATUSES_IGNORE ? stats
                   : n <= LOCAL_N ? ls : malloc(sizeof(MPI_Status) * (size_t)n);
    xlate(n, reqs, real);
    int rc = PMPI_Waitall(n, real, st);
    for (int i = 0; i < n; i++) finish_one(reqs, real, i, &st[i], 1);
    if (real != lr) free(real);
    if (st != stats && st != ls) free(st);
    return rc;
}

int MPI_Testall(int n, MPI_Request reqs[], int *flag, MPI_Status stats[])
{
    MPI_Request lr[LOCAL_N];
    MPI_Status ls[LOCAL_N];
    MPI_Request *real = n <= LOCAL_N ? lr : malloc(sizeof(MPI_Request) * (size_t)n);
    MPI_Status *st = stats != MPI_STATUSES_IGNORE ? stats
                   : n <= LOCAL_N ? ls : malloc(sizeof(MPI_Status) * (size_t)n);
    xlate(n, reqs, real);
    int rc = PMPI_Testall(n, real, flag, st);
    if (*flag)
        for (int i = 0; i < n; i++) finish_one(reqs, real, i, &st[i], 1);
    else
        for (int i = 0; i < n; i++) {
            tern_req *q = tr_get(reqs[i]);
            if (q && q->state != TRS_DONE) q->real = real[i];
        }
    if (real != lr) free(real);
    if (st != stats && st != ls) free(st);
    return rc;
}

static int anyhelper(int n, MPI_Request reqs[], int *index, int *flag, MPI_Status *status, int blocking)
{
    /* a request tern already completed goes first */
    for (int i = 0; i < n; i++) {
        tern_req *q = tr_get(reqs[i]);
        if (q && q->state == TRS_DONE) {
            if (status) *status = q->st;
            *index = i;
            *flag = 1;
            tr_release(q, &reqs[i]);
            return MPI_SUCCESS;
        }
    }
    MPI_Request lr[LOCAL_N];
    MPI_Request *real = n <= LOCAL_N ? lr : malloc(sizeof(MPI_Request) * (size_t)n);
    xlate(n, reqs, real);
    MPI_Status tmp;
    MPI_Status *st = status ? status : &tmp;
    int rc = blocking ? PMPI_Waitany(n, real, index, st) : PMPI_Testany(n, real, index, flag, st);
    if (blocking) *flag = 1;
    for (int i = 0; i < n; i++) {
        if (i == *index) finish_one(reqs, real, i, st, 1);
        else {
            tern_req *q = tr_get(reqs[i]);
            if (q) q->real = real[i];
        }
    }
    if (real != lr) free(real);
    return rc;
}

int MPI_Waitany(int n, MPI_Request reqs[], int *index, MPI_Status *status)
{
    int flag;
    return anyhelper(n, reqs, index, &flag, status, 1);
}

int MPI_Testany(int n, MPI_Request reqs[], int *index, int *flag, MPI_Status *status)
{
    return anyhelper(n, reqs, index, flag, status, 0);
}

static int somehelper(int n, MPI_Request reqs[], int *outcount, int idx[], MPI_Status stats[], int blocking)
{
    MPI_Request lr[LOCAL_N];
    MPI_Status ls[LOCAL_N];
    int li[LOCAL_N];
    MPI_Request *real = n <= LOCAL_N ? lr : malloc(sizeof(MPI_Request) * (size_t)n);
    MPI_Status *st = n <= LOCAL_N ? ls : malloc(sizeof(MPI_Status) * (size_t)n);
    int *ri = n <= LOCAL_N ? li : malloc(sizeof(int) * (size_t)n);
    int ndone = xlate(n, reqs, real);
    int rc, rn = 0;
    if (ndone) rc = PMPI_Testsome(n, real, &rn, ri, st);
    else rc = blocking ? PMPI_Waitsome(n, real, &rn, ri, st) : PMPI_Testsome(n, real, &rn, ri, st);
    int out = 0, undefined = 0;
    if (rn == MPI_UNDEFINED) {
        undefined = !ndone;
        rn = 0;
    }
    /* map the real completions: pos[i] = index into st[] or -1 */
    int *pos = malloc(sizeof(int) * ((size_t)n + 1));
    for (int i = 0; i < n; i++) pos[i] = -1;
    for (int k = 0; k < rn; k++) pos[ri[k]] = k;
    for (int i = 0; i < n; i++) {
        tern_req *q = tr_get(reqs[i]);
        if (q && q->state == TRS_DONE) {
            if (stats != MPI_STATUSES_IGNORE) stats[out] = q->st;
            idx[out++] = i;
            tr_release(q, &reqs[i]);
        } else if (pos[i] >= 0) {
            MPI_Status *s = &st[pos[i]];
            finish_one(reqs, real, i, s, 1);
            if (stats != MPI_STATUSES_IGNORE) stats[out] = *s;
            idx[out++] = i;
        } else if (q) {
            q->real = real[i];
        }
    }
    free(pos);
    *outcount = undefined ? MPI_UNDEFINED : out;
    if (real != lr) free(real);
    if (st != ls) free(st);
    if (ri != li) free(ri);
    return rc;
}

int MPI_Waitsome(int n, MPI_Request reqs[], int *outcount, int idx[], MPI_Status stats[])
{
    return somehelper(n, reqs, outcount, idx, stats, 1);
}

int MPI_Testsome(int n, MPI_Request reqs[], int *outcount, int idx[], MPI_Status stats[])
{
    return somehelper(n, reqs, outcount, idx, stats, 0);
}

int MPI_Start(MPI_Request *request)
{
    tern_req *q = tr_get(*request);
    if (!q) return PMPI_Start(request);
    if (q->kind == TR_PSEND) {
        tc_count_send(q->comm, q->peer);
    } else if (q->kind == TR_PRECV && TERN_UNLIKELY(q->comm->nq)) {
        int rc;
        if (tq_take(q->comm, q->peer, q->tag, q->buf, q->count, q->dt, &q->st, &rc)) {
            q->state = TRS_DONE;
            return MPI_SUCCESS;
        }
    }
    q->state = TRS_ACTIVE;
    return PMPI_Start(&q->real);
}

int MPI_Startall(int n, MPI_Request reqs[])
{
    int rc = MPI_SUCCESS;
    for (int i = 0; i < n; i++) {
        int r = MPI_Start(&reqs[i]);
        if (r != MPI_SUCCESS) rc = r;
    }
    return rc;
}

int MPI_Cancel(MPI_Request *request)
{
    tern_req *q = tr_get(*request);
    if (!q) return PMPI_Cancel(request);
    if (q->state != TRS_ACTIVE) return MPI_SUCCESS;   /* completed by tern: too late */
    return PMPI_Cancel(&q->real);
}

int MPI_Request_free(MPI_Request *request)
{
    tern_req *q = tr_get(*request);
    if (!q) return PMPI_Request_free(request);
    int rc = MPI_SUCCESS;
    if (q->state == TRS_ACTIVE && (q->kind == TR_RECV || q->kind == TR_PRECV || q->kind == TR_MRECV))
        tern_unsafe_mark("MPI_Request_free (of an active receive)", TERN_UNSAFE_MISC, 0);
    if (q->real != MPI_REQUEST_NULL) rc = PMPI_Request_free(&q->real);
    tr_free(q);
    *request = MPI_REQUEST_NULL;
    return rc;
}

int MPI_Request_get_status(MPI_Request request, int *flag, MPI_Status *status)
{
    tern_req *q = tr_get(request);
    if (!q) return PMPI_Request_get_status(request, flag, status);
    if (q->state == TRS_DONE) {
        *flag = 1;
        if (status) *status = q->st;
        return MPI_SUCCESS;
    }
    return PMPI_Request_get_status(q->real, flag, status);
}

MPI_Fint MPI_Request_c2f(MPI_Request request)
{
    tern_req *q = tr_get(request);
    return PMPI_Request_c2f(q ? q->real : request);
}

int MPI_Grequest_start(MPI_Grequest_query_function *query_fn, MPI_Grequest_free_function *free_fn,
                       MPI_Grequest_cancel_function *cancel_fn, void *extra_state,
                       MPI_Request *request)
{
    MPI_Request r;
    int rc = PMPI_Grequest_start(query_fn, free_fn, cancel_fn, extra_state, &r);
    if (rc != MPI_SUCCESS || tern_internal) {
        *request = r;
        return rc;
    }
    *request = tr_wrap(r, TR_GREQ, tc_world_p, NULL, 0, MPI_DATATYPE_NULL, -1, -1);
    return rc;
}

int MPI_Grequest_complete(MPI_Request request)
{
    tern_req *q = tr_get(request);
    return PMPI_Grequest_complete(q ? q->real : request);
}

/* ======================================================================== */
/* communicator destructors                                                   */
/* ======================================================================== */
static int comm_destroy(MPI_Comm *comm, int disconnect)
{
    uintptr_t v = (uintptr_t)*comm;
    if (tern_internal || (v >> 48) != TERN_TAG_COMM)
        return disconnect ? PMPI_Comm_disconnect(comm) : PMPI_Comm_free(comm);
    tern_comm *c = tc_get(*comm);
    MPI_Comm r = c->real;
    int rc = disconnect ? PMPI_Comm_disconnect(&r) : PMPI_Comm_free(&r);
    if (rc == MPI_SUCCESS) {
        c->freed = 1;
        c->real = MPI_COMM_NULL;
        /* entry kept (ordinals are never reused), counters dropped: a freed
         * communicator carries no messages (MPI requires pending operations
         * to complete) */
        for (int i = 0; i < c->npeers; i++) {
            int w = c->world[i];
            if (w < 0) continue;
            tern_wsent[w] -= c->sent[i];
            tern_wrecvd[w] -= c->recvd[i];
        }
        while (c->qhead) {
            tern_msg *m = c->qhead;
            tq_unlink(c, m, NULL);
            free(m);
        }
        *comm = MPI_COMM_NULL;
    }
    return rc;
}

int MPI_Comm_free(MPI_Comm *comm) { return comm_destroy(comm, 0); }
int MPI_Comm_disconnect(MPI_Comm *comm) { return comm_destroy(comm, 1); }
