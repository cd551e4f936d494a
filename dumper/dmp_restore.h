/* dmp_restore: turn this process (tern restore) into the imaged process.
 *
 *  1. checks, while nothing is changed yet: the image file is the user's and
 *     no one else can write it (its pages are mapped from it), the image is
 *     whole (store CRCs), the kernel's vdso/vvar layout is the image's, this
 *     CPU has every XSAVE feature the dumping one had and the XSAVE areas
 *     fit it, every file the image maps is unchanged (inode, size, mtime),
 *     every saved fd and the cwd can be opened, every external region has
 *     the caller's fd to map;
 *  2. page data streamed into a memfd, mapped files opened;
 *  3. the restorer blob placed where neither tern nor the image has
 *     anything, with a description of the target (dmp_blob.h, rst_args.h);
 *  4. point of no return: signals blocked, sigactions, fds, cwd, umask set;
 *     jump into the blob, which rebuilds the address space and threads and
 *     rt_sigreturns into the saved contexts.
 * On success it does not return. A failure before step 4 returns -1 with
 * err filled and leaves this process as it was; after it, the process
 * exits with status 127 after one line on stderr.
 * Callers outside dumper/ use dumper.h (tern_restore, tern_restore_check).
 */
#ifndef TERN_DUMPER_RESTORE_H
#define TERN_DUMPER_RESTORE_H

#include "dmp_state.h"
#include "error.h"
#include "tern_store.h"

/* The restore caller's fds for the image's external regions (dumper.h's
 * struct tern_restore_opts): fd[k], open in this process, is mapped
 * MAP_SHARED where external region k was and copied to the image's
 * external fds k. NULL (or fd[k] < 0): an image with external region k is
 * refused. */
typedef struct dmp_ext_fds {
    const int *fd;
    int n;
    int stdio_inherit;   /* fds 0-2 are the restoring process's (dumper.h) */
} dmp_ext_fds;

/* Checks of step 1 that need only the metadata (also used by `tern dump`
 * tests and tools); rank names the image in messages. Every external region
 * and fd of the image must have its fd in ext, one that can be mapped as
 * the region was (access mode, size). */
int dmp_restore_check_ext(const dmp_state *s, int rank, const dmp_ext_fds *ext, tern_error *err);

/* dmp_restore_check_ext without external fds (tests/fuzz calls it). */
int dmp_restore_check(const dmp_state *s, int rank, tern_error *err);

/* The file c reads (by descriptor, not by name) belongs to the user and
 * neither group nor others can write it (private_dir.h): restore maps its pages
 * MAP_PRIVATE, so whoever could write it would change the restored
 * process's memory. */
int dmp_restore_trusted(tern_ckpt *c, tern_error *err);

/* Restores rank's process image (segments PREFIX.*) from an open
 * checkpoint. Closes c before the point of no return. */
int dmp_restore(tern_ckpt *c, int rank, const char *prefix, const dmp_ext_fds *ext,
                tern_error *err);

#endif
