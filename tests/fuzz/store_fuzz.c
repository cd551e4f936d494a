/* store_fuzz: a libFuzzer target for the checkpoint reader (storage/), built
 * with -fsanitize=fuzzer,address,undefined by tests/fuzz/target.
 *
 * An input is one flag byte and a checkpoint file's bytes. The target opens
 * the file and does what tern's readers do: info, every rank's segments,
 * every segment read (whole, or streamed when large), its extents, the
 * seeds' global arrays, verify.
 *
 * The mutator is structure-aware (LLVMFuzzerCustomMutator). Raw byte
 * mutation of an HDF5 file mostly hits HDF5's own metadata and finds crashes
 * inside HDF5 1.10 that tern cannot fix, so most mutations change what tern
 * itself interprets, leaving HDF5's metadata valid:
 *   - an attribute value, rewritten through the HDF5 API on a copy (any bit
 *     pattern, in the attribute's own type: tests/storage/ckpt_mut.c);
 *   - a field of one row of tern's tables (segments, chunks, arrays_crc) or
 *     bytes of its data sets (data.K, arrays), at their file offsets
 *     (H5Dget_offset), set to interesting values (0, 1, -1, 2^31-1, 2^32,
 *     2^59+1, 2^63, random).
 * A small share (TERN_FUZZ_RAW_PERCENT, default 10) are raw byte flips
 * anywhere, or libFuzzer's own mutations. Those may damage HDF5's metadata:
 * the input's flag byte then says so (bit 0, kept by every descendant), the
 * mutator no longer hands such an input to HDF5, and a crash on it whose
 * stack ends inside HDF5 is reported separately by tests/fuzz/fuzz.sh and
 * does not fail the test (docs/storage.md, "Bad input"). A crash on an
 * input without the flag, or one in tern's code, fails it.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ckpt_mut.h"
#include "tern_store.h"

#define RAW_FLAG 0x01
#define MAX_READ (64u << 20)   /* segments read whole up to this, streamed beyond */

size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t max);

static char in_path[128], mut_path[128];

static void cleanup(void)
{
    unlink(in_path);
    unlink(mut_path);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    const char *tmp = getenv("TERN_FUZZ_TMP") ? getenv("TERN_FUZZ_TMP") : "/dev/shm";
    snprintf(in_path, sizeof in_path, "%s/tern-fuzz-%d.h5", tmp, (int)getpid());
    snprintf(mut_path, sizeof mut_path, "%s/tern-fuzz-mut-%d.h5", tmp, (int)getpid());
    atexit(cleanup);
    cm_quiet();
    return 0;
}

static int put_file(const char *path, const uint8_t *b, size_t n)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    int ok = fd >= 0 && write(fd, b, n) == (ssize_t)n;
    if (fd >= 0)
        close(fd);
    return ok ? 0 : -1;
}

/* ---- the target --------------------------------------------------------- */

static int count_sink(void *ctx, uint64_t off, const void *src, size_t n, tern_error *err)
{
    (void)off, (void)err;
    const unsigned char *p = src;
    *(uint64_t *)ctx += n ? p[0] + p[n - 1] : 0;   /* touch what was handed out */
    return 0;
}

static void read_segment(tern_ckpt *c, int r, const tern_segment_info *s)
{
    tern_error err;
    uint64_t sum = 0;
    if (s->size <= MAX_READ) {
        unsigned char *b = malloc(s->size ? s->size : 1);
        if (b)
            tern_ckpt_read(c, r, s->name, b, s->size, &err);
        free(b);
    } else {
        tern_ckpt_read_fn(c, r, s->name, count_sink, &sum, &err);
    }
    tern_extent *ext = NULL;
    uint64_t next = 0;
    if (tern_ckpt_extents(c, r, s->name, count_sink, &sum, &ext, &next, &err) == 0)
        free(ext);
}

