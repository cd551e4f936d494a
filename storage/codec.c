#include "codec.h"

#include "clock.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>

/* CRC32 is the one pass over every byte that a RAW write cannot avoid, so
 * it is computed by carry-less multiplication folding (PCLMULQDQ, the method
 * of Intel's "Fast CRC Computation for Generic Polynomials Using PCLMULQDQ",
 * reflected constants for zlib's polynomial 0xEDB88320) where the CPU has
 * it: about twice zlib's speed here. Same values as zlib's crc32(); zlib
 * finishes the tail and is the fallback. */
#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

/* The end of both folds: 128 bits folded to 64 with k128 (x^160 and x^96 mod
 * P), then Barrett reduction to the 32-bit CRC. */
__attribute__((target("pclmul,sse4.1")))
static inline uint32_t reduce128(__m128i x1, __m128i x0)
{
    static const uint64_t __attribute__((aligned(16))) k5k0[] = {0x0163cd6124, 0x0000000000};
    static const uint64_t __attribute__((aligned(16))) poly[] = {0x01db710641, 0x01f7011641};
    __m128i x2, x3;
    x2 = _mm_clmulepi64_si128(x1, x0, 0x10);
    x3 = _mm_setr_epi32(~0, 0, ~0, 0);
    x1 = _mm_srli_si128(x1, 8);
    x1 = _mm_xor_si128(x1, x2);
    x0 = _mm_loadl_epi64((const __m128i *)k5k0);
    x2 = _mm_srli_si128(x1, 4);
    x1 = _mm_and_si128(x1, x3);
    x1 = _mm_clmulepi64_si128(x1, x0, 0x00);
    x1 = _mm_xor_si128(x1, x2);
    x0 = _mm_load_si128((const __m128i *)poly);
    x2 = _mm_and_si128(x1, x3);
    x2 = _mm_clmulepi64_si128(x2, x0, 0x10);
    x2 = _mm_and_si128(x2, x3);
    x2 = _mm_clmulepi64_si128(x2, x0, 0x00);
    x1 = _mm_xor_si128(x1, x2);
    return (uint32_t)_mm_extract_epi32(x1, 1);
}

__attribute__((target("pclmul,sse4.1")))
static uint32_t fold(const unsigned char *buf, size_t len, uint32_t crc)
{
    static const uint64_t __attribute__((aligned(16))) k1k2[] = {0x0154442bd4, 0x01c6e41596};
    static const uint64_t __attribute__((aligned(16))) k3k4[] = {0x01751997d0, 0x00ccaa009e};
    __m128i x0, x1, x2, x3, x4, x5, x6, x7, x8, y5, y6, y7, y8;
    x1 = _mm_loadu_si128((const __m128i *)(buf + 0x00));
    x2 = _mm_loadu_si128((const __m128i *)(buf + 0x10));
    x3 = _mm_loadu_si128((const __m128i *)(buf + 0x20));
    x4 = _mm_loadu_si128((const __m128i *)(buf + 0x30));
    x1 = _mm_xor_si128(x1, _mm_cvtsi32_si128((int)crc));
    x0 = _mm_load_si128((const __m128i *)k1k2);
    buf += 64;
    len -= 64;
    while (len >= 64) {
        x5 = _mm_clmulepi64_si128(x1, x0, 0x00);
        x6 = _mm_clmulepi64_si128(x2, x0, 0x00);
        x7 = _mm_clmulepi64_si128(x3, x0, 0x00);
        x8 = _mm_clmulepi64_si128(x4, x0, 0x00);
        x1 = _mm_clmulepi64_si128(x1, x0, 0x11);
        x2 = _mm_clmulepi64_si128(x2, x0, 0x11);
        x3 = _mm_clmulepi64_si128(x3, x0, 0x11);
        x4 = _mm_clmulepi64_si128(x4, x0, 0x11);
        y5 = _mm_loadu_si128((const __m128i *)(buf + 0x00));
        y6 = _mm_loadu_si128((const __m128i *)(buf + 0x10));
        y7 = _mm_loadu_si128((const __m128i *)(buf + 0x20));
        y8 = _mm_loadu_si128((const __m128i *)(buf + 0x30));
        x1 = _mm_xor_si128(_mm_xor_si128(x1, x5), y5);
        x2 = _mm_xor_si128(_mm_xor_si128(x2, x6), y6);
        x3 = _mm_xor_si128(_mm_xor_si128(x3, x7), y7);
        x4 = _mm_xor_si128(_mm_xor_si128(x4, x8), y8);
        buf += 64;
        len -= 64;
    }
    x0 = _mm_load_si128((const __m128i *)k3k4);
    x5 = _mm_clmulepi64_si128(x1, x0, 0x00);
    x1 = _mm_clmulepi64_si128(x1, x0, 0x11);
    x1 = _mm_xor_si128(_mm_xor_si128(x1, x2), x5);
    x5 = _mm_clmulepi64_si128(x1, x0, 0x00);
    x1 = _mm_clmulepi64_si128(x1, x0, 0x11);
    x1 = _mm_xor_si128(_mm_xor_si128(x1, x3), x5);
    x5 = _mm_clmulepi64_si128(x1, x0, 0x00);
    x1 = _mm_clmulepi64_si128(x1, x0, 0x11);
    x1 = _mm_xor_si128(_mm_xor_si128(x1, x4), x5);
    while (len >= 16) {
        x2 = _mm_loadu_si128((const __m128i *)buf);
        x5 = _mm_clmulepi64_si128(x1, x0, 0x00);
        x1 = _mm_clmulepi64_si128(x1, x0, 0x11);
        x1 = _mm_xor_si128(_mm_xor_si128(x1, x2), x5);
        buf += 16;
        len -= 16;
    }
    return reduce128(x1, x0);
}

