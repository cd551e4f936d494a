/* trust.h: the directories and files tern lets steer it.
 *
 * tern acts on what it finds in directories (job records, images,
 * checkpoints): whoever can write those steers tern, and through a restored
 * image (whose pages are mapped from the file) the restored process itself.
 * So tern trusts a directory or file only if the effective user owns it and
 * neither group nor others can write it, and it never follows a symbolic
 * link it did not make: a directory is opened with O_NOFOLLOW|O_DIRECTORY
 * and checked on that descriptor (fstat), files in it are opened and created
 * relative to that descriptor with O_NOFOLLOW, new files with O_EXCL under a
 * fresh name renamed into place. Checks on the descriptor, not the name,
 * leave no window between check and use.
 *
 * Self-contained (libc and common/error.h only), so that jobs/ can use it for
 * job directories too: it belongs in common/ and lives here until the lead
 * moves it.
 */
#ifndef TERN_TRUST_H
#define TERN_TRUST_H

#include <stddef.h>
#include <sys/stat.h>

#include "error.h"

/* 0 if st (of PATH) belongs to the effective user and is not writable by
 * group or others; else -1 with one line naming PATH, its owner and mode:
 * "PATH: owned by NAME (uid N), mode 0MMM: tern uses only WHAT that you own
 * and no one else can write". WHAT is a plural noun ("directories"). */
int tern_trust_stat(const char *path, const struct stat *st, const char *what, tern_error *err);

/* Opens directory PATH (its last component must not be a symbolic link) and
 * checks it as above. With create, a missing PATH is made first (mode 0700;
 * its parent must exist). Returns an O_DIRECTORY|O_CLOEXEC descriptor, or -1
 * with err (err->code ENOENT when PATH does not exist and !create). */
int tern_trust_dir_open(const char *path, int create, tern_error *err);

/* Opens NAME in the directory dirfd (called DIRPATH in messages) for reading:
 * not a symbolic link, a regular file, trusted as above (WHAT as there).
 * Returns the descriptor (O_CLOEXEC), or -1 with err (err->code ENOENT when
 * there is no NAME). Never blocks on a FIFO. */
int tern_trust_file_open(int dirfd, const char *dirpath, const char *name, const char *what,
                         tern_error *err);

/* Replaces NAME in dirfd by LEN bytes of DATA, mode 0600: written into a
 * fresh file ".NAME.PID" (O_CREAT|O_EXCL|O_NOFOLLOW; a leftover of that name
 * is unlinked, never written through) and renamed over NAME, which is
 * replaced whatever it was (a symbolic link is replaced, not followed). */
int tern_trust_file_write(int dirfd, const char *dirpath, const char *name, const void *data,
                          size_t len, tern_error *err);

#endif
