/* image_fuzz: a libFuzzer target for the dumper's image reader
 * (dumper/dmp_image.c: dmp_image_load, and dmp_restore_check after it),
 * built like store_fuzz by tests/fuzz/target.
 *
 * An input is the bytes of an image's metadata segment (PREFIX.meta: the
 * header, then the region, run, thread, fd, special and siginfo tables,
 * dmp_state.h). The target stores them as "dumper.meta" of a serial
 * checkpoint written by the store itself, so that the store's reader hands
 * them to the loader as any image would, then loads and checks the image.
 * HDF5 only ever sees files it wrote: every crash here is tern's.
 *
 * dmp_restore_check opens the files of the image's fd table (that is what
 * it checks): with fuzzed paths and flags that could open any file or
 * device of the machine, so the target empties the fd table first; every
 * other check runs.
 *
 * The mutator is structure-aware: most mutations set one field of one
 * record (the header's counts, a region's run0 / nruns / data_off /
 * data_pages / start / end, a run's page / npages, a thread's pending0 /
 * npending / xsave_len, ...) to an interesting value (0, -1, 2^64 - n,
 * 2^31, ...), or make a start and its count wrap around 2^64 together
 * (run0 = 2^64 - nruns: what the loader let through before issue 14); the
 * rest are libFuzzer's own byte mutations.
 */
#define _GNU_SOURCE
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dmp_image.h"
#include "dmp_restore.h"

size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t max);

static char dir[128];
static uint64_t epoch;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    const char *tmp = getenv("TERN_FUZZ_TMP") ? getenv("TERN_FUZZ_TMP") : "/dev/shm";
    snprintf(dir, sizeof dir, "%s/tern-image-fuzz-%d", tmp, (int)getpid());
    return 0;
}

/* The metadata stored as the store stores an image's; the path in *path. */
static int store(const uint8_t *data, size_t size, char *path, size_t len)
{
    tern_store_opts o;
    tern_store_opts_default(&o);
    o.compress_level = 0;
    o.keep = 1;
    tern_ckpt_writer *w;
    tern_error err;
    tern_ckpt_stats st;
    if (tern_ckpt_begin(MPI_COMM_NULL, dir, ++epoch, &o, &w, &err))
        return -1;
    if (tern_ckpt_put(w, "dumper.meta", data, size, &err)) {
        tern_ckpt_abort(w);
        return -1;
    }
    if (tern_ckpt_commit(w, &st, &err))
        return -1;
    snprintf(path, len, "%s", st.path);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[4096];
    if (store(data, size, path, sizeof path))
        return 0;
    tern_ckpt *c;
    tern_error err;
    dmp_state s;
    if (tern_ckpt_open(path, &c, &err))
        return 0;
    if (dmp_image_load(c, 0, "dumper", &s, &err) == 0) {
        s.h.nfds = 0;   /* no opening of the image's files (above) */
        dmp_restore_check(&s, 0, &err);
        dmp_state_free(&s);
    }
    tern_ckpt_close(c);
    return 0;
}

/* ---- the mutator -------------------------------------------------------- */