static void read_arrays(tern_ckpt *c)
{
    static const char *const names[] = {"u", "v", "nosuch"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        tern_error err;
        size_t es;
        uint64_t total, *counts = NULL;
        if (tern_ckpt_array_info(c, names[i], &es, &total, &counts, &err))
            continue;
        free(counts);
        if (total > MAX_READ / es)
            continue;
        unsigned char *b = malloc(total * es + 1);
        if (b && tern_ckpt_read_array(c, names[i], 0, total, b, &err) == 0 && total > 1)
            tern_ckpt_read_array(c, names[i], 1, total - 1, b, &err);
        free(b);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2 || put_file(in_path, data + 1, size - 1))
        return 0;
    tern_ckpt *c;
    tern_error err;
    if (tern_ckpt_open(in_path, &c, &err))
        return 0;
    const tern_ckpt_info *in = tern_ckpt_get_info(c);
    for (int r = 0; r < in->nranks && r < 8; r++) {
        tern_segment_info *segs = NULL;
        int n = 0;
        if (tern_ckpt_segments(c, r, &segs, &n, &err))
            continue;
        for (int i = 0; i < n; i++)
            read_segment(c, r, &segs[i]);
        free(segs);
    }
    read_arrays(c);
    tern_ckpt_verify(c, NULL, NULL, &err);
    tern_ckpt_close(c);
    return 0;
}

/* ---- the mutator -------------------------------------------------------- */

typedef struct rng {
    uint64_t s;
} rng;

