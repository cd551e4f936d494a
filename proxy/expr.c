/* expr.c: the functions mpiwrap/mpi_roles.tbl's sizes and conditions use
 * (px_dispatch.h). Communicators are tern's (virtual) ones: MPI_*, whose
 * translating wrappers count nothing. */
#include "px_dispatch.h"

static int inter(MPI_Comm c)
{
    int f = 0;
    MPI_Comm_test_inter(c, &f);
    return f;
}

int px_np(MPI_Comm c)
{
    int n = 0;
    if (inter(c)) MPI_Comm_remote_size(c, &n);
    else MPI_Comm_size(c, &n);
    return n;
}

int px_lsize(MPI_Comm c)
{
    int n = 0;
    MPI_Comm_size(c, &n);
    return n;
}

int px_rank(MPI_Comm c)
{
    int r = 0;
    MPI_Comm_rank(c, &r);
    return r;
}

int px_cartdim(MPI_Comm c)
{
    int n = 0;
    MPI_Cartdim_get(c, &n);
    return n;
}

/* a topology's neighbours: in == 1 the sources, else the destinations */
static int degree(MPI_Comm c, int in)
{
    int t = MPI_UNDEFINED, n = 0, out = 0, w = 0;
    MPI_Topo_test(c, &t);
    if (t == MPI_CART) {
        MPI_Cartdim_get(c, &n);
        return 2 * n;
    }
    if (t == MPI_GRAPH) {
        MPI_Graph_neighbors_count(c, px_rank(c), &n);
        return n;
    }
    if (t == MPI_DIST_GRAPH) {
        MPI_Dist_graph_neighbors_count(c, &n, &out, &w);
        return in ? n : out;
    }
    return 0;
}

int px_indeg(MPI_Comm c) { return degree(c, 1); }
int px_outdeg(MPI_Comm c) { return degree(c, 0); }

int64_t px_sum(const int *a, int n)
{
    int64_t s = 0;
    for (int i = 0; a && i < n; i++) s += a[i];
    return s;
}

/* rooted collectives: the root's buffers, the others' (intercommunicators:
 * MPI_ROOT in the root's group, a rank in the other) */
int px_root(MPI_Comm c, int root)
{
    return inter(c) ? root == MPI_ROOT : px_rank(c) == root;
}

int px_leaf(MPI_Comm c, int root)
{
    return inter(c) ? root != MPI_ROOT && root != MPI_PROC_NULL : 1;
}
