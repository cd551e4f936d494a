/* store_test: drives storage/ for the storage.* CTest tests.
 *
 *   store_test roundtrip DIR SEED EPOCHS   (MPI) random segment sets, put and
 *        put_fn, five kinds of data, sizes 0 B..64 MiB, global arrays; every
 *        epoch is read back bit-exact (each rank reads another rank's data),
 *        arrays are read back in a decomposition of another rank count, and
 *        only the last `keep` epochs remain.
 *   store_test serial DIR                  no MPI_Init at all: comm NULL writer
 *   store_test shaped DIR                  (MPI) typed, multi-dimensional global
 *        arrays (tern_ckpt_put_array_desc) read back in any range
 *   store_test write DIR EPOCH BYTES [NP]  (MPI) one random segment "a" per rank
 *        through put_fn. With TERN_TEST_STALL_AT=N the fill callback of rank
 *        TERN_TEST_STALL_RANK (default 1) writes its pid to DIR/stalled and
 *        sleeps once it reaches offset N: the kill -9 test uses that.
 *   store_test set-version FILE N          rewrite tern_format_version
 *   store_test drop-rank FILE R            unlink /ranks/R (a missing rank)
 *   store_test data-offset FILE R          file offset of /ranks/R/data.0
 *   store_test cat FILE R SEGMENT          a segment's bytes on stdout
 */
#include <errno.h>
#include <hdf5.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tern_store.h"

static int rank = 0, nranks = 1;

#define DIE(...)                                                                       \
    do {                                                                               \
        fprintf(stderr, "store_test: rank %d: ", rank);                                \
        fprintf(stderr, __VA_ARGS__);                                                  \
        fprintf(stderr, "\n");                                                         \
        exit(1);                                                                       \
    } while (0)

static uint64_t mix(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ull;
    x ^= x >> 33;
    return x;
}

/* Deterministic content: any rank can regenerate any rank's segment. */
enum { K_RANDOM, K_TEXT, K_SPARSE, K_ZERO, K_SMOOTH, NKINDS };

static void gen(unsigned char *p, uint64_t off, size_t n, uint64_t key, int kind)
{
    for (size_t i = 0; i < n; i++) {
        uint64_t g = off + i;
        switch (kind) {
        case K_RANDOM:
            p[i] = (unsigned char)(mix(key ^ (g >> 3)) >> (8 * (g & 7)));
            break;
        case K_TEXT:
            p[i] = (unsigned char)("checkpoint/restart for MPI jobs, "[g % 33] ^ (key & 1));
            break;
        case K_SPARSE:
            p[i] = (mix(key ^ (g / 4096)) & 1) ? (unsigned char)(mix(key + g)) : 0;
            break;
        case K_ZERO:
            p[i] = 0;
            break;
        case K_SMOOTH: {
            uint64_t d = g / 8;
            double v = sin((double)d * 1e-3 + (double)(key & 255)) * 1e3;
            unsigned char b[8];
            memcpy(b, &v, 8);
            p[i] = b[g & 7];
            break;
        }
        }
    }
}

typedef struct segdef {
    char name[64];
    uint64_t size;
    int kind;
    int streamed;
    uint64_t key;
} segdef;

/* Segment set of (seed, epoch, rank). */
static int segset(uint64_t seed, int epoch, int r, segdef *s, int max)
{
    uint64_t h = mix(seed * 1000003u + (uint64_t)epoch * 7919u + (uint64_t)r);
    int n = (int)(h % 7);      /* 0..6: a rank may have no segments */
    if (n > max)
        n = max;
    static const uint64_t fixed[] = {0, 1, 4095, 4096, 4097, (1u << 20) - 1, 1u << 20,
                                     (1u << 20) + 1, 3u << 20};
    for (int i = 0; i < n; i++) {
        uint64_t x = mix(h + (uint64_t)i * 31u);
        snprintf(s[i].name, sizeof s[i].name, "seg.%d_%c", i, "abcdefgh"[x % 8]);
        uint64_t pick = (x >> 8) % 16;
        if (pick < 9)
            s[i].size = fixed[pick];
        else
            s[i].size = (x >> 16) % (6u << 20);
        s[i].kind = (int)((x >> 40) % NKINDS);
        s[i].streamed = (int)((x >> 48) & 1);
        s[i].key = x;
    }
    /* one big segment (64 MiB) per run, on the last rank of epoch 2 */
    if (epoch == 2 && r == nranks - 1 && n < max) {
        snprintf(s[n].name, sizeof s[n].name, "big");
        s[n].size = 64u << 20;
        s[n].kind = K_SPARSE;
        s[n].streamed = 1;
        s[n].key = h;
        n++;
    }
    return n;
}

