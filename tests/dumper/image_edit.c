/* Test helper: copy a process image into a new checkpoint directory OUT,
 * changed as if it came from another machine:
 *   dmp_image_edit IN OUT              whose kernel lays out [vvar] differently
 *   dmp_image_edit --xfeatures IN OUT  whose CPU had XSAVE features this one
 *                                      lacks: MPX (bits 3, 4 of XCR0, which
 *                                      Linux has not enabled since 5.6) in
 *                                      every thread's saved XCR0 */
#define _GNU_SOURCE
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

int main(int argc, char **argv)
{
    int xfeatures = argc == 4 && !strcmp(argv[1], "--xfeatures");
    argv += xfeatures;
    argc -= xfeatures;
    if (argc != 3) {
        fprintf(stderr, "usage: dmp_image_edit [--xfeatures] IN OUTDIR\n");
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
