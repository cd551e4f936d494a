/* config.c: configuration from the environment (docs/runtime.md) and the test
 * hooks. Separate so that every module reads one set of values that is
 * written once, before MPI_Init, and never again.
 */
#define _GNU_SOURCE
#include "config.h"

#include <stdio.h>
#include <stdlib.h>

/* ---- configuration (docs/runtime.md) ------------------------------------- */
char cfg_dir[4096];
int cfg_dir_picked;
char cfg_job[256] = "unnamed";
double cfg_interval;
int cfg_compress = 1;
int cfg_keep = 2;
const char *cfg_restart;
int stats_on;
int cfg_events_shown;   /* TERN_EVENTS_SHOWN=1: `tern run` prints every event as a line */
int cfg_quiesce_only;   /* TERN_QUIESCE_ONLY=1 (benchmarks): stop once quiescent, write nothing */

/* test hooks (docs/protocol.md, "fault injection"): TERN_TEST_FAIL=rank:epoch:what */
int fail_rank = -1, fail_epoch = -1;
double drain_timeout = 60.0;   /* TERN_DRAIN_TIMEOUT: seconds without progress */
char fail_what[32];
int test_no_matrix;

void read_config(void)
{
    const char *v;
    if ((v = getenv("TERN_JOB")) && *v) snprintf(cfg_job, sizeof cfg_job, "%s", v);
    if ((v = getenv("TERN_DIR")) && *v) snprintf(cfg_dir, sizeof cfg_dir, "%s", v);
    else snprintf(cfg_dir, sizeof cfg_dir, "./tern-ckpt/%s", cfg_job);
    cfg_dir_picked = !(v && *v);
    cfg_interval = (v = getenv("TERN_INTERVAL")) ? atof(v) : 0;
    if (cfg_interval < 0) cfg_interval = 0;
    cfg_compress = (v = getenv("TERN_COMPRESS")) ? atoi(v) : 1;
    if (cfg_compress < 0) cfg_compress = 0;
    if (cfg_compress > 9) cfg_compress = 9;
    cfg_keep = (v = getenv("TERN_KEEP")) ? atoi(v) : 2;
    if (cfg_keep < 1) cfg_keep = 1;
    cfg_restart = (v = getenv("TERN_RESTART")) && *v ? v : NULL;
    cfg_events_shown = (v = getenv("TERN_EVENTS_SHOWN")) && *v == '1';
    stats_on = (v = getenv("TERN_STATS")) && *v;
    cfg_quiesce_only = (v = getenv("TERN_QUIESCE_ONLY")) && atoi(v) > 0;
    if ((v = getenv("TERN_DRAIN_TIMEOUT")) && atof(v) > 0) drain_timeout = atof(v);
    test_no_matrix = (v = getenv("TERN_TEST_NO_MATRIX")) && atoi(v) > 0;
    if ((v = getenv("TERN_TEST_FAIL")) && *v)
        sscanf(v, "%d:%d:%31s", &fail_rank, &fail_epoch, fail_what);
}
