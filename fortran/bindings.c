/* bindings.c: the Fortran bindings that are not mechanical (bindings.h):
 * MPI_Init without argc/argv, arrays of requests and statuses and the
 * 1-based indices of the multiple-completion calls, the datatype arrays of
 * alltoallw, and Fortran generalized requests. Each converts and calls tern's
 * C entry point, so the requests are the same virtual ones as C's. */
#include "bindings.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/* ---- init and finalize: coord's entry points -------------------------------------- */
int tf_init(void)
{
    int argc = 0;
    char **argv = NULL;
    return MPI_Init(&argc, &argv);
}

int tf_init_thread(MPI_Fint *required, MPI_Fint *provided)
{
    int argc = 0, prov = MPI_THREAD_SINGLE;
    char **argv = NULL;
    int rc = MPI_Init_thread(&argc, &argv, *required, &prov);
    *provided = prov;
    return rc;
}

int tf_finalize(void) { return MPI_Finalize(); }

/* ---- arrays of requests and statuses --------------------------------------------- */
/* A call's C arrays: on the stack up to TF_NREQ requests, else on the heap. */
#define TF_NREQ 32
typedef struct {
    int n;
    MPI_Fint *freqs, *fstats;
    MPI_Request *reqs;
    MPI_Status *stats;         /* MPI_STATUSES_IGNORE, or n statuses */
    MPI_Request rbuf[TF_NREQ];
    MPI_Status sbuf[TF_NREQ];
} tf_arrays;

static void *tf_alloc(size_t n, size_t size)
{
    void *p = malloc(n * size);
    if (!p) {
        fprintf(stderr, "tern: rank %d: out of memory converting %zu Fortran requests\n", tern_world_rank, n);
        PMPI_Abort(MPI_COMM_WORLD, 19);
        _exit(19);
    }
    return p;
}

static void arrays_in(tf_arrays *a, MPI_Fint *count, MPI_Fint *freqs, MPI_Fint *fstats)
{
    a->n = *count > 0 ? *count : 0;
    a->freqs = freqs;
    a->fstats = fstats;
    a->reqs = a->n <= TF_NREQ ? a->rbuf : tf_alloc((size_t)a->n, sizeof(MPI_Request));
    for (int i = 0; i < a->n; i++) a->reqs[i] = tf_req_f2c(freqs[i]);
    if (!fstats || fstats == MPI_F_STATUSES_IGNORE) {
        a->stats = MPI_STATUSES_IGNORE;
        return;
    }
    a->stats = a->n <= TF_NREQ ? a->sbuf : tf_alloc((size_t)a->n, sizeof(MPI_Status));
    memcpy(a->stats, fstats, sizeof(MPI_Status) * (size_t)a->n);
}

/* the requests (completed ones are MPI_REQUEST_NULL now) and statuses back */
static void arrays_out(tf_arrays *a)
{
    for (int i = 0; i < a->n; i++) a->freqs[i] = tf_req_c2f(a->reqs[i]);
    if (a->stats != MPI_STATUSES_IGNORE) {
        memcpy(a->fstats, a->stats, sizeof(MPI_Status) * (size_t)a->n);
        if (a->stats != a->sbuf) free(a->stats);
    }
    if (a->reqs != a->rbuf) free(a->reqs);
}

/* C's 0-based index to Fortran's 1-based one */
static void index_out(int c, MPI_Fint *f) { *f = c == MPI_UNDEFINED ? c : c + 1; }

int tf_waitall(MPI_Fint *count, MPI_Fint *reqs, MPI_Fint *stats)
{
    tf_arrays a;
    arrays_in(&a, count, reqs, stats);
    int rc = MPI_Waitall(a.n, a.reqs, a.stats);
    arrays_out(&a);
    return rc;
}

int tf_testall(MPI_Fint *count, MPI_Fint *reqs, MPI_Fint *flag, MPI_Fint *stats)
{
    tf_arrays a;
    arrays_in(&a, count, reqs, stats);
    int rc = MPI_Testall(a.n, a.reqs, flag, a.stats);
    arrays_out(&a);
    return rc;
}

int tf_waitany(MPI_Fint *count, MPI_Fint *reqs, MPI_Fint *index, MPI_Fint *status)
{
    tf_arrays a;
    arrays_in(&a, count, reqs, NULL);
    MPI_Status s, *st = tf_status_in(status, &s);
    int idx = MPI_UNDEFINED;
    int rc = MPI_Waitany(a.n, a.reqs, &idx, st);
    arrays_out(&a);
    tf_status_out(st, status);
    index_out(idx, index);
    return rc;
}

