/* storage.codec: the chunk codec on its own. tern_crc32 must equal zlib's
 * crc32 for every length and alignment (the format promises zlib's CRC32),
 * and every encoding must decode to the original bytes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "codec.h"

#define CHECK(c, ...)                                                                  \
    do {                                                                               \
        if (!(c)) {                                                                    \
            fprintf(stderr, "codec_test: " __VA_ARGS__);                               \
            fprintf(stderr, "\n");                                                     \
            return 1;                                                                  \
        }                                                                              \
    } while (0)

int main(void)
{
    size_t max = 3u << 20;
    unsigned char *b = malloc(max + 64), *out = malloc(tern_deflate_bound(max) + 64),
                  *dec = malloc(max + 64), bm[4096];
    srand(7);
    for (size_t i = 0; i < max + 64; i++)
        b[i] = (unsigned char)rand();
    for (int t = 0; t < 5000; t++) {
        size_t off = (size_t)rand() % 64, n = (size_t)rand() % (t < 2500 ? 512 : 200000);
        CHECK(tern_crc32(b + off, n) == (uint32_t)crc32_z(0, b + off, n),
              "crc32 differs from zlib at offset %zu length %zu", off, n);
    }
    CHECK(tern_crc32(b, max) == (uint32_t)crc32_z(0, b, max), "crc32 of 3 MiB differs");

    /* kinds: random -> RAW, zero -> ZERO, holes -> SPARSE, text -> DEFLATE */
    size_t sizes[] = {1, 4095, 4096, 4097, 65536, 1u << 20, (1u << 20) + 123};
    for (size_t si = 0; si < sizeof sizes / sizeof *sizes; si++) {
        size_t n = sizes[si];
        for (int kind = 0; kind < 4; kind++) {
            unsigned char *p = malloc(n);
            for (size_t i = 0; i < n; i++) {
                switch (kind) {
                case 0: p[i] = b[i]; break;
                case 1: p[i] = 0; break;
                case 2: p[i] = ((i / 4096) % 3 == 1) ? b[i] | 1 : 0; break;
                case 3: p[i] = "restartable "[i % 12]; break;
                }
            }
            for (int level = 0; level <= 6; level += 6) {
                tern_codec_state s;
                tern_codec_init(&s, level, 1e6); /* a slow disk: deflate pays */
                tern_chunk_plan plan;
                tern_chunk_encode(&s, p, n, level ? out : NULL, tern_deflate_bound(n), bm, &plan);
                int want = kind == 1 ? TERN_CHUNK_ZERO
                         : kind == 2 && n > 4096 ? (level ? -1 : TERN_CHUNK_SPARSE)
                         : kind == 3 && level && n >= 64 ? TERN_CHUNK_DEFLATE
                         : kind == 2 && n <= 4096 ? -1 : TERN_CHUNK_RAW;
                if (want >= 0)
                    CHECK(plan.kind == want, "size %zu kind %d level %d: encoding %d, want %d",
                          n, kind, level, plan.kind, want);
                /* assemble the stored form as the writer does */
                unsigned char *st = malloc(tern_deflate_bound(n) + 4096);
                size_t sl = 0;
                if (plan.kind == TERN_CHUNK_RAW) {
                    memcpy(st, p, n);
                    sl = n;
                } else if (plan.kind == TERN_CHUNK_DEFLATE) {
                    memcpy(st, out, plan.stored);
                    sl = plan.stored;
                } else if (plan.kind == TERN_CHUNK_SPARSE) {
                    size_t bmb = tern_sparse_bitmap_bytes(n);
                    memcpy(st, bm, bmb);
                    sl = bmb;
                    for (size_t o = 0; o < n; o += TERN_SPARSE_BLOCK) {
                        size_t l = n - o < TERN_SPARSE_BLOCK ? n - o : TERN_SPARSE_BLOCK;
                        size_t blk = o / TERN_SPARSE_BLOCK;
                        if ((bm[blk / 8] >> (blk % 8)) & 1) {
                            memcpy(st + sl, p + o, l);
                            sl += l;
                        }
                    }
                }
                CHECK(sl == plan.stored, "size %zu kind %d: stored %zu, plan %zu", n, kind, sl,
                      plan.stored);
                memset(dec, 0xee, n);
                CHECK(tern_chunk_decode(plan.kind, st, sl, dec, n) == 0 && !memcmp(dec, p, n),
                      "size %zu kind %d level %d: decode differs", n, kind, level);
                if (sl) {   /* a damaged stored form must not decode to the original silently */
                    st[sl / 2] ^= 0x40;
                    int rc = tern_chunk_decode(plan.kind, st, sl, dec, n);
                    CHECK(rc != 0 || tern_crc32(dec, n) != tern_crc32(p, n),
                          "size %zu kind %d: damage not detected", n, kind);
                }
                free(st);
                tern_codec_free(&s);
            }
            free(p);
        }
    }
    printf("codec: ok\n");
    return 0;
}