static uint64_t next(uint64_t *g)
{
    *g += 0x9e3779b97f4a7c15ull;
    uint64_t z = *g;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* An interesting value for a field that holds `cur` (2^64 - n wraps a sum
 * of n around to zero). */
static uint64_t interesting(uint64_t *g, uint64_t cur)
{
    static const uint64_t v[] = {0, 1, 2, 4095, 4096, 0x7fffffff, 0x80000000, 0xffffffff,
                                 0x100000000ull, 0x7fffffffffffffffull, UINT64_MAX};
    uint64_t k = next(g) % (sizeof v / sizeof *v + 4);
    if (k < sizeof v / sizeof *v)
        return v[k];
    if (k == sizeof v / sizeof *v)
        return (uint64_t)0 - (1 + next(g) % 16);
    return k % 2 ? cur + 1 + next(g) % 4 : cur - 1 - next(g) % 4;
}

typedef struct field {
    size_t off, size;
} field;

#define F(type, member) {offsetof(type, member), sizeof(((type *)0)->member)}
static const field header_f[] = {F(dmp_header, nthreads), F(dmp_header, nregions),
                                 F(dmp_header, nfds), F(dmp_header, nsiginfo),
                                 F(dmp_header, nspecial), F(dmp_header, nruns),
                                 F(dmp_header, data_bytes), F(dmp_header, shared_pending),
                                 F(dmp_header, auxv_bytes), F(dmp_header, xsave_size)};
static const field region_f[] = {F(dmp_region, start), F(dmp_region, end),
                                 F(dmp_region, nruns), F(dmp_region, run0),
                                 F(dmp_region, data_off), F(dmp_region, data_pages),
                                 F(dmp_region, kind), F(dmp_region, flags)};
static const field run_f[] = {F(dmp_run, page), F(dmp_run, npages)};
static const field thread_f[] = {F(dmp_thread, xsave_len), F(dmp_thread, npending),
                                 F(dmp_thread, pending0), F(dmp_thread, tid)};
static const field run0_f = F(dmp_region, run0), nruns_f = F(dmp_region, nruns);
static const field page_f = F(dmp_run, page), npages_f = F(dmp_run, npages);
static const field pend0_f = F(dmp_thread, pending0), npend_f = F(dmp_thread, npending);
#undef F

/* The tables as the (mutated, so untrusted) header describes them: where
 * each starts, its record size and count. Offsets are computed in 64 bits
 * and checked against the buffer by at(). */
enum { T_HEADER, T_REGION, T_RUN, T_THREAD, NT };
typedef struct tables {
    uint64_t base[NT], rec[NT], count[NT];
} tables;

static void describe(const uint8_t *d, tables *t)
{
    dmp_header h;
    memcpy(&h, d, sizeof h);
    uint64_t rec[NT] = {sizeof h, sizeof(dmp_region), sizeof(dmp_run), sizeof(dmp_thread)};
    uint64_t count[NT] = {1, h.nregions, h.nruns, h.nthreads};
    uint64_t base = 0;
    for (int i = 0; i < NT; i++) {
        t->base[i] = base;
        t->rec[i] = rec[i];
        t->count[i] = count[i];
        uint64_t len;
        if (__builtin_mul_overflow(count[i], rec[i], &len) || __builtin_add_overflow(base, len, &base))
            base = UINT64_MAX;
    }
}

/* Byte offset of field f of record idx of table k, or -1 outside n bytes. */
static int64_t at(const tables *t, int k, uint64_t idx, const field *f, size_t n)
{
    uint64_t o;
    if (__builtin_mul_overflow(idx, t->rec[k], &o) || __builtin_add_overflow(o, t->base[k], &o) ||
        __builtin_add_overflow(o, f->off, &o) || o > n || f->size > n - o)
        return -1;
    return (int64_t)o;
}

static uint64_t get(const uint8_t *d, int64_t o, const field *f)
{
    uint64_t v = 0;
    memcpy(&v, d + o, f->size);   /* little-endian: the low bytes */
    return v;
}

static void put(uint8_t *d, int64_t o, const field *f, uint64_t v)
{
    memcpy(d + o, &v, f->size);
}

/* One field of one record of the tables the header describes. */
static void mutate_field(uint64_t *g, uint8_t *d, size_t n)
{
    const field *fs[NT] = {header_f, region_f, run_f, thread_f};
    size_t nf[NT] = {sizeof header_f / sizeof *header_f, sizeof region_f / sizeof *region_f,
                     sizeof run_f / sizeof *run_f, sizeof thread_f / sizeof *thread_f};
    tables t;
    describe(d, &t);
    int k = (int)(next(g) % NT);
    if (!t.count[k])
        k = T_HEADER;
    const field *f = &fs[k][next(g) % nf[k]];
    int64_t o = at(&t, k, next(g) % t.count[k], f, n);
    if (o >= 0)
        put(d, o, f, interesting(g, get(d, o, f)));
}

/* A start and a count whose sum wraps to (almost) zero: a region's runs
 * starting at 2^64 - nruns, a run at page 2^64 - npages, a thread's
 * pending signals at 2^64 - npending. Blind values rarely hit these. */
static void wrap_sum(uint64_t *g, uint8_t *d, size_t n)
{
    static const int table[] = {T_REGION, T_RUN, T_THREAD};
    const field *start[] = {&run0_f, &page_f, &pend0_f}, *cnt[] = {&nruns_f, &npages_f, &npend_f};
    tables t;
    describe(d, &t);
    uint64_t w = next(g) % 3, slack = next(g) % 2;
    int k = table[w];
    if (!t.count[k])
        return;
    uint64_t idx = next(g) % t.count[k];
    int64_t os = at(&t, k, idx, start[w], n), oc = at(&t, k, idx, cnt[w], n);
    if (os < 0 || oc < 0)
        return;
    if (k == T_THREAD)
        put(d, oc, cnt[w], 1 + next(g) % 2);
    put(d, os, start[w], (uint64_t)0 - get(d, oc, cnt[w]) - slack);
}

size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max, unsigned int seed)
{
    uint64_t g = seed;
    uint64_t pick = next(&g) % 10;
    if (size < sizeof(dmp_header) || pick < 3)
        return LLVMFuzzerMutate(data, size, max);
    if (pick < 5) {
        wrap_sum(&g, data, size);
        return size;
    }
    int k = 1 + (int)(next(&g) % 3);
    for (int i = 0; i < k; i++)
        mutate_field(&g, data, size);
    return size;
}
