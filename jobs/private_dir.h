/* private_dir.h: a directory no one else can steer, and the files in it.
 *
 * A directory tern keeps state in (a job directory, a per-user runtime
 * directory, an image directory) is used only when the effective user owns
 * it and no one else can write to it: otherwise another user could plant
 * files (a request, a job file) or symbolic links that make tern, running
 * as this user, read their data or write through the link into this user's
 * files. The rules:
 *
 *  - the directory is opened once, O_DIRECTORY|O_NOFOLLOW on its last
 *    component (a symbolic link there is refused, links above it are
 *    followed: a site's /home may be one), and checked on that descriptor
 *    (fstat: no race between the check and the use);
 *  - every file in it is reached relative to that descriptor, O_NOFOLLOW,
 *    and checked the same way on its own descriptor;
 *  - a file is written under a fresh name (O_CREAT|O_EXCL|O_NOFOLLOW) and
 *    renamed over the old one: a link named like it is replaced, never
 *    followed, and readers see the old text or the new, never a part.
 *
 * "Checked" means: owned by the effective user, not writable by group or
 * others, the right type (a directory; a regular file, so that a FIFO never
 * blocks a reader), and, where asked, a file with one link only (a hard link
 * would make an append land in another file).
 *
 * Self-contained: POSIX and common/error.h only, nothing about jobs (it is
 * meant to move to common/). Every message is one line "PATH: PROBLEM",
 * PATH as the caller shows it.
 */
#ifndef TERN_PRIVATE_DIR_H
#define TERN_PRIVATE_DIR_H

#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "error.h"

/* What the functions return instead of a descriptor, or besides 0. */
enum {
    TERN_PDIR_FAILED = -1,   /* a system error; err->code is the errno (ENOENT: missing) */
    TERN_PDIR_UNSAFE = -2,   /* refused: a link, the wrong type, another owner, others may write */
    TERN_PDIR_NOCREATE = -3, /* a missing directory could not be created; err->code the errno */
};

/* tern_pdir_open flags */
#define TERN_PDIR_CREATE 1   /* create the missing directories */

/* Opens the directory path. With TERN_PDIR_CREATE the missing directories
 * are created (mode less the umask and less group/other write, so that
 * tern never makes a directory it would then refuse). Checked: the last
 * `ncheck` components (>= 1: the directory itself) and every directory
 * created here. Components above those are taken as the system resolves
 * them. Messages name the components by their absolute path, made from the
 * current directory for a relative path, not resolved ("/w/./x" is
 * "/w/x"). A descriptor (O_CLOEXEC), or one of TERN_PDIR_* with err set. */
int tern_pdir_open(const char *path, int flags, mode_t mode, int ncheck, tern_error *err);

/* The path a directory descriptor stands for (readlink of /proc/self/fd),
 * else fallback; into out (len bytes). 0, or -1 when it does not fit. */
int tern_pdir_path(int dirfd, const char *fallback, char *out, size_t len);

/* tern_pdir_check_stat flags */
#define TERN_PDIR_ONE_LINK 1 /* a regular file must have exactly one link */

/* st, of the object shown, checked as above; type S_IFDIR or S_IFREG.
 * 0, or TERN_PDIR_UNSAFE with err set. */
int tern_pdir_check_stat(const struct stat *st, mode_t type, int flags, const char *shown,
                         tern_error *err);

/* NAME in dirfd opened for reading (O_NOFOLLOW|O_NONBLOCK, then back to
 * blocking) and checked as a regular file with flags. shown_dir names
 * dirfd in messages ("DIR/NAME: ..."). A descriptor, or TERN_PDIR_FAILED
 * (err->code ENOENT when it is missing) or TERN_PDIR_UNSAFE. */
int tern_pdir_open_file(int dirfd, const char *name, const char *shown_dir, int flags,
                        tern_error *err);

/* NAME read whole (tern_pdir_open_file with flags 0), NUL-terminated and
 * malloc'ed; a file over max bytes is an error. NULL with err set (code
 * ENOENT when it is missing). */
char *tern_pdir_read_file(int dirfd, const char *name, const char *shown_dir, size_t max,
                          tern_error *err);

/* NAME written whole: a fresh ".tmp-NAME-XXXXXXXX" (O_CREAT|O_EXCL|
 * O_NOFOLLOW, mode less the umask and less group/other write), synced and
 * renamed over NAME. 0, or TERN_PDIR_FAILED with err set. */
int tern_pdir_write_file(int dirfd, const char *name, const char *shown_dir, const void *data,
                         size_t len, mode_t mode, tern_error *err);

/* Every entry of dirfd that match() accepts (every one when match is NULL),
 * checked without following it: a regular file, with match()'s return
 * value as tern_pdir_check_stat flags less one (match returns 0 to skip,
 * 1 to check, 1 + TERN_PDIR_ONE_LINK to check the link count too).
 * 0, or TERN_PDIR_UNSAFE / TERN_PDIR_FAILED with err set for the first
 * entry refused. */
int tern_pdir_check_entries(int dirfd, const char *shown_dir, int (*match)(const char *name),
                            tern_error *err);

#endif
