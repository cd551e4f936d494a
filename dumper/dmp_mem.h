/* dmp_mem: which pages of a stopped process go into the image, and
 * streaming them out.
 *
 * dmp_mem_scan() decides, per region, the runs of pages to dump:
 *  - anonymous: pages the kernel has (pagemap present or swapped) that are
 *    not all zero; the rest comes back as fresh zero pages;
 *  - private file mappings: only pages that were written (pagemap says
 *    "anonymous" for a copied-on-write page), zero or not; the rest is
 *    mapped from the file again;
 *  - private mappings of a file that is gone: every non-zero page;
 *  - shared file mappings: nothing (the file holds the data).
 * It sets region.nruns/run0/data_off/data_pages and the state's run table
 * and header.data_bytes. dmp_mem_fill() is a tern_fill_fn over that layout.
 */
#ifndef TERN_DUMPER_MEM_H
#define TERN_DUMPER_MEM_H

#include <stddef.h>
#include <stdint.h>

#include "dmp_ptrace.h"
#include "dmp_state.h"
#include "error.h"

int dmp_mem_scan(dmp_proc *p, dmp_state *s, tern_error *err);

typedef struct dmp_mem_ctx {
    dmp_proc *p;
    const dmp_state *s;
    uint32_t region;   /* cursor: consecutive pieces are the common case */
    uint32_t run;      /* run within region, and the data offset it starts at */
    uint64_t run_off;
} dmp_mem_ctx;

int dmp_mem_fill(void *ctx, uint64_t offset, void *dst, size_t n, tern_error *err);

#endif