typedef struct fillctx {
    const segdef *s;
    uint64_t next;
    long stall_at;
    const char *dir;
} fillctx;

static int fill(void *ctx, uint64_t off, void *dst, size_t n, tern_error *err)
{
    fillctx *f = ctx;
    if (off != f->next)
        return tern_error_set(err, EINVAL, "fill called out of order (%" PRIu64 " != %" PRIu64 ")",
                              off, f->next);
    if (f->stall_at >= 0 && off >= (uint64_t)f->stall_at) {
        char p[4096];
        snprintf(p, sizeof p, "%s/stalled", f->dir);
        FILE *fp = fopen(p, "w");
        if (fp) {
            fprintf(fp, "%d\n", (int)getpid());
            fclose(fp);
        }
        sleep(600);
    }
    gen(dst, off, n, f->s->key, f->s->kind);
    f->next = off + n;
    return 0;
}

/* Every view (/ranks/R/view/NAME, a virtual dataset) read with plain HDF5
 * must equal the segment read through tern. */
static void check_views(tern_ckpt *c, const char *path)
{
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    /* the file is open through tern too, which opens without file locking;
     * HDF5 refuses a second open of the same file with another setting */
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    H5Pset_file_locking(fapl, 0, 1);
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, fapl);
    H5Pclose(fapl);
    if (f < 0)
        DIE("%s: H5Fopen", path);
    int nviews = 0;
    tern_error err = {0};
    for (int r = 0; r < nranks; r++) {
        tern_segment_info *si;
        int ns;
        if (tern_ckpt_segments(c, r, &si, &ns, &err))
            DIE("segments: %s", err.msg);
        for (int i = 0; i < ns; i++) {
            char vp[512];
            snprintf(vp, sizeof vp, "/ranks/%06d/view/%s", r, si[i].name);
            if (H5Lexists(f, "/ranks", H5P_DEFAULT) <= 0 || H5Oexists_by_name(f, vp, H5P_DEFAULT) <= 0)
                continue;
            hid_t d = H5Dopen2(f, vp, H5P_DEFAULT);
            unsigned char *a = malloc(si[i].size + 1), *b = malloc(si[i].size + 1);
            if (d < 0 || H5Dread(d, H5T_NATIVE_UCHAR, H5S_ALL, H5S_ALL, H5P_DEFAULT, a) < 0)
                DIE("%s: cannot read view", vp);
            if (tern_ckpt_read(c, r, si[i].name, b, si[i].size, &err) || memcmp(a, b, si[i].size))
                DIE("%s: view differs from the segment", vp);
            free(a);
            free(b);
            H5Dclose(d);
            nviews++;
        }
        free(si);
    }
    H5Fclose(f);
    printf("views: %d checked against their segments\n", nviews);
}

/* tern_ckpt_extents: FILE extents read from the file where they say,
 * DATA through the sink, ZERO zero, all together the segment. In a format
 * 1.1 file every page-multiple chunk of incompressible data is FILE. */
typedef struct ext_sink {
    unsigned char *buf;
    uint64_t size, got;
} ext_sink;

static int ext_sink_fn(void *ctx, uint64_t off, const void *src, size_t n, tern_error *err)
{
    ext_sink *k = ctx;
    if (off + n > k->size)
        return tern_error_set(err, EINVAL, "sink beyond the segment");
    memcpy(k->buf + off, src, n);
    k->got += n;
    return 0;
}

