/* mpirun_args.h: reading and rewriting Open MPI 4.1 mpirun command lines
 * (the arguments after `tern run --`, saved as arg= lines in the job file,
 * and the ones given to `tern restart --`). */
#ifndef TERN_JOBS_MPIRUN_ARGS_H
#define TERN_JOBS_MPIRUN_ARGS_H

#include <stddef.h>

#include "util.h"

/* 1 when a's last component names a launcher: mpirun, mpiexec, orterun,
 * mpirun.* or mpiexec.* (Debian's mpirun.openmpi). */
int mpi_is_launcher(const char *a);
/* Splits mpirun arguments into launcher options and program+args. The
 * launcher itself (mpirun/mpiexec/orterun path as first word) goes to
 * *launcher when present. */
void mpi_split(int argc, char **argv, char **launcher, strv *opts, strv *prog);
/* Number of arguments an mpirun option consumes (0, 1 or 2). */
int mpi_opt_nargs(const char *opt);
/* -np/-n/-c value in opts, or 0. */
int mpi_nranks(const strv *opts);
/* 0 when every -np/-n/-c value in opts is a whole number of ranks (0 is
 * mpirun's "one per slot"); else -1 with the first other one and its
 * option in *opt, *val: mpirun would answer it with a page of text. */
int mpi_bad_nranks(const strv *opts, const char **opt, const char **val);
/* Hosts named by --host/-H or a hostfile in opts, comma-separated, or "". */
void mpi_hosts(const strv *opts, char *buf, size_t len);
/* Options with everything about placement removed (-np, --host, --hostfile,
 * --rankfile, --map-by, --npernode ...). */
void mpi_strip_placement(const strv *in, strv *out);
int mpi_oversubscribe(const strv *opts);
/* The saved options, then the user's: an --mca KEY or -x NAME the user
 * gives replaces the saved one; other options the user repeats are dropped
 * from the saved ones. */
void mpi_merge_opts(const strv *saved, const strv *user, strv *out);

#endif
