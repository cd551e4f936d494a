/* dmp_blob: the restorer blob of one restore, placed and filled in.
 *
 * One anonymous mapping where neither tern restore nor the image has
 * anything (layout in restorer/rst_args.h): the header page, the restorer
 * code (restorer/rst.c, made executable last), its arguments (struct
 * rst_args and every table it points to: regions and their runs, pieces of
 * the image file to map, ranges to keep, fds to close, vdso moves, mm
 * fields, itimers, pending signals, threads with the signal frames they
 * rt_sigreturn into), a stack per thread and the scratch the vdso pieces
 * wait in. Every pointer in the arguments points into the blob, so they
 * stay valid after the blob has unmapped everything else.
 *
 * dmp_restore.c decides what goes where (which regions are filled in
 * place, what is mapped from the image file, which fds the blob gets);
 * this module only writes that down for the blob.
 */
#ifndef TERN_DUMPER_BLOB_H
#define TERN_DUMPER_BLOB_H

#include <stdint.h>

#include "dmp_state.h"
#include "error.h"
#include "restorer/rst_args.h"

/* A piece of region `region` that is mapped from the image file. */
typedef struct dmp_fmap {
    uint32_t region;
    struct rst_filemap m;
} dmp_fmap;

typedef struct dmp_blob_in {
    const dmp_state *s;
    const char *placed;        /* per region: mapped at its place already */
    const dmp_fmap *fm;        /* pieces mapped from the image file, by region */
    uint64_t nfm;
    const int *region_fd;      /* per region: the fd it maps, or -1 */
    const int *files;          /* fds the blob closes once it is done with them */
    int nfiles;
    int img_at;                /* the image file's index in files, or -1 */
    int memfd;                 /* page data the blob maps or copies from */
    int errfd;                 /* for the blob's last words */
} dmp_blob_in;

typedef struct dmp_blob {
    char *base;                /* NULL until placed */
    uint64_t len;
    struct rst_args *args;     /* what the entry point is given */
} dmp_blob;

/* Places the blob (b zeroed before) and fills it in. On failure b may be
 * placed already: dmp_blob_unmap gives it back. */
int dmp_blob_build(const dmp_blob_in *in, dmp_blob *b, tern_error *err);
void dmp_blob_unmap(dmp_blob *b);

/* Jumps into the blob on thread 0's blob stack; it never comes back. */
__attribute__((noreturn)) void dmp_blob_enter(const dmp_blob *b);

/* The xstate features this CPU and kernel enable (XCR0), and those a
 * signal frame of this process may carry (XCR0 less dynamic features such as
 * AMX tile data that it has no permission for). */
uint64_t dmp_xcr0(void);
uint64_t dmp_frame_features(void);

#endif