/* The same folding four 512-bit registers at a time (VPCLMULQDQ with
 * AVX-512, 256 bytes per step): the CRC then runs at about the speed the
 * data comes out of the page cache, so checking an image costs about what
 * reading it does. Constants are x^(D+32) and x^(D-32) mod P, bit-reflected
 * and shifted left by one, for fold distances D of 2048, 512, 384, 256 and
 * 128 bits. len >= 256, a multiple of 16; returns what fold() returns. */
__attribute__((target("avx512f,avx512vl,vpclmulqdq,pclmul,sse4.1")))
static uint32_t fold_wide(const unsigned char *buf, size_t len, uint32_t crc)
{
#define FOLD512(z, k, d) _mm512_ternarylogic_epi64(_mm512_clmulepi64_epi128(z, k, 0x00), \
                                                   _mm512_clmulepi64_epi128(z, k, 0x11), d, 0x96)
#define FOLD128(x, k) _mm_xor_si128(_mm_clmulepi64_si128(x, k, 0x00), _mm_clmulepi64_si128(x, k, 0x11))
    __m512i z0 = _mm512_loadu_si512((const void *)(buf + 0));
    __m512i z1 = _mm512_loadu_si512((const void *)(buf + 64));
    __m512i z2 = _mm512_loadu_si512((const void *)(buf + 128));
    __m512i z3 = _mm512_loadu_si512((const void *)(buf + 192));
    z0 = _mm512_xor_si512(z0, _mm512_inserti32x4(_mm512_setzero_si512(),
                                                 _mm_cvtsi32_si128((int)crc), 0));
    buf += 256;
    len -= 256;
    const __m512i k2048 = _mm512_broadcast_i32x4(_mm_set_epi64x(0x1322d1430, 0x11542778a));
    while (len >= 256) {
        z0 = FOLD512(z0, k2048, _mm512_loadu_si512((const void *)(buf + 0)));
        z1 = FOLD512(z1, k2048, _mm512_loadu_si512((const void *)(buf + 64)));
        z2 = FOLD512(z2, k2048, _mm512_loadu_si512((const void *)(buf + 128)));
        z3 = FOLD512(z3, k2048, _mm512_loadu_si512((const void *)(buf + 192)));
        buf += 256;
        len -= 256;
    }
    const __m512i k512 = _mm512_broadcast_i32x4(_mm_set_epi64x(0x1c6e41596, 0x154442bd4));
    z1 = FOLD512(z0, k512, z1);
    z2 = FOLD512(z1, k512, z2);
    z3 = FOLD512(z2, k512, z3);
    const __m128i k384 = _mm_set_epi64x(0x174359406, 0x3db1ecdc);
    const __m128i k256 = _mm_set_epi64x(0x15a546366, 0xf1da05aa);
    const __m128i k128 = _mm_set_epi64x(0x0ccaa009e, 0x1751997d0);
    __m128i x1 = _mm512_extracti32x4_epi32(z3, 3);
    x1 = _mm_xor_si128(x1, FOLD128(_mm512_extracti32x4_epi32(z3, 0), k384));
    x1 = _mm_xor_si128(x1, FOLD128(_mm512_extracti32x4_epi32(z3, 1), k256));
    x1 = _mm_xor_si128(x1, FOLD128(_mm512_extracti32x4_epi32(z3, 2), k128));
    while (len >= 16) {
        x1 = _mm_xor_si128(FOLD128(x1, k128), _mm_loadu_si128((const __m128i *)buf));
        buf += 16;
        len -= 16;
    }
#undef FOLD512
#undef FOLD128
    return reduce128(x1, k128);
}