static void check_extents(tern_ckpt *c, int r, const segdef *d, const unsigned char *want,
                          size_t chunk, uint64_t *nfile, uint64_t *ndata)
{
    tern_error err = {0};
    unsigned char *got = calloc(1, d->size + 1);
    memset(got, 0xa5, d->size);
    ext_sink k = {got, d->size, 0};
    tern_extent *x = NULL;
    uint64_t nx = 0;
    if (tern_ckpt_extents(c, r, d->name, ext_sink_fn, &k, &x, &nx, &err))
        DIE("extents of %s: %s", d->name, err.msg);
    int fd = tern_ckpt_dup_fd(c);
    if (fd < 0)
        DIE("tern_ckpt_dup_fd: %s", strerror(errno));
    uint64_t at = 0, data = 0;
    for (uint64_t i = 0; i < nx; i++) {
        if (x[i].offset != at)
            DIE("%s: extent %" PRIu64 " at %" PRIu64 ", expected %" PRIu64, d->name, i,
                x[i].offset, at);
        at += x[i].len;
        switch (x[i].kind) {
        case TERN_EXTENT_FILE:
            if ((x[i].offset | x[i].len | x[i].file_offset) % TERN_PAGE_ALIGN)
                DIE("%s: FILE extent not page aligned", d->name);
            if (pread(fd, got + x[i].offset, x[i].len, (off_t)x[i].file_offset) != (ssize_t)x[i].len)
                DIE("%s: pread of a FILE extent", d->name);
            *nfile += x[i].len;
            break;
        case TERN_EXTENT_ZERO:
            memset(got + x[i].offset, 0, x[i].len);
            break;
        case TERN_EXTENT_DATA:
            data += x[i].len;
            *ndata += x[i].len;
            break;
        default:
            DIE("%s: extent kind %d", d->name, x[i].kind);
        }
    }
    if (at != d->size || data != k.got)
        DIE("%s: extents cover %" PRIu64 " of %" PRIu64 " bytes, sink got %" PRIu64 " of %" PRIu64,
            d->name, at, d->size, k.got, data);
    if (memcmp(got, want, d->size))
        DIE("%s: bytes through extents differ", d->name);
    /* random bytes are always RAW; at level 0 nothing is deflated */
    int minor0 = getenv("TERN_STORE_FORMAT_MINOR0") != NULL;
    /* only a last chunk that is not whole pages may need decoding */
    uint64_t allowed = d->size % TERN_PAGE_ALIGN ? (uint64_t)chunk : 0;
    if (!minor0 && d->kind == K_RANDOM && data > allowed)
        DIE("%s: %" PRIu64 " bytes of random data not mappable", d->name, data);
    close(fd);
    free(x);
    free(got);
}