int tf_testany(MPI_Fint *count, MPI_Fint *reqs, MPI_Fint *index, MPI_Fint *flag, MPI_Fint *status)
{
    tf_arrays a;
    arrays_in(&a, count, reqs, NULL);
    MPI_Status s, *st = tf_status_in(status, &s);
    int idx = MPI_UNDEFINED;
    int rc = MPI_Testany(a.n, a.reqs, &idx, flag, st);
    arrays_out(&a);
    tf_status_out(st, status);
    index_out(idx, index);
    return rc;
}

/* Waitsome / Testsome: C writes its indices into the Fortran array (the same
 * int size), which then become 1-based */
static int some(int blocking, MPI_Fint *incount, MPI_Fint *reqs, MPI_Fint *outcount,
                MPI_Fint *indices, MPI_Fint *stats)
{
    tf_arrays a;
    arrays_in(&a, incount, reqs, stats);
    int rc = blocking ? MPI_Waitsome(a.n, a.reqs, outcount, indices, a.stats)
                      : MPI_Testsome(a.n, a.reqs, outcount, indices, a.stats);
    arrays_out(&a);
    if (*outcount != MPI_UNDEFINED)
        for (int i = 0; i < *outcount; i++) indices[i]++;
    return rc;
}

int tf_waitsome(MPI_Fint *incount, MPI_Fint *reqs, MPI_Fint *outcount, MPI_Fint *indices,
                MPI_Fint *stats)
{
    return some(1, incount, reqs, outcount, indices, stats);
}

int tf_testsome(MPI_Fint *incount, MPI_Fint *reqs, MPI_Fint *outcount, MPI_Fint *indices,
                MPI_Fint *stats)
{
    return some(0, incount, reqs, outcount, indices, stats);
}

int tf_startall(MPI_Fint *count, MPI_Fint *reqs)
{
    tf_arrays a;
    arrays_in(&a, count, reqs, NULL);
    int rc = MPI_Startall(a.n, a.reqs);
    arrays_out(&a);
    return rc;
}

/* ---- alltoallw's datatype arrays ------------------------------------------------- */
static int peers(MPI_Comm comm, int which)
{
    int n = 0, inter = 0, topo = MPI_UNDEFINED, rank = 0, in = 0, out = 0, weighted = 0;
    if (!(which & TF_NEIGHBOR)) {
        MPI_Comm_test_inter(comm, &inter);
        if (inter) MPI_Comm_remote_size(comm, &n);
        else MPI_Comm_size(comm, &n);
        return n;
    }
    MPI_Topo_test(comm, &topo);
    if (topo == MPI_CART) {
        MPI_Cartdim_get(comm, &n);
        return 2 * n;
    }
    if (topo == MPI_GRAPH) {
        MPI_Comm_rank(comm, &rank);
        MPI_Graph_neighbors_count(comm, rank, &n);
        return n;
    }
    if (topo == MPI_DIST_GRAPH) {
        MPI_Dist_graph_neighbors_count(comm, &in, &out, &weighted);
        return (which & TF_RECV) ? in : out;
    }
    return 0;   /* no topology: the C call reports the error */
}

MPI_Datatype *tf_types(const MPI_Fint *f, MPI_Comm comm, int which, MPI_Datatype *stack)
{
    int n = peers(comm, which);
    MPI_Datatype *t = n <= TF_NTYPES ? stack : tf_alloc((size_t)n, sizeof(MPI_Datatype));
    for (int i = 0; i < n; i++) t[i] = PMPI_Type_f2c(f[i]);
    return t;
}

void tf_types_done(MPI_Datatype *t, const MPI_Datatype *stack)
{
    if (t != stack) free(t);
}

/* ---- generalized requests ---------------------------------------------------------- */
/* Open MPI's Fortran binding registers the Fortran callbacks (called with
 * Fortran arguments); the request becomes tern's, as MPI_Grequest_start's
 * does, so that a checkpoint refuses it while it is active. */
void pmpi_grequest_start_(void *query_fn, void *free_fn, void *cancel_fn, void *extra_state,
                          MPI_Fint *request, MPI_Fint *ierror);

int tf_grequest_start(void *query_fn, void *free_fn, void *cancel_fn, void *extra_state,
                      MPI_Fint *request)
{
    MPI_Fint rc = MPI_SUCCESS, real = 0;
    pmpi_grequest_start_(query_fn, free_fn, cancel_fn, extra_state, &real, &rc);
    if (rc != MPI_SUCCESS) return rc;
    MPI_Request r = PMPI_Request_f2c(real);
    *request = tf_req_c2f(tr_wrap(r, TR_GREQ, tc_world_p, NULL, 0, MPI_DATATYPE_NULL, -1, -1));
    return rc;
}
