/* Test helper: copy a process image into a new checkpoint directory OUT,
 * changed as if it came from another machine:
 *   dmp_image_edit IN OUT              whose kernel lays out [vvar] differently
 *   dmp_image_edit --xfeatures IN OUT  whose CPU had XSAVE features this one
 *                                      lacks: MPX (bits 3, 4 of XCR0, which
 *                                      Linux has not enabled since 5.6) in
 *                                      every thread's saved XCR0
 *   dmp_image_edit --meta WHAT IN OUT  whose metadata (the bytes, not a
 *                                      loaded state: the loader refuses what
 *                                      this makes) has numbers that wrap a
 *                                      sum around 2^64 into the checks' favour:
 *       run0     the first region with runs starts them at 2^64 - nruns
 *       page     that region's first run starts at page 2^64 - 1
 *       pending  thread 0 has one pending signal, at index 2^64 - 1
 *       minor0   the header's minor is 0, as images before version 1.1 had it
 *       minor9   the header's minor is 9, a version this reader does not know */
#define _GNU_SOURCE
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dmp_blob.h"
#include "dmp_image.h"

typedef struct buf {
    char *p;
} buf;

static int sink(void *ctx, uint64_t off, const void *src, size_t n, tern_error *err)
{
    (void)err;
    memcpy(((buf *)ctx)->p + off, src, n);
    return 0;
}

static int fill(void *ctx, uint64_t off, void *dst, size_t n, tern_error *err)
{
    (void)err;
    memcpy(dst, ((buf *)ctx)->p + off, n);
    return 0;
}

/* The saved XCR0 (ptrace's software-reserved bytes, offset 464) of every
 * thread gets the MPX bits. */
static int add_xfeatures(dmp_state *s)
{
    const uint64_t mpx = 3u << 3;
    if (dmp_xcr0() & mpx) {
        fprintf(stderr, "dmp_image_edit: this CPU has MPX enabled; no feature to add\n");
        return -1;
    }
    for (uint32_t i = 0; i < s->h.nthreads; i++) {
        uint64_t xcr0;
        memcpy(&xcr0, s->threads[i].xsave + 464, 8);
        xcr0 |= mpx;
        memcpy(s->threads[i].xsave + 464, &xcr0, 8);
    }
    return 0;
}

/* WHAT done to the metadata m (n bytes); -1 when the image has no such
 * thing to change. */
static int meta_edit(const char *what, unsigned char *m, size_t n)
{
    dmp_header h;
    if (n < sizeof h)
        return -1;
    memcpy(&h, m, sizeof h);
    size_t regions = sizeof h, runs = regions + h.nregions * sizeof(dmp_region);
    size_t threads = runs + h.nruns * sizeof(dmp_run);
    if (!strcmp(what, "minor0") || !strcmp(what, "minor9")) {
        h.minor = (uint32_t)(what[5] - '0');
        memcpy(m, &h, sizeof h);
        return 0;
    }
    if (!strcmp(what, "pending")) {   /* one signal, at 2^64 - 1: the end wraps to 0 */
        if (threads + sizeof(dmp_thread) > n)
            return -1;
        dmp_thread *t = (dmp_thread *)(void *)(m + threads);
        t->npending = 1;
        t->pending0 = UINT64_MAX;
        return 0;
    }
    for (uint32_t i = 0; i < h.nregions && runs <= n; i++) {
        dmp_region *r = (dmp_region *)(void *)(m + regions + i * sizeof *r);
        if (!r->nruns)
            continue;
        if (!strcmp(what, "run0")) {
            r->run0 = (uint64_t)0 - r->nruns;
            return 0;
        }
        if (strcmp(what, "page") || runs + (r->run0 + 1) * sizeof(dmp_run) > n)
            return -1;
        ((dmp_run *)(void *)(m + runs))[r->run0].page = UINT64_MAX;
        return 0;
    }
    return -1;
}