static int cmd_roundtrip(const char *dir, uint64_t seed, int epochs)
{
    tern_error err = {0};
    const int keep = 2;
    for (int e = 1; e <= epochs; e++) {
        segdef defs[8];
        int n = segset(seed, e, rank, defs, 8);
        unsigned char *bufs[8] = {0};
        fillctx fc[8];
        tern_store_opts o;
        tern_store_opts_default(&o);
        o.job = "roundtrip";
        o.keep = keep;
        o.compress_level = (int[]){0, 1, 6}[e % 3];
        o.chunk_bytes = e % 2 ? 0 : 65536;
        tern_ckpt_writer *w;
        if (tern_ckpt_begin(MPI_COMM_WORLD, dir, (uint64_t)e, &o, &w, &err))
            DIE("begin: %s", err.msg);
        for (int i = 0; i < n; i++) {
            if (defs[i].streamed) {
                fc[i] = (fillctx){&defs[i], 0, -1, dir};
                if (tern_ckpt_put_fn(w, defs[i].name, defs[i].size, fill, &fc[i], &err))
                    DIE("put_fn: %s", err.msg);
            } else {
                bufs[i] = malloc(defs[i].size + 1);
                gen(bufs[i], 0, defs[i].size, defs[i].key, defs[i].kind);
                if (tern_ckpt_put(w, defs[i].name, bufs[i], defs[i].size, &err))
                    DIE("put: %s", err.msg);
            }
        }
        /* global array: rank r holds 1000*(r+1)+e doubles, value = global index */
        uint64_t cnt = 1000u * (uint64_t)(rank + 1) + (uint64_t)e, first = 0;
        for (int r = 0; r < rank; r++)
            first += 1000u * (uint64_t)(r + 1) + (uint64_t)e;
        double *arr = malloc(cnt * sizeof *arr);
        for (uint64_t i = 0; i < cnt; i++)
            arr[i] = (double)(first + i) + 0.5;
        if (tern_ckpt_put_array(w, "field", sizeof(double), cnt, arr, &err))
            DIE("put_array: %s", err.msg);
        if (tern_ckpt_set_attr(w, "test", "roundtrip", &err))
            DIE("set_attr: %s", err.msg);
        tern_ckpt_stats st;
        if (tern_ckpt_commit(w, &st, &err))
            DIE("commit epoch %d: %s", e, err.msg);
        for (int i = 0; i < n; i++)
            free(bufs[i]);
        free(arr);
        if (rank == 0)
            printf("epoch %d: %" PRIu64 " logical, %" PRIu64 " stored, %" PRIu64 " zero, %.3f s\n",
                   e, st.logical_bytes, st.stored_bytes, st.zero_bytes, st.seconds);

        /* read back: rank r checks rank (r+1)%n, without MPI */
        tern_ckpt *c;
        if (tern_ckpt_open(dir, &c, &err))
            DIE("open: %s", err.msg);
        const tern_ckpt_info *in = tern_ckpt_get_info(c);
        if (in->epoch != (uint64_t)e || in->nranks != nranks || strcmp(in->job, "roundtrip"))
            DIE("info mismatch: epoch %" PRIu64 " nranks %d job %s", in->epoch, in->nranks, in->job);
        int other = (rank + 1) % nranks;
        segdef od[8];
        int on = segset(seed, e, other, od, 8);
        uint64_t nfile = 0, ndata = 0;
        tern_segment_info *si;
        int ns;
        if (tern_ckpt_segments(c, other, &si, &ns, &err))
            DIE("segments: %s", err.msg);
        if (ns != on)
            DIE("rank %d has %d segments, expected %d", other, ns, on);
        for (int i = 0; i < on; i++) {
            if (strcmp(si[i].name, od[i].name) || si[i].size != od[i].size)
                DIE("segment %d of rank %d: %s/%" PRIu64 " expected %s/%" PRIu64, i, other,
                    si[i].name, si[i].size, od[i].name, od[i].size);
            unsigned char *want = malloc(od[i].size + 1), *got = malloc(od[i].size + 1);
            gen(want, 0, od[i].size, od[i].key, od[i].kind);
            if (tern_ckpt_read(c, other, od[i].name, got, od[i].size, &err))
                DIE("read: %s", err.msg);
            if (memcmp(want, got, od[i].size))
                DIE("rank %d segment %s: data differs", other, od[i].name);
            check_extents(c, other, &od[i], want, o.chunk_bytes ? o.chunk_bytes : (1u << 20),
                          &nfile, &ndata);
            free(want);
            free(got);
        }
        free(si);
        printf("rank %d: epoch %d: extents of rank %d: %" PRIu64 " bytes mapped from the file, "
               "%" PRIu64 " decoded\n", rank, e, other, nfile, ndata);
        /* arrays as another rank count would: 3 uneven parts */
        size_t es;
        uint64_t total, *rc;
        if (tern_ckpt_array_info(c, "field", &es, &total, &rc, &err))
            DIE("array_info: %s", err.msg);
        uint64_t expect = 0;
        for (int r = 0; r < nranks; r++) {
            if (rc[r] != 1000u * (uint64_t)(r + 1) + (uint64_t)e)
                DIE("rank_counts[%d] = %" PRIu64, r, rc[r]);
            expect += rc[r];
        }
        free(rc);
        if (es != sizeof(double) || total != expect)
            DIE("array shape %zu x %" PRIu64, es, total);
        uint64_t parts[4] = {0, total / 3 + 7, 2 * total / 3 - 5, total};
        for (int p = 0; p < 3; p++) {
            uint64_t a = parts[p], b = parts[p + 1];
            double *v = malloc((b - a + 1) * sizeof *v);
            if (tern_ckpt_read_array(c, "field", a, b - a, v, &err))
                DIE("read_array: %s", err.msg);
            for (uint64_t i = 0; i < b - a; i++)
                if (v[i] != (double)(a + i) + 0.5)
                    DIE("array element %" PRIu64 " = %g", a + i, v[i]);
            free(v);
        }
        if (rank == 0 && tern_ckpt_verify(c, NULL, NULL, &err))
            DIE("verify: %s", err.msg);
        if (rank == 0)
            check_views(c, st.path);
        tern_ckpt_close(c);
        MPI_Barrier(MPI_COMM_WORLD);
    }
    uint64_t *ep;
    int n;
    if (tern_store_list(dir, &ep, &n, &err))
        DIE("list: %s", err.msg);
    if (n != (epochs < keep ? epochs : keep) || ep[n - 1] != (uint64_t)epochs)
        DIE("list: %d epochs, last %" PRIu64, n, n ? ep[n - 1] : 0);
    free(ep);

    /* One rank fails, everybody returns the same failure, nothing commits:
     * (a) the last rank's fill callback fails; (b) put_array calls differ. */
    for (int t = 0; t < (nranks > 1 ? 2 : 1); t++) {
        tern_ckpt_writer *w;
        if (tern_ckpt_begin(MPI_COMM_WORLD, dir, (uint64_t)epochs + 1, NULL, &w, &err))
            DIE("begin: %s", err.msg);
        segdef d = {"x", 3u << 20, K_RANDOM, 1, 5};
        fillctx fc = {&d, rank == nranks - 1 && t == 0 ? 12345 : 0, -1, dir};
        double v = 1;
        if (tern_ckpt_put_fn(w, "x", d.size, fill, &fc, &err))
            DIE("put_fn: %s", err.msg);
        if (t == 1 && tern_ckpt_put_array(w, "v", rank == nranks - 1 ? 4 : 8, 1, &v, &err))
            DIE("put_array: %s", err.msg);
        if (tern_ckpt_commit(w, NULL, &err) == 0)
            DIE("commit succeeded although rank %d failed", nranks - 1);
        char want[512];
        if (t == 0)
            snprintf(want, sizeof want, "rank %d: segment 'x': fill called out of order (0 != 12345)",
                     nranks - 1);
        else
            snprintf(want, sizeof want, "%s/ckpt-%06d.h5.partial: tern_ckpt_put_array calls differ "
                     "between rank 0 and rank %d (same names, element sizes and order are required)",
                     dir, epochs + 1, nranks - 1);
        if (strcmp(err.msg, want))
            DIE("failure message '%s', want '%s'", err.msg, want);
        if (tern_store_list(dir, &ep, &n, &err) || ep[n - 1] != (uint64_t)epochs)
            DIE("a failed commit changed the list");
        free(ep);
        char part[4096];
        snprintf(part, sizeof part, "%s/ckpt-%06d.h5.partial", dir, epochs + 1);
        if (access(part, F_OK) == 0)
            DIE("%s left behind", part);
        if (rank == 0)
            printf("agreed failure on every rank: %s\n", want);
    }
    if (rank == 0)
        printf("roundtrip: %d epochs on %d ranks bit-exact\n", epochs, nranks);
    return 0;
}

