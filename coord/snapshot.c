/* snapshot.c: tern_snapshot() -- AGREE on the trigger bits of all ranks, one
 * snapshot point behind, and serve a decided checkpoint: choose its epoch,
 * run it (checkpoint.c), report the outcome and answer the requests it
 * served. Separate because it is the pacing of the protocol, not its work.
 */
#define _GNU_SOURCE
#include "snapshot.h"
#include "tern.h"
#include "wrap.h"
#include "tern_store.h"
#include "checkpoint.h"
#include "hooks.h"
#include "clock.h"
#include "config.h"
#include "control.h"
#include "report.h"
#include "requests.h"
#include "triggers.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

uint64_t snap_count;
static MPI_Request agree_req = MPI_REQUEST_NULL;
static unsigned agree_send, agree_recv;
static int agree_pending;
static uint64_t next_epoch = 1;

/* Rank 0: the epoch of the next attempt, above every committed one (the
 * directory is listed once, for checkpoints of earlier runs). */
static int listed;
static uint64_t root_epoch(void)
{
    if (!listed) {
        uint64_t *eps = NULL;
        int n = 0;
        tern_error err;
        char why[1024];
        /* a job directory refused (another user's, a symlink...) is not
         * listed either: the checkpoint fails on it before the store runs */
        if (job_dir_usable(why, sizeof why)) return next_epoch;
        tern_internal_enter();
        if (tern_store_list(cfg_dir, &eps, &n, &err) == 0 && n > 0 && eps[n - 1] + 1 > next_epoch)
            next_epoch = eps[n - 1] + 1;
        tern_internal_leave();
        free(eps);
        listed = 1;
    }
    return next_epoch;
}

void next_epoch_after(uint64_t epoch)
{
    next_epoch = epoch + 1;
}

int snapshot_serve(unsigned bits, double t0)
{
    uint64_t epoch = tern_world_rank == 0 ? root_epoch() : next_epoch;
    char why[2048] = "";
    tern_ckpt_stats st;
    memset(&st, 0, sizeof st);
    int rc = checkpoint(&epoch, snap_count, t0, why, sizeof why, &st);
    next_epoch = epoch + 1;
    interval_restart();
    int stop = 0;
    if (rc == 0) {   /* TERN_QUIESCE_ONLY */
        event("quiesced epoch=%" PRIu64 " quiesce=%.6f (TERN_QUIESCE_ONLY: nothing written)", epoch, last_quiesce);
        stats_line("quiesced");
        requests_answer_served("failed: TERN_QUIESCE_ONLY is set: the job quiesced and wrote nothing");
    } else if (rc == 1) {
        char frozen[64] = "";
        if (tm_hooks) snprintf(frozen, sizeof frozen, " frozen=%.6f", last_frozen);   /* transparent mode */
        event("committed epoch=%" PRIu64 " bytes=%" PRIu64 " stored=%" PRIu64
              " seconds=%.6f quiesce=%.6f%s path=%s",
              st.epoch, st.logical_bytes, st.stored_bytes, st.seconds, last_quiesce, frozen, st.path);
        stats_line("committed");
        char text[4300];
        snprintf(text, sizeof text, "committed %" PRIu64 " %s", st.epoch, st.path);
        requests_answer_served(text);
        stop = (bits & TRIG_STOP) != 0;
    } else {
        for (char *p = why; *p; p++)
            if (*p == '\n') *p = ' ';
        /* under `tern run` the event is the line; said here otherwise */
        if (tern_world_rank == 0 && !cfg_events_shown) say("checkpoint epoch %" PRIu64 " failed: %s", epoch, why);
        event("failed epoch=%" PRIu64 " reason=%s", epoch, why);
        char text[2300];
        snprintf(text, sizeof text, "failed: %s", why);
        requests_answer_served(text);
    }
    requests_forget_served();
    if (stop) {
        event("stopped epoch=%" PRIu64, epoch);
        MPI_Finalize();
        exit(0);
    }
    return rc == 1 ? 1 : rc == 0 ? 0 : -1;
}

int tern_snapshot(void)
{
    if (!tern_initialized || tern_finalized) return 0;
    snap_count++;
    unsigned decided = 0;
    double t0 = 0;
    if (agree_pending) {
        PMPI_Wait(&agree_req, MPI_STATUS_IGNORE);
        t0 = tern_now_mono();   /* the decision is known here (coordination starts) */
        decided = agree_recv;
        agree_pending = 0;
        /* the request files whose bits rode on that agreement */
        requests_decided();
    }
    unsigned f = local_triggers();
    if (decided & TRIG_CKPT) {
        /* signals, API calls and intervals seen since the agreement started
         * are served by this checkpoint; request files get their own answer */
        if (!file_flags) f = 0;
    }
    if (tern_world_rank == 0 && file_flags) requests_board();
    agree_send = f;
    PMPI_Iallreduce(&agree_send, &agree_recv, 1, MPI_UNSIGNED, MPI_BOR, ctrl, &agree_req);
    agree_pending = 1;
    if (decided & TRIG_CKPT) return snapshot_serve(decided, t0);
    return 0;
}

void agree_finish(void)
{
    /* the agreement started at the last snapshot point: every rank started it */
    if (agree_pending) {
        PMPI_Wait(&agree_req, MPI_STATUS_IGNORE);
        agree_pending = 0;
        if (agree_recv & TRIG_CKPT && tern_world_rank == 0)
            say("a checkpoint request arrived after the last snapshot point; ignored");
    }
}
