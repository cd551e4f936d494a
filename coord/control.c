#include "control.h"
#include "wrap.h"

MPI_Comm ctrl = MPI_COMM_NULL;
int spawned;

void control_open(void)
{
    tern_internal_enter();
    PMPI_Comm_dup(MPI_COMM_WORLD, &ctrl);
    PMPI_Comm_set_name(ctrl, "tern-control");
    tern_internal_leave();
    MPI_Comm parent = MPI_COMM_NULL;
    PMPI_Comm_get_parent(&parent);
    if (parent != MPI_COMM_NULL) {
        /* a spawned child: not part of the job's protocol, writes no events */
        spawned = 1;
        tern_unsafe_mark("MPI_Comm_spawn (this process was spawned)", TERN_UNSAFE_DYN, 0);
    }
}

void control_close(void)
{
    tern_internal_enter();
    PMPI_Comm_free(&ctrl);
    tern_internal_leave();
}