static int have_wide_clmul(void)
{
    static int v = -1;
    if (v < 0) {
        const char *e = getenv("TERN_CRC_NO_AVX512");   /* tests compare both paths */
        v = !(e && *e && strcmp(e, "0")) && __builtin_cpu_supports("vpclmulqdq") &&
            __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
            __builtin_cpu_supports("pclmul") && __builtin_cpu_supports("sse4.1");
    }
    return v;
}

static int have_clmul(void)
{
    static int v = -1;
    if (v < 0)
        v = __builtin_cpu_supports("pclmul") && __builtin_cpu_supports("sse4.1");
    return v;
}
#endif

uint32_t tern_crc32(const void *p, size_t n)
{
    return tern_crc32_update(0, p, n);
}

/* Small runs directly; longer ones by combining the CRCs of power-of-two
 * runs (zlib's crc32_combine, O(log n) each): a ZERO chunk is checked for
 * the cost of its arithmetic, not of 64 MiB of zeros, however many a
 * damaged index claims. */
uint32_t tern_zero_crc32(size_t n)
{
    static const unsigned char z[16384];
    if (n <= sizeof z)
        return tern_crc32_update(0, z, n);
    uint32_t crc = 0, run = tern_crc32_update(0, z, 1);   /* CRC of 2^k zeros */
    int first = 1;
    for (uint64_t len = 1; n; len <<= 1, n >>= 1) {
        if (n & 1) {
            crc = first ? run : (uint32_t)crc32_combine(crc, run, (z_off_t)len);
            first = 0;
        }
        if (n > 1)
            run = (uint32_t)crc32_combine(run, run, (z_off_t)len);
    }
    return crc;
}

uint32_t tern_crc32_update(uint32_t crc, const void *p, size_t n)
{
    const unsigned char *b = p;
#if defined(__x86_64__) && defined(__GNUC__)
    if (n >= 256 && have_wide_clmul()) {
        size_t m = n & ~(size_t)15;
        crc = ~fold_wide(b, m, ~crc);
        b += m;
        n -= m;
    } else if (n >= 64 && have_clmul()) {
        size_t m = n & ~(size_t)15;
        crc = ~fold(b, m, ~crc);
        b += m;
        n -= m;
    }
#endif
    return (uint32_t)crc32_z(crc, (const Bytef *)b, n);
}

int tern_is_zero(const void *p, size_t n)
{
    const unsigned char *c = p;
    /* Word loop with an early exit: non-zero data costs a few loads, so the
     * check is nearly free except on the zero bytes it lets us skip. */
    while (n && ((uintptr_t)c & 7)) {
        if (*c)
            return 0;
        c++, n--;
    }
    const uint64_t *w = (const uint64_t *)(const void *)c;
    while (n >= 64) {
        if (w[0] | w[1] | w[2] | w[3] | w[4] | w[5] | w[6] | w[7])
            return 0;
        w += 8;
        n -= 64;
    }
    c = (const unsigned char *)w;
    while (n) {
        if (*c)
            return 0;
        c++, n--;
    }
    return 1;
}

void tern_codec_init(tern_codec_state *s, int level, double disk_bps)
{
    s->z = NULL;
    s->level = level < 0 ? 0 : level > 9 ? 9 : level;
    s->disk_bps = disk_bps > 0 ? disk_bps : 1.2e9;
    s->skip = 0;
    s->backoff = 1;
}

void tern_codec_reset(tern_codec_state *s)
{
    s->skip = 0;
    s->backoff = 1;
}

void tern_codec_free(tern_codec_state *s)
{
    if (s->z) {
        deflateEnd(s->z);
        free(s->z);
        s->z = NULL;
    }
}

/* Deflates in[0..n) into out, giving up once more than cap bytes would be
 * needed. Returns the stored size or 0. */
static size_t zdeflate(tern_codec_state *s, const unsigned char *in, size_t n,
                       unsigned char *out, size_t cap)
{
    if (!s->z) {
        z_stream *z = calloc(1, sizeof *z);
        if (!z || deflateInit(z, s->level) != Z_OK) {
            free(z);
            return 0;
        }
        s->z = z;
    }
    z_stream *z = s->z;
    deflateReset(z);
    z->next_in = (Bytef *)in;
    z->avail_in = (uInt)n;
    z->next_out = out;
    z->avail_out = (uInt)cap;
    if (deflate(z, Z_FINISH) != Z_STREAM_END)
        return 0;
    return z->total_out;
}

size_t tern_deflate_bound(size_t n)
{
    return compressBound(n);
}

#define SAMPLE_BYTES 16384u

/* Does deflating pay? Compressing the chunk must take less time than
 * writing the bytes it saves: speed * (1 - ratio) > disk rate. A sample of
 * one block gives both speed and ratio; zero blocks are left out because
 * SPARSE already drops them for free. */