static int cmd_serial(const char *dir)
{
    int inited = 0;
    MPI_Initialized(&inited);
    if (inited)
        DIE("MPI is initialised in serial mode");
    tern_error err = {0};
    for (int e = 1; e <= 3; e++) {
        tern_store_opts o;
        tern_store_opts_default(&o);
        o.job = "serial";
        tern_ckpt_writer *w;
        if (tern_ckpt_begin(MPI_COMM_NULL, dir, (uint64_t)e, &o, &w, &err))
            DIE("begin: %s", err.msg);
        size_t n = (size_t)e << 20;
        unsigned char *b = malloc(n);
        gen(b, 0, n, (uint64_t)e, e % 2 ? K_RANDOM : K_SPARSE);
        segdef d = {"image", 5u << 20, K_SMOOTH, 1, 77};
        fillctx fc = {&d, 0, -1, dir};
        if (tern_ckpt_put(w, "heap", b, n, &err) || tern_ckpt_put(w, "empty", NULL, 0, &err) ||
            tern_ckpt_put_fn(w, "image", d.size, fill, &fc, &err))
            DIE("put: %s", err.msg);
        tern_ckpt_stats st;
        if (tern_ckpt_commit(w, &st, &err))
            DIE("commit: %s", err.msg);
        tern_ckpt *c;
        if (tern_ckpt_open(st.path, &c, &err))
            DIE("open: %s", err.msg);
        unsigned char *g = malloc(n);
        if (tern_ckpt_read(c, 0, "heap", g, n, &err) || memcmp(g, b, n))
            DIE("heap differs: %s", err.msg);
        if (tern_ckpt_verify(c, NULL, NULL, &err))
            DIE("verify: %s", err.msg);
        if (tern_ckpt_get_info(c)->nranks != 1)
            DIE("nranks");
        tern_ckpt_close(c);
        free(b);
        free(g);
    }
    /* a bad name fails put and then commit, and leaves nothing behind */
    tern_ckpt_writer *w;
    tern_store_opts o;
    tern_store_opts_default(&o);
    if (tern_ckpt_begin(MPI_COMM_NULL, dir, 9, &o, &w, &err))
        DIE("begin: %s", err.msg);
    if (tern_ckpt_put(w, "bad/name", "x", 1, &err) == 0)
        DIE("bad name accepted");
    if (tern_ckpt_commit(w, NULL, &err) == 0)
        DIE("commit after failed put succeeded");
    printf("serial: %s\n", err.msg);
    char part[4096];
    snprintf(part, sizeof part, "%s/ckpt-000009.h5.partial", dir);
    if (access(part, F_OK) == 0)
        DIE("%s left behind", part);
    uint64_t *ep;
    int n;
    if (tern_store_list(dir, &ep, &n, &err) || n != 2 || ep[1] != 3)
        DIE("list after failed commit");
    free(ep);
    /* an epoch that is not newer is refused */
    if (tern_ckpt_begin(MPI_COMM_NULL, dir, 3, &o, &w, &err) == 0)
        DIE("old epoch accepted");
    printf("serial: %s\n", err.msg);

    /* MANIFEST cross-check: a file newer than every MANIFEST entry is a
     * commit whose MANIFEST update was lost (listed); a file older than the
     * entries and not among them is being pruned (not listed). */
    char mp[4096];
    snprintf(mp, sizeof mp, "%s/MANIFEST", dir);
    FILE *mf = fopen(mp, "w");
    fprintf(mf, "tern-manifest 1\n2 ckpt-000002.h5\n");
    fclose(mf);
    if (tern_store_list(dir, &ep, &n, &err) || n != 2 || ep[0] != 2 || ep[1] != 3)
        DIE("list with a stale MANIFEST");
    free(ep);
    mf = fopen(mp, "w");
    fprintf(mf, "tern-manifest 1\n3 ckpt-000003.h5\n");
    fclose(mf);
    if (tern_store_list(dir, &ep, &n, &err) || n != 1 || ep[0] != 3)
        DIE("list while epoch 2 is being pruned");
    free(ep);

    /* tern mutes HDF5's error printing only while it runs */
    H5E_auto2_t fn0, fn1;
    void *d0, *d1;
    H5Eget_auto2(H5E_DEFAULT, &fn0, &d0);
    tern_ckpt *c;
    if (tern_ckpt_open_epoch(dir, 42, &c, &err) == 0)
        DIE("opened a missing epoch");
    H5Eget_auto2(H5E_DEFAULT, &fn1, &d1);
    if (fn0 != fn1 || d0 != d1 || fn0 == NULL)
        DIE("HDF5 error printing not restored");
    printf("serial: ok\n");
    return 0;
}

