/* The checkpoint directory: names, MANIFEST, leftovers, pruning.
 *
 * Only complete, durable files ever carry the committed name
 * ckpt-<epoch>.h5 (they are renamed from .partial after every rank's data
 * is on disk), so the rename is the commit point. MANIFEST is the index
 * written right after it (temp + fsync + rename + fsync dir); a file that is
 * present but not yet in MANIFEST (a crash between the two renames) is still
 * a complete checkpoint and is listed. All of this runs on one rank.
 */
#ifndef TERN_STORAGE_MANIFEST_H
#define TERN_STORAGE_MANIFEST_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

/* "DIR/ckpt-000042.h5" and its ".partial" twin. */
void tern_store_partial_path(const char *dir, uint64_t epoch, char *buf, size_t len);

/* Creates DIR when its parent exists. */
int tern_dir_prepare(const char *dir, tern_error *err);

/* Removes *.partial and MANIFEST.tmp left by failed attempts. */
int tern_dir_clean_leftovers(const char *dir, tern_error *err);

int tern_fsync_path(const char *path, tern_error *err);  /* file or dir */

/* Rename partial -> committed, fsync the directory, rewrite MANIFEST with
 * the newest `keep` epochs, and delete the older files in a detached thread
 * (tern_store_list already ignores them; a prune cut short by exit is redone
 * by the next commit, which deletes every file beyond the newest `keep`). */
int tern_dir_commit(const char *dir, uint64_t epoch, int keep, tern_error *err);

#endif
