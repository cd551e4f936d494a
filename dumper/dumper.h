/* dumper.h: checkpoint and restore of one Linux x86-64 process, the one
 * header callers of dumper/ use (`tern dump`/`tern restore`, and the
 * per-rank proxies of transparent mode). docs/dumper.md says how it works.
 *
 * A process image is the segments PREFIX.* of one rank of a tern checkpoint,
 * so one checkpoint can hold many processes' images beside other data.
 *
 * Dumping takes three calls around the caller's own writer, because the
 * store pulls the page bytes at commit, straight from the process, which
 * must stay stopped until then:
 *
 *   tern_dump_capture(pid, &d, &info, &err);  refusals, stop, describe
 *   tern_ckpt_begin(..., &w, &err);           the caller's (any comm, dir, epoch)
 *   tern_dump_put(d, w, "dumper", &err);      adds PREFIX.*; no page read yet
 *   tern_ckpt_commit(w, &stats, &err);        pages stream from the process
 *   tern_dump_release(d, kill_it, &err);      it runs on (or is killed)
 *
 * Restoring happens in the process that is to become the dumped one:
 *
 *   tern_restore_check(ck, rank, prefix, &err);  could it be restored here?
 *   tern_restore(ck, rank, prefix, &err);        returns only on failure
 *
 * Errors: every function returns 0 or -1; on -1, err holds one line that
 * names what failed (the pid, the file, the thread), set once at the place
 * that found it; nothing here prints. Callers add their own context
 * (`tern dump` prefixes "pid N: writing IMAGE: " to store failures).
 */
#ifndef TERN_DUMPER_DUMPER_H
#define TERN_DUMPER_DUMPER_H

#include <stdint.h>
#include <sys/types.h>

#include "error.h"
#include "tern_store.h"

/* A captured process, held stopped (ptrace) until tern_dump_release. */
typedef struct tern_dump tern_dump;

typedef struct tern_dump_info {
    uint32_t nthreads, nregions;
    uint64_t data_bytes;   /* page bytes the image will hold */
} tern_dump_info;

/* Checks the refusals (children, tracer, sockets, SysV shm, ...), stops
 * every thread of pid and records its state. Nothing is written anywhere:
 * a refusal leaves no file behind and the process running as it was. On
 * success *out is the caller's, to hand to tern_dump_release; info (may be
 * NULL) gets the image's size. On failure *out is NULL. */
int tern_dump_capture(pid_t pid, tern_dump **out, tern_dump_info *info, tern_error *err);

/* Adds the image's segments PREFIX.* (metadata now, pages pulled at
 * commit) to the calling rank of w. Once per capture. d holds what w
 * refers to, so d is released only after w is committed or aborted. */
int tern_dump_put(tern_dump *d, tern_ckpt_writer *w, const char *prefix, tern_error *err);

/* Lets the process run on where it was stopped, or SIGKILLs it (kill_it),
 * and frees d (NULL is a no-op). err may be NULL when the caller is
 * already failing. */
int tern_dump_release(tern_dump *d, int kill_it, tern_error *err);

/* Whether rank's image PREFIX.* in c could be restored in this process:
 * the image file is the user's and no one else can write it, the image is
 * whole, and the kernel, CPU (every XSAVE feature of the dumping CPU),
 * mapped files, fds and cwd are the ones it needs. Changes nothing. */
int tern_restore_check(tern_ckpt *c, int rank, const char *prefix, tern_error *err);

/* Turns this process into rank's process image PREFIX.* of c. It must be
 * single-threaded. On success it does not return: c is closed before the
 * point of no return, and a failure after that point ends the process with
 * status 127 after one line on stderr. A failure before it returns -1 and
 * leaves this process as it was; c stays open, the caller's to close. */
int tern_restore(tern_ckpt *c, int rank, const char *prefix, tern_error *err);

#endif
