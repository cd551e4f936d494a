/* config.h: the configuration libtern reads from the environment
 * (docs/runtime.md) and the test hooks (docs/protocol.md, "fault injection").
 *
 * Owner: config.c. read_config() writes every value below once, in
 * coord_preinit() in coord.c (before MPI_Init); every other module only reads them.
 * The trigger signal (TERN_SIGNAL) is not here: triggers.c owns it, because it
 * is read again whenever the handler is installed.
 */
#ifndef TERN_COORD_CONFIG_H
#define TERN_COORD_CONFIG_H

#pragma GCC visibility push(hidden)

extern char cfg_dir[4096];           /* TERN_DIR, or ./tern-ckpt/<job> */
extern int cfg_dir_picked;           /* TERN_DIR is not set: cfg_dir is tern's ./tern-ckpt/<job> */
extern char cfg_job[256];            /* TERN_JOB */
extern double cfg_interval;          /* TERN_INTERVAL: seconds, 0 = none */
extern int cfg_compress;             /* TERN_COMPRESS: 0..9 */
extern int cfg_keep;                 /* TERN_KEEP: >= 1 */
extern const char *cfg_restart;      /* TERN_RESTART, or NULL */
extern int stats_on;                 /* TERN_STATS is set */
extern int cfg_events_shown;         /* TERN_EVENTS_SHOWN=1: the tern command shows the events */
extern int cfg_quiesce_only;         /* TERN_QUIESCE_ONLY=1 (benchmarks): stop once quiescent, write nothing */

/* test hooks: TERN_TEST_FAIL=rank:epoch:what, TERN_DRAIN_TIMEOUT */
extern int fail_rank, fail_epoch;
extern char fail_what[32];
extern double drain_timeout;         /* seconds without progress */
/* TERN_TEST_NO_MATRIX=1: the exchange of a job of more than 16 ranks (no
 * pair matrix; an MPI_Alltoall of posted counts when messages are in flight),
 * so that the tests, at most 4 ranks, run that path too */
extern int test_no_matrix;

void read_config(void);

#pragma GCC visibility pop
#endif