static int cmd_write(const char *dir, uint64_t epoch, uint64_t bytes)
{
    tern_error err = {0};
    tern_store_opts o;
    tern_store_opts_default(&o);
    o.job = "badinput";
    tern_ckpt_writer *w;
    if (tern_ckpt_begin(MPI_COMM_WORLD, dir, epoch, &o, &w, &err)) {
        if (rank == 0)
            fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    segdef d = {"a", bytes, K_RANDOM, 1, 1000u + (uint64_t)rank};
    const char *sa = getenv("TERN_TEST_STALL_AT"), *sr = getenv("TERN_TEST_STALL_RANK");
    fillctx fc = {&d, 0, -1, dir};
    if (sa && rank == (sr ? atoi(sr) : 1))
        fc.stall_at = atol(sa);
    if (tern_ckpt_put_fn(w, "a", bytes, fill, &fc, &err)) {
        tern_ckpt_abort(w);
        return 1;
    }
    /* TERN_TEST_VIEW=1: also "z", 1 MiB random, 1 MiB zero, 1 MiB random
     * (RAW, ZERO, RAW chunks: a view with two runs and a hole) */
    unsigned char *z = NULL;
    if (getenv("TERN_TEST_VIEW")) {
        z = calloc(3, 1u << 20);
        gen(z, 0, 1u << 20, 7u + (uint64_t)rank, K_RANDOM);
        gen(z + (2u << 20), 0, 1u << 20, 8u + (uint64_t)rank, K_RANDOM);
        if (tern_ckpt_put(w, "z", z, 3u << 20, &err)) {
            tern_ckpt_abort(w);
            return 1;
        }
    }
    tern_ckpt_stats st;
    if (tern_ckpt_commit(w, &st, &err)) {
        if (rank == 0)
            fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    if (rank == 0)
        printf("%s\n", st.path);
    free(z);
    return 0;
}

static hid_t open_rw(const char *file)
{
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    hid_t f = H5Fopen(file, H5F_ACC_RDWR, H5P_DEFAULT);
    if (f < 0)
        DIE("%s: cannot open", file);
    return f;
}

/* Typed, shaped global arrays (tern_ckpt_put_array_desc): a 3-D float64
 * array whose blocks (rank r: 400 + 70 r rows of 33 x 17) are larger than a
 * CRC piece and whose pieces do not start on rows, an int16 2-D and a
 * complex64 1-D array and an opaque one. The description reads back (kind,
 * global shape), 16 ranges read back in row-major order match, a
 * count that is no whole number of rows is refused, and ranks that differ
 * in kind fail together. */
static int cmd_shaped(const char *dir)
{
    tern_error err = {0};
    enum { R1 = 33, R2 = 17 };
    uint64_t rows = 400 + 70 * (uint64_t)rank, off_rows = 0, total_rows = 0;
    for (int r = 0; r < nranks; r++) {
        if (r < rank)
            off_rows += 400 + 70 * (uint64_t)r;
        total_rows += 400 + 70 * (uint64_t)r;
    }
    uint64_t n = rows * R1 * R2, off = off_rows * R1 * R2, total = total_rows * R1 * R2;
    double *f = malloc(n * sizeof *f);
    int16_t *h = malloc(rows * 3 * sizeof *h);
    float *z = malloc(2 * rows * sizeof *z);
    for (uint64_t i = 0; i < n; i++)
        f[i] = (double)(off + i) * 0.5;
    for (uint64_t i = 0; i < rows * 3; i++)
        h[i] = (int16_t)(off_rows * 3 + i - 1000);
    for (uint64_t i = 0; i < rows; i++) {
        z[2 * i] = (float)(off_rows + i);
        z[2 * i + 1] = -(float)(off_rows + i);
    }
    tern_ckpt_writer *w;
    tern_array_desc df = {TERN_ELEM_FLOAT, 3, {0, R1, R2}};
    tern_array_desc dh = {TERN_ELEM_INT, 2, {0, 3}};
    tern_array_desc dz = {TERN_ELEM_COMPLEX, 1, {0}};
    if (tern_ckpt_begin(MPI_COMM_WORLD, dir, 1, NULL, &w, &err) ||
        tern_ckpt_put_array_desc(w, "f", sizeof *f, n, f, &df, &err) ||
        tern_ckpt_put_array_desc(w, "h", sizeof *h, rows * 3, h, &dh, &err) ||
        tern_ckpt_put_array_desc(w, "z", 2 * sizeof *z, rows, z, &dz, &err) ||
        tern_ckpt_put_array(w, "o", 2, rows * 3, h, &err) || tern_ckpt_commit(w, NULL, &err))
        DIE("shaped write: %s", err.msg);
    tern_ckpt *c;
    if (tern_ckpt_open(dir, &c, &err))
        DIE("open: %s", err.msg);
    tern_array_desc d;
    if (tern_ckpt_array_desc(c, "f", &d, &err))
        DIE("desc f: %s", err.msg);
    if (d.kind != TERN_ELEM_FLOAT || d.ndims != 3 || d.dims[0] != total_rows || d.dims[1] != R1 ||
        d.dims[2] != R2)
        DIE("desc f: kind %d, %d dims %" PRIu64 "x%" PRIu64 "x%" PRIu64, d.kind, d.ndims,
            d.dims[0], d.dims[1], d.dims[2]);
    if (tern_ckpt_array_desc(c, "h", &d, &err) || d.kind != TERN_ELEM_INT || d.ndims != 2 ||
        d.dims[0] != total_rows || d.dims[1] != 3)
        DIE("desc h wrong");
    if (tern_ckpt_array_desc(c, "z", &d, &err) || d.kind != TERN_ELEM_COMPLEX || d.ndims != 1)
        DIE("desc z wrong");
    if (tern_ckpt_array_desc(c, "o", &d, &err) || d.kind != TERN_ELEM_OPAQUE || d.ndims != 1 ||
        d.dims[0] != total_rows * 3)
        DIE("desc o wrong");
    tern_array_entry *ae;
    int na;
    if (tern_ckpt_arrays(c, &ae, &na, &err) || na != 4 || strcmp(ae[0].name, "f") ||
        ae[0].total != total)
        DIE("tern_ckpt_arrays: %d arrays", na);
    free(ae);
    /* ranges that start and end inside rows, across ranks and CRC pieces */
    double *v = malloc(total * sizeof *v);
    uint64_t x = 12345 + (uint64_t)rank;
    for (int t = 0; t < 16; t++) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        uint64_t a = (x >> 11) % total, b = a + 1 + (x >> 40) % (total - a);
        if (t == 0)
            a = 0, b = total;
        if (tern_ckpt_read_array(c, "f", a, b - a, v, &err))
            DIE("read f [%" PRIu64 ", %" PRIu64 "): %s", a, b, err.msg);
        for (uint64_t i = a; i < b; i++)
            if (v[i - a] != (double)i * 0.5)
                DIE("f[%" PRIu64 "] = %g read in [%" PRIu64 ", %" PRIu64 ")", i, v[i - a], a, b);
    }
    int16_t hv[7];
    if (tern_ckpt_read_array(c, "h", 5, 7, hv, &err))
        DIE("read h: %s", err.msg);
    for (int i = 0; i < 7; i++)
        if (hv[i] != (int16_t)(5 + i - 1000))
            DIE("h[%d] = %d", 5 + i, hv[i]);
    tern_ckpt_close(c);
    free(v);
    /* no whole number of rows: refused locally, and the commit fails */
    tern_array_desc bad = {TERN_ELEM_FLOAT, 2, {0, 7}};
    if (tern_ckpt_begin(MPI_COMM_WORLD, dir, 2, NULL, &w, &err))
        DIE("begin: %s", err.msg);
    if (tern_ckpt_put_array_desc(w, "b", sizeof *f, 10, f, &bad, &err) == 0)
        DIE("10 elements in rows of 7 accepted");
    if (tern_ckpt_commit(w, NULL, &err) == 0)
        DIE("a commit after a refused put_array succeeded");
    if (nranks > 1) {   /* kinds differ between ranks: one agreed failure */
        tern_array_desc k = {rank ? TERN_ELEM_INT : TERN_ELEM_FLOAT, 1, {0}};
        if (tern_ckpt_begin(MPI_COMM_WORLD, dir, 2, NULL, &w, &err) ||
            tern_ckpt_put_array_desc(w, "k", 8, 1, f, &k, &err))
            DIE("begin/put: %s", err.msg);
        if (tern_ckpt_commit(w, NULL, &err) == 0 || !strstr(err.msg, "calls differ"))
            DIE("kinds differing between ranks: '%s'", err.msg);
    }
    free(f);
    free(h);
    free(z);
    if (rank == 0)
        printf("shaped: typed arrays on %d ranks read back\n", nranks);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 3)
        DIE("usage: see the comment at the top of store_test.c");
    const char *cmd = argv[1];
    if (!strcmp(cmd, "serial"))
        return cmd_serial(argv[2]);
    if (!strcmp(cmd, "set-version") && argc == 4) {
        hid_t f = open_rw(argv[2]);
        int32_t v = atoi(argv[3]);
        hid_t a = H5Aopen(f, "tern_format_version", H5P_DEFAULT);
        if (a < 0 || H5Awrite(a, H5T_NATIVE_INT32, &v) < 0)
            DIE("set-version failed");
        H5Aclose(a);
        H5Fclose(f);
        return 0;
    }
    if (!strcmp(cmd, "drop-rank") && argc == 4) {
        hid_t f = open_rw(argv[2]);
        char p[64];
        snprintf(p, sizeof p, "/ranks/%06d", atoi(argv[3]));
        if (H5Ldelete(f, p, H5P_DEFAULT) < 0)
            DIE("drop-rank failed");
        H5Fclose(f);
        return 0;
    }
    if (!strcmp(cmd, "cat") && argc == 5) {   /* cat FILE RANK SEGMENT > bytes */
        tern_error err = {0};
        tern_ckpt *c;
        tern_segment_info *si;
        int ns;
        if (tern_ckpt_open(argv[2], &c, &err) ||
            tern_ckpt_segments(c, atoi(argv[3]), &si, &ns, &err))
            DIE("%s", err.msg);
        for (int i = 0; i < ns; i++)
            if (!strcmp(si[i].name, argv[4])) {
                unsigned char *b = malloc(si[i].size + 1);
                if (tern_ckpt_read(c, atoi(argv[3]), argv[4], b, si[i].size, &err))
                    DIE("%s", err.msg);
                fwrite(b, 1, si[i].size, stdout);
                return 0;
            }
        DIE("no segment %s", argv[4]);
    }
    if (!strcmp(cmd, "data-offset") && argc == 4) {
        H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
        hid_t f = H5Fopen(argv[2], H5F_ACC_RDONLY, H5P_DEFAULT);
        char p[64];
        snprintf(p, sizeof p, "/ranks/%06d/data.0", atoi(argv[3]));
        hid_t d = f < 0 ? -1 : H5Dopen2(f, p, H5P_DEFAULT);
        if (d < 0)
            DIE("no %s", p);
        printf("%" PRIu64 "\n", (uint64_t)H5Dget_offset(d));
        H5Dclose(d);
        H5Fclose(f);
        return 0;
    }
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &nranks);
    int rc = 1;
    if (!strcmp(cmd, "roundtrip") && argc == 5)
        rc = cmd_roundtrip(argv[2], strtoull(argv[3], NULL, 0), atoi(argv[4]));
    else if (!strcmp(cmd, "shaped") && argc == 3)
        rc = cmd_shaped(argv[2]);
    else if (!strcmp(cmd, "write") && argc == 5)
        rc = cmd_write(argv[2], strtoull(argv[3], NULL, 0), strtoull(argv[4], NULL, 0));
    else
        DIE("unknown command %s", cmd);
    MPI_Finalize();
    return rc;
}
