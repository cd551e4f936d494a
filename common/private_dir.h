/* private_dir.h: a directory no one else can steer, and the files in it.
 *
 * A directory tern keeps state in (a job directory, the per-user runtime
 * directory of `tern exec --job`, a checkpoint directory) is used only when
 * the effective user owns it and no one else can write to it: otherwise
 * another user could plant files (a request, a job file, a job record) or
 * symbolic links that make tern, running as this user, read their data or
 * write through the link into this user's files. The same holds for the
 * files tern reads there, and for an image whose pages restore maps. The
 * rules:
 *
 *  - the directory is opened once, O_DIRECTORY|O_NOFOLLOW on its last
 *    component (a symbolic link there is refused, links above it are
 *    followed: a site's /home may be one), and checked on that descriptor
 *    (fstat: no race between the check and the use);
 *  - every file in it is reached relative to that descriptor, O_NOFOLLOW,
 *    and checked the same way on its own descriptor;
 *  - a file is written under a fresh name (O_CREAT|O_EXCL|O_NOFOLLOW) and
 *    renamed over the old one: a link named like it is replaced, never
 *    followed, and readers see the old text or the new, never a part; a
 *    file appended to is opened O_NOFOLLOW and checked before the write;
 *  - whatever is created here has no group or other write bit, whatever
 *    the umask (002 is common): tern never makes what it would refuse.
 *
 * "Checked" means: owned by the effective user, not writable by group or
 * others, the right type (a directory; a regular file, so that a FIFO never
 * blocks a reader), and, where asked, a file with one link only (a hard link
 * would make an append land in another file).
 *
 * The refusals, one line "PATH: PROBLEM" each, PATH as the caller shows it:
 *   PATH: is a symbolic link: refusing to use it
 *   PATH: owned by uid N, not by you (uid M): refusing to use it
 *   PATH: writable by group (mode 0775): refusing to use it
 *         (group, others, or group and others)
 *   PATH: not a regular file: refusing to use it
 *   PATH: has 2 hard links: refusing to use it
 *   PATH: not a directory
 * Owners are shown by uid, not by name: a name lookup may go to a network
 * directory service, which a library inside an MPI rank must not wait for.
 *
 * libc and common/error.h only: every part of tern uses it (dumper/ for its
 * run directory and images, coord/ in the ranks, jobs/ for job directories).
 */
#ifndef TERN_PRIVATE_DIR_H
#define TERN_PRIVATE_DIR_H

#include <dirent.h>
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

/* A listing of dirfd (its own descriptor: closedir() closes that, dirfd
 * stays open), or NULL with errno set. */
DIR *tern_pdir_list(int dirfd);

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

/* NAME opened for appending (O_WRONLY|O_APPEND|O_CREAT|O_NOFOLLOW, created
 * with mode less the umask and less group/other write), checked with
 * TERN_PDIR_ONE_LINK on its descriptor before anything is written; an
 * existing NAME that is not a regular file is refused before it is opened
 * (a FIFO would block, a device act). A descriptor, or TERN_PDIR_FAILED /
 * TERN_PDIR_UNSAFE with err set. */
int tern_pdir_open_append(int dirfd, const char *name, const char *shown_dir, mode_t mode,
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