static uint64_t next(rng *g)
{
    g->s += 0x9e3779b97f4a7c15ull;
    uint64_t z = g->s;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static uint64_t interesting(rng *g)
{
    static const uint64_t v[] = {0, 1, 2, 3, 7, 8, 255, 4095, 4096, 4097, 16384, 65535, 65536,
                                 0x7fffffff, 0x80000000, 0xffffffff, 0x100000000ull,
                                 0x800000000000001ull, 0x7fffffffffffffffull,
                                 0x8000000000000000ull, UINT64_MAX, UINT64_MAX - 1};
    uint64_t k = next(g) % (sizeof v / sizeof *v + 4);
    return k < sizeof v / sizeof *v ? v[k] : next(g) >> (next(g) % 64);
}

/* The objects whose attributes tern reads, and their attributes. */
static const struct {
    const char *obj, *name;
} attrs[] = {
    {"/", "tern_format_version"}, {"/", "nranks"}, {"/", "nnodes"}, {"/", "epoch"},
    {"/", "chunk_bytes"}, {"/", "created"}, {"/", "job"}, {"/", "logical_bytes"},
    {"/", "stored_bytes"}, {"/nodes/000000", "ranks"}, {"/nodes/000000", "host"},
    {"/nodes/000001", "ranks"}, {"/arrays/u", "elem_size"}, {"/arrays/u", "rank_counts"},
    {"/arrays/v", "elem_size"}, {"/arrays/v", "rank_counts"}, {"/attrs", "tern_mode"},
    {"/attrs", "tern_protocol"},
};

static int mutate_attr(rng *g)
{
    hid_t f = cm_open(mut_path, H5F_ACC_RDWR);
    if (f < 0)
        return -1;
    size_t k = next(g) % (sizeof attrs / sizeof *attrs);
    int rc = cm_attr_set(f, attrs[k].obj, attrs[k].name, next(g) % 4, interesting(g));
    if (rc && next(g) % 2)   /* an element past a short vector: element 0 */
        rc = cm_attr_set(f, attrs[k].obj, attrs[k].name, 0, interesting(g));
    return H5Fclose(f) < 0 || rc ? -1 : 0;
}

/* A table or data set of rank 0..2 (or an array's), located in the file. */
static int pick_table(rng *g, hid_t f, cm_table *t)
{
    static const char *const rank_sets[] = {"segments", "chunks", "data.0", "data.1"};
    static const char *const arrays[] = {"/arrays_crc/u", "/arrays_crc/v", "/arrays/u",
                                         "/arrays/v"};
    char path[64];
    uint64_t k = next(g) % 8;
    if (k < 6)
        snprintf(path, sizeof path, "/ranks/%06d/%s", (int)(next(g) % 3),
                 rank_sets[k < 2 ? 0 : k < 4 ? 1 : 2 + next(g) % 2]);
    else
        snprintf(path, sizeof path, "%s", arrays[next(g) % 4]);
    return cm_table_get(f, path, t);
}

/* One field of one row (or a few bytes of a data set) in buf. */
static int mutate_table(rng *g, uint8_t *buf, size_t n)
{
    hid_t f = cm_open(mut_path, H5F_ACC_RDONLY);
    if (f < 0)
        return -1;
    cm_table t;
    int rc = -1;
    for (int tries = 0; tries < 8 && rc; tries++)
        rc = pick_table(g, f, &t);
    H5Fclose(f);
    if (rc || t.file_off + t.bytes > n)
        return -1;
    uint64_t row = next(g) % t.nrows, off;
    size_t size;
    if (t.nmembers) {
        int m = (int)(next(g) % (uint64_t)t.nmembers);
        if (cm_field_where(&t, row, t.m[m].name, &off, &size))
            return -1;
        if (t.m[m].cls == H5T_STRING) {   /* a segment name: one byte */
            off += next(g) % size;
            size = 1;
        }
    } else {
        off = t.file_off + next(g) % t.bytes;
        size = 1 + next(g) % 8;
        if (off + size > t.file_off + t.bytes)
            size = (size_t)(t.file_off + t.bytes - off);
    }
    uint8_t v[8];
    cm_put_le(v, sizeof v, size == 1 && next(g) % 2 ? next(g) : interesting(g));
    memcpy(buf + off, v, size);
    return 0;
}

static void raw_flips(rng *g, uint8_t *buf, size_t n)
{
    int k = 1 + (int)(next(g) % 4);
    for (int i = 0; i < k && n; i++) {
        uint64_t at = next(g) % n;
        buf[at] = next(g) % 2 ? (uint8_t)(buf[at] ^ (1u << (next(g) % 8))) : (uint8_t)next(g);
    }
}

static size_t read_back(uint8_t *data, size_t max)
{
    struct stat st;
    int fd = open(mut_path, O_RDONLY | O_CLOEXEC);
    size_t n = 0;
    if (fd >= 0 && fstat(fd, &st) == 0 && (size_t)st.st_size + 1 <= max &&
        pread(fd, data + 1, (size_t)st.st_size, 0) == st.st_size)
        n = (size_t)st.st_size + 1;
    if (fd >= 0)
        close(fd);
    return n;
}

/* libFuzzer's crossover splices two files' bytes: HDF5 metadata included,
 * so the result is marked raw (fuzz.sh also runs with -cross_over=0). */
size_t LLVMFuzzerCustomCrossOver(const uint8_t *d1, size_t s1, const uint8_t *d2, size_t s2,
                                 uint8_t *out, size_t max, unsigned int seed)
{
    rng g = {seed};
    size_t n = s1 < max ? s1 : max;
    memcpy(out, d1, n);
    if (n > 1 && s2 > 1) {
        size_t at = 1 + next(&g) % (n - 1), len = 1 + next(&g) % 64;
        for (size_t i = 0; i < len && at + i < n && at + i < s2; i++)
            out[at + i] = d2[at + i];
        out[0] |= RAW_FLAG;
    }
    return n;
}

size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max, unsigned int seed)
{
    rng g = {seed};
    const char *e = getenv("TERN_FUZZ_RAW_PERCENT");
    uint64_t raw_pct = e ? (uint64_t)atoi(e) : 10;
    if (size < 2)
        return size;
    /* HDF5 is handed only inputs whose metadata it wrote itself */
    int raw = (data[0] & RAW_FLAG) || next(&g) % 100 < raw_pct;
    if (raw) {
        data[0] |= RAW_FLAG;
        if (next(&g) % 2)
            return 1 + LLVMFuzzerMutate(data + 1, size - 1, max - 1);
        raw_flips(&g, data + 1, size - 1);
        return size;
    }
    int nops = next(&g) % 4 == 0 ? 2 + (int)(next(&g) % 3) : 1;
    for (int i = 0; i < nops; i++) {
        if (next(&g) % 10 < 4) {
            size_t n;
            if (put_file(mut_path, data + 1, size - 1) || mutate_attr(&g) ||
                !(n = read_back(data, max)))
                continue;
            size = n;
        } else {
            if (put_file(mut_path, data + 1, size - 1))
                continue;
            mutate_table(&g, data + 1, size - 1);
        }
    }
    return size;
}
