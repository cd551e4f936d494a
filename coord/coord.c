/* coord.c: the entry points MPI_Init, MPI_Init_thread and MPI_Finalize.
 * They are coord's, not mpiwrap's, because they start and end the protocol:
 * mpiwrap (below) offers tern_wrap_after_init and its flags, and coord sets
 * up and tears down what its other modules need (coord/README.md lists
 * them). Owns nothing: the state made here belongs to the modules that
 * make it (control.c, triggers.c, restart.c, ...).
 */
#define _GNU_SOURCE
#include "control.h"
#include "app_refs.h"
#include "cut.h"
#include "hooks.h"
#include "tern.h"
#include "wrap.h"
#include "clock.h"
#include "config.h"
#include "exchange.h"
#include "report.h"
#include "requests.h"
#include "restart.h"
#include "snapshot.h"
#include "triggers.h"

#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>

/* ---- init / finalize -------------------------------------------------------- */
static int test_raise;   /* TERN_TEST_RAISE=1: raise the trigger signal around MPI_Init/Finalize */

static void coord_preinit(void)
{
    install_signal();
    read_config();
    const char *v = getenv("TERN_TEST_RAISE");
    test_raise = v && *v == '1' && cfg_signal;
    if (test_raise) raise(cfg_signal);   /* before MPI_Init: must be ignored */
}

static void coord_after_finalize(void)
{
    if (test_raise) raise(cfg_signal);   /* after MPI_Finalize: must be ignored */
}

/* An application that never refers to tern_snapshot() (a plain mpicc
 * binary under LD_PRELOAD) can never be checkpointed in API mode: say so at
 * MPI_Init, to the events (tern checkpoint answers from there), to request
 * files already waiting and, with an interval, on stderr -- not only at
 * MPI_Finalize. */
#define NO_SNAPSHOT_POINTS \
    "the application has no snapshot points (it does not call tern_snapshot(); API mode checkpoints only there)"

static void report_no_snapshot_points(void)
{
    if (app_imports("tern_snapshot") != 0) return;
    triggers_unservable();
    if (tern_world_rank != 0 || spawned) return;
    event("no_snapshot_points reason=%s", NO_SNAPSHOT_POINTS);
    if (cfg_interval > 0)
        say("TERN_INTERVAL=%g: no checkpoint will be taken: %s", cfg_interval, NO_SNAPSHOT_POINTS);
    rescan_requests();
    requests_answer_all("failed: " NO_SNAPSHOT_POINTS);
}

static void coord_init(void)
{
    control_open();
    scratch_init();
    install_signal();
    if (test_raise) raise(cfg_signal);   /* during MPI_Init: must be ignored */
    interval_restart();
    if (cfg_restart) restart_open();
    /* triggers that arrived before MPI_Init returned are dropped */
    forget_signal();
    /* rank 0 talks to the tern command through the job directory: opened
     * now (made, when TERN_DIR names it), so that a refusal is said at
     * once; tern's own ./tern-ckpt/<job> is made only when first needed */
    if (tern_world_rank == 0 && !spawned) job_dir(!cfg_dir_picked);
    if (tern_restarted())
        event("restarted epoch=%" PRIu64 " time=%.6f", tern_epoch(), tern_now_wall());
    else if (getenv("TERN_DIR"))
        event("started nranks=%d time=%.6f", tern_world_size, tern_now_wall());
    if (tm_hooks) tm_start();   /* transparent mode: the proxy's protocol */
    else report_no_snapshot_points();
}

static void coord_finalize(void)
{
    agree_finish();
    tern_tm_finalize();
    if (tern_world_rank == 0 && !spawned && tm_hooks) {
        rescan_requests();
        requests_answer_all("failed: the job finished before the checkpoint was taken");
    } else if (tern_world_rank == 0 && !spawned) {
        rescan_requests();   /* answer what arrived since the last look too */
        if (snap_count == 0 && (triggers_pending() || requests_waiting()))
            say("a checkpoint was requested, but the application never called tern_snapshot(): "
                "API mode checkpoints only at snapshot points");
        const char *t = snap_count ? "failed: the job finished before a snapshot point"
                                   : "failed: the application has no snapshot points (it never called tern_snapshot())";
        requests_answer_all(t);
    }
    restart_close();
    control_close();
}

/* ---- the entry points ---------------------------------------------------------- */
int MPI_Init(int *argc, char ***argv)
{
    coord_preinit();
    int rc = PMPI_Init(argc, argv);
    if (rc == MPI_SUCCESS) {
        tern_wrap_after_init(MPI_THREAD_SINGLE);
        coord_init();
    }
    return rc;
}

int MPI_Init_thread(int *argc, char ***argv, int required, int *provided)
{
    coord_preinit();
    int rc = PMPI_Init_thread(argc, argv, required, provided);
    if (rc == MPI_SUCCESS) {
        tern_wrap_after_init(*provided);
        coord_init();
    }
    return rc;
}

int MPI_Finalize(void)
{
    if (tern_initialized && !tern_finalized) {
        coord_finalize();
        tern_finalized = 1;
    }
    tern_internal_enter();   /* whatever runs from here on is not the application's */
    int rc = PMPI_Finalize();
    coord_after_finalize();
    return rc;
}