static int deflate_pays(tern_codec_state *s, const unsigned char *sample,
                        size_t len)
{
    unsigned char out[SAMPLE_BYTES + 1024];
    zdeflate(s, sample, 0, out, sizeof out);   /* set up the stream, untimed */
    double t0 = tern_now_mono();
    size_t olen = zdeflate(s, sample, len, out, sizeof out);
    double dt = tern_now_mono() - t0;
    if (!olen)
        return 0;
    double ratio = (double)olen / (double)len;
    if (ratio >= 0.9)
        return 0;
    if (dt < 1e-7)
        dt = 1e-7;
    double speed = (double)len / dt;
    return speed * (1.0 - ratio) > s->disk_bps;
}

int tern_chunk_encode(tern_codec_state *s, const unsigned char *p, size_t n,
                      unsigned char *out, size_t out_cap,
                      unsigned char *bitmap, tern_chunk_plan *plan)
{
    size_t nblocks = (n + TERN_SPARSE_BLOCK - 1) / TERN_SPARSE_BLOCK;
    size_t bm_bytes = tern_sparse_bitmap_bytes(n);
    size_t nz_bytes = 0, first_nz = (size_t)-1;
    memset(bitmap, 0, bm_bytes);
    for (size_t b = 0; b < nblocks; b++) {
        size_t off = b * TERN_SPARSE_BLOCK;
        size_t len = n - off < TERN_SPARSE_BLOCK ? n - off : TERN_SPARSE_BLOCK;
        if (!tern_is_zero(p + off, len)) {
            bitmap[b / 8] |= (unsigned char)(1u << (b % 8));
            nz_bytes += len;
            if (first_nz == (size_t)-1)
                first_nz = b;
        }
    }
    plan->nonzero_mask_bytes = nz_bytes;
    if (nz_bytes == 0) {
        plan->kind = TERN_CHUNK_ZERO;
        plan->stored = 0;
        return 0;
    }
    if (nz_bytes < n) {
        plan->kind = TERN_CHUNK_SPARSE;
        plan->stored = bm_bytes + nz_bytes;
    } else {
        plan->kind = TERN_CHUNK_RAW;
        plan->stored = n;
    }
    if (s->level <= 0 || !out)
        return 0;
    if (s->skip) {
        s->skip--;
        return 0;
    }
    /* Sample the middle block if it has data, else the first that has. */
    size_t mid = nblocks / 2;
    size_t sb = (bitmap[mid / 8] >> (mid % 8)) & 1 ? mid : first_nz;
    size_t slen = n < SAMPLE_BYTES ? n : SAMPLE_BYTES;
    size_t soff = sb * TERN_SPARSE_BLOCK;
    if (soff + slen > n)
        soff = n - slen;
    if (!deflate_pays(s, p + soff, slen)) {
        s->skip = s->backoff;
        if (s->backoff < 64)
            s->backoff *= 2;
        return 0;
    }
    s->backoff = 1;
    size_t olen = zdeflate(s, p, n, out, out_cap < plan->stored ? out_cap : plan->stored - 1);
    if (olen && olen < plan->stored) {
        plan->kind = TERN_CHUNK_DEFLATE;
        plan->stored = olen;
    }
    return 0;
}

int tern_chunk_decode(int kind, const unsigned char *stored, size_t stored_len,
                      unsigned char *dst, size_t n)
{
    switch (kind) {
    case TERN_CHUNK_ZERO:
        if (stored_len)
            return -1;
        memset(dst, 0, n);
        return 0;
    case TERN_CHUNK_RAW:
        if (stored_len != n)
            return -1;
        memcpy(dst, stored, n);
        return 0;
    case TERN_CHUNK_DEFLATE: {
        uLongf olen = n;
        if (uncompress(dst, &olen, stored, stored_len) != Z_OK || olen != n)
            return -1;
        return 0;
    }
    case TERN_CHUNK_SPARSE: {
        size_t nblocks = (n + TERN_SPARSE_BLOCK - 1) / TERN_SPARSE_BLOCK;
        size_t bm = tern_sparse_bitmap_bytes(n);
        if (stored_len < bm)
            return -1;
        const unsigned char *src = stored + bm;
        size_t left = stored_len - bm;
        for (size_t b = 0; b < nblocks; b++) {
            size_t off = b * TERN_SPARSE_BLOCK;
            size_t len = n - off < TERN_SPARSE_BLOCK ? n - off : TERN_SPARSE_BLOCK;
            if ((stored[b / 8] >> (b % 8)) & 1) {
                if (left < len)
                    return -1;
                memcpy(dst + off, src, len);
                src += len;
                left -= len;
            } else {
                memset(dst + off, 0, len);
            }
        }
        return left ? -1 : 0;
    }
    }
    return -1;
}