/* IN's segments of rank 0 copied into a new checkpoint in OUT, the
 * metadata changed (WHAT); the pages are copied as they are. */
static int edit_meta(const char *what, const char *in, const char *out)
{
    tern_error err = {0};
    tern_ckpt *c;
    tern_segment_info *segs;
    int n;
    if (tern_ckpt_open(in, &c, &err) || tern_ckpt_segments(c, 0, &segs, &n, &err)) {
        fprintf(stderr, "dmp_image_edit: %s\n", err.msg);
        return 1;
    }
    tern_store_opts o;
    tern_store_opts_default(&o);
    tern_ckpt_writer *w;
    unsigned char **keep = calloc((size_t)n + 1, sizeof *keep);
    int rc = tern_ckpt_begin(MPI_COMM_NULL, out, 1, &o, &w, &err);
    for (int i = 0; rc == 0 && i < n; i++) {
        keep[i] = malloc(segs[i].size + 1);
        rc = tern_ckpt_read(c, 0, segs[i].name, keep[i], segs[i].size, &err);
        if (rc == 0 && !strcmp(segs[i].name, "dumper.meta") &&
            meta_edit(what, keep[i], segs[i].size))
            rc = tern_error_set(&err, EINVAL, "no %s to change in this image", what);
        if (rc == 0)
            rc = tern_ckpt_put(w, segs[i].name, keep[i], segs[i].size, &err);
    }
    tern_ckpt_stats st;
    if (rc == 0)
        rc = tern_ckpt_commit(w, &st, &err);
    else if (w)
        tern_ckpt_abort(w);
    if (rc)
        fprintf(stderr, "dmp_image_edit: %s\n", err.msg);
    else
        printf("%s\n", st.path);
    for (int i = 0; i < n; i++)
        free(keep[i]);
    free(keep);
    free(segs);
    tern_ckpt_close(c);
    return rc ? 1 : 0;
}

int main(int argc, char **argv)
{
    if (argc == 5 && !strcmp(argv[1], "--meta"))
        return edit_meta(argv[2], argv[3], argv[4]);
    int xfeatures = argc == 4 && !strcmp(argv[1], "--xfeatures");
    argv += xfeatures;
    argc -= xfeatures;
    if (argc != 3) {
        fprintf(stderr, "usage: dmp_image_edit [--xfeatures | --meta WHAT] IN OUTDIR\n");
        return 2;
    }
    tern_error err = {0};
    tern_ckpt *c;
    dmp_state s;
    if (tern_ckpt_open(argv[1], &c, &err) || dmp_image_load(c, 0, "dumper", &s, &err)) {
        fprintf(stderr, "dmp_image_edit: %s\n", err.msg);
        return 1;
    }
    buf b = {malloc(s.h.data_bytes + 1)};
    if (s.h.data_bytes && dmp_image_pages(c, 0, "dumper", &s, sink, &b, &err)) {
        fprintf(stderr, "dmp_image_edit: %s\n", err.msg);
        return 1;
    }
    tern_ckpt_close(c);
    if (xfeatures) {
        if (add_xfeatures(&s))
            return 1;
    } else {
        /* another kernel: [vvar] one page larger, everything after it shifted */
        s.special[0].start -= 4096;
    }
    tern_store_opts o;
    tern_store_opts_default(&o);
    o.compress_level = 0;
    tern_ckpt_writer *w;
    void *meta = NULL;
    tern_ckpt_stats st;
    if (tern_ckpt_begin(MPI_COMM_NULL, argv[2], 1, &o, &w, &err) ||
        dmp_image_put(w, "dumper", &s, fill, &b, &meta, &err) ||
        tern_ckpt_commit(w, &st, &err)) {
        fprintf(stderr, "dmp_image_edit: %s\n", err.msg);
        return 1;
    }
    printf("%s\n", st.path);
    free(meta);
    free(b.p);
    dmp_state_free(&s);
    return 0;
}
