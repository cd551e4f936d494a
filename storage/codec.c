#include "codec.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>

uint32_t tern_crc32(const void *p, size_t n)
{
    return (uint32_t)crc32_z(0L, (const Bytef *)p, n);
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

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
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
    double t0 = now();
    size_t olen = zdeflate(s, sample, len, out, sizeof out);
    double dt = now() - t0;
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
    size_t soff = sb * TERN_SPARSE_BLOCK;
    size_t slen = n - soff < SAMPLE_BYTES ? n - soff : SAMPLE_BYTES;
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
