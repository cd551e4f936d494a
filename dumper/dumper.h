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
 * External shared memory (transparent mode's channel: a memfd the proxy
 * made and the application maps MAP_SHARED) is not saved. The dumping
 * caller names it by its start address (tern_dump_capture_opts); the image
 * records where it was, its length, protection and offset, and which of
 * the process's fds are the same memfd. The restoring caller (a new proxy's
 * child) gives an fd of its own for each (tern_restore_opts): it is mapped
 * MAP_SHARED at the saved address and installed at the saved fd numbers.
 * Without those fds such an image is refused.
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

typedef struct tern_dump_opts {
    /* External regions: ext_addr[k] (k < n_ext) is the start address of a
     * shared mapping of pid (the channel's memfd) that is recorded as
     * external region k instead of being refused: no pages are saved, its
     * fds become external fds k. Each address must start a shared mapping;
     * only that one mapping is external. */
    const uint64_t *ext_addr;
    int n_ext;
} tern_dump_opts;

/* tern_dump_capture with options; opts NULL (or n_ext 0) is
 * tern_dump_capture itself. */
int tern_dump_capture_opts(pid_t pid, const tern_dump_opts *opts, tern_dump **out,
                           tern_dump_info *info, tern_error *err);

/* Adds the image's segments PREFIX.* (metadata now, pages pulled at
 * commit) to the calling rank of w. Once per capture. d holds what w
 * refers to, so d is released only after w is committed or aborted. */
int tern_dump_put(tern_dump *d, tern_ckpt_writer *w, const char *prefix, tern_error *err);

/* A writer reached through functions: put and put_fn act as tern_ckpt_put
 * and tern_ckpt_put_fn on w. For a caller whose store is not the one it
 * could call (the proxy: libtern.so's store, which it reaches through
 * libtern's tern_tm_sink). */
typedef int (*tern_dump_put_fn_t)(void *w, const char *name, uint64_t len, tern_fill_fn fill,
                                  void *ctx, tern_error *err);
typedef struct tern_dump_sink {
    void *w;
    int (*put)(void *w, const char *name, const void *buf, size_t len, tern_error *err);
    tern_dump_put_fn_t put_fn;
} tern_dump_sink;

/* tern_dump_put through a sink (its functions are called now; put_fn's
 * fill is called at the writer's commit, as with tern_dump_put). */
int tern_dump_put_sink(tern_dump *d, const tern_dump_sink *s, const char *prefix,
                       tern_error *err);

/* Lets the process run on where it was stopped, or SIGKILLs it (kill_it),
 * and frees d (NULL is a no-op). err may be NULL when the caller is
 * already failing. */
int tern_dump_release(tern_dump *d, int kill_it, tern_error *err);

/* Whether rank's image PREFIX.* in c could be restored in this process:
 * the image file is the user's and no one else can write it, the image is
 * whole (the CRC of every chunk of its metadata and page segments is
 * checked: this reads the whole image once), and the kernel, CPU (every
 * XSAVE feature of the dumping CPU), mapped files, fds and cwd are the
 * ones it needs. Changes nothing. An image with external regions is
 * refused ("region 0x... is the proxy's channel: restore it under
 * tern-proxy"): use tern_restore_check_opts. */
int tern_restore_check(tern_ckpt *c, int rank, const char *prefix, tern_error *err);

/* What the restoring caller supplies (no typedef: the name is also the
 * function's). */
struct tern_restore_opts {
    /* ext_fd[k] (k < n_ext), open in this process, for the image's
     * external region k: mapped MAP_SHARED at the saved address with the
     * saved length, offset and protection (so it must be open O_RDWR for a
     * writable region and be at least offset + length bytes), and dup'ed
     * to the saved fd numbers of external fd k. The fd itself is the
     * caller's: left open on failure, closed at the point of no return
     * unless the image uses its number. */
    const int *ext_fd;
    int n_ext;
    /* Non-zero: the image's stdin, stdout and stderr are this process's,
     * whatever they were (a terminal is not reopened by path). tern-proxy
     * sets it: mpirun gives each rank a pty, whose number belongs to
     * someone else after a restart. */
    int stdio_inherit;
};

/* tern_restore_check, with the external regions' fds of o (NULL: none). */
int tern_restore_check_opts(tern_ckpt *c, int rank, const char *prefix,
                            const struct tern_restore_opts *o, tern_error *err);

/* Turns this process into rank's process image PREFIX.* of c. It must be
 * single-threaded. On success it does not return: c is closed before the
 * point of no return, and a failure after that point ends the process with
 * status 127 after one line on stderr. A failure before it returns -1 and
 * leaves this process as it was; c stays open, the caller's to close. */
int tern_restore(tern_ckpt *c, int rank, const char *prefix, tern_error *err);

/* tern_restore, with the external regions' fds of o (NULL: none, as
 * tern_restore). Checks what tern_restore_check_opts checks (the page
 * CRCs while it reads them) before anything is changed. */
int tern_restore_opts(tern_ckpt *c, int rank, const char *prefix,
                      const struct tern_restore_opts *o, tern_error *err);

#endif
