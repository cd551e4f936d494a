/* Chunk codec: how one chunk of a segment is stored.
 *
 * A segment is cut into chunks of chunk_bytes (the last may be shorter). Each
 * chunk is stored in exactly one of four encodings (docs/format.md):
 *   ZERO    all bytes zero: nothing stored;
 *   RAW     the bytes as they are;
 *   SPARSE  a bitmap of the chunk's non-zero 4 KiB blocks, then those blocks;
 *   DEFLATE one zlib stream (compress2) of the whole chunk.
 * The CRC32 (zlib polynomial) always covers the chunk's logical bytes, so a
 * reader checks what it hands out, whatever the encoding.
 *
 * Encoding is adaptive and must cost little next to the disk: zero scans stop
 * at the first non-zero word, and deflate is tried only when a small sample
 * predicts that compressing the chunk is faster than writing the bytes it
 * saves (zlib level 1 runs at tens of MB/s, the disk at ~1 GB/s).
 */
#ifndef TERN_STORAGE_CODEC_H
#define TERN_STORAGE_CODEC_H

#include <stddef.h>
#include <stdint.h>

enum {
    TERN_CHUNK_RAW = 0,
    TERN_CHUNK_DEFLATE = 1,
    TERN_CHUNK_ZERO = 2,
    TERN_CHUNK_SPARSE = 3,
};

#define TERN_SPARSE_BLOCK 4096u
#define TERN_DEFAULT_CHUNK (1u << 20)
#define TERN_MAX_CHUNK (64u << 20)

/* Bytes of the SPARSE bitmap for a chunk of n bytes. */
static inline size_t tern_sparse_bitmap_bytes(size_t n)
{
    size_t blocks = (n + TERN_SPARSE_BLOCK - 1) / TERN_SPARSE_BLOCK;
    return (blocks + 7) / 8;
}

uint32_t tern_crc32(const void *p, size_t n);
/* CRC32 of more bytes after crc (zlib's crc32(crc, p, n)). */
uint32_t tern_crc32_update(uint32_t crc, const void *p, size_t n);
/* CRC32 of n zero bytes. */
uint32_t tern_zero_crc32(size_t n);

/* True when all n bytes are zero. */
int tern_is_zero(const void *p, size_t n);

/* Adaptive state kept per segment while encoding: data of one kind tends to
 * come in long runs, so after a sample says "does not pay" the next samples
 * are skipped for a growing number of chunks. */
typedef struct tern_codec_state {
    void *z;                  /* reused z_stream: deflateInit costs more than
                                 compressing a small sample */
    int level;                /* zlib level, 0 = never deflate */
    double disk_bps;          /* assumed write rate, bytes/s */
    unsigned skip;            /* chunks still to skip before sampling again */
    unsigned backoff;         /* next skip length */
} tern_codec_state;

void tern_codec_init(tern_codec_state *s, int level, double disk_bps);
/* Starts the adaptive decisions afresh (a new segment), keeps the stream. */
void tern_codec_reset(tern_codec_state *s);
void tern_codec_free(tern_codec_state *s);

/* Plan for one chunk, decided without touching more than a sample. */
typedef struct tern_chunk_plan {
    int kind;                 /* TERN_CHUNK_* */
    size_t stored;            /* bytes stored */
    uint64_t nonzero_mask_bytes; /* SPARSE: non-zero bytes (stored - bitmap) */
} tern_chunk_plan;

/* Decides the encoding of chunk p[0..n). For DEFLATE, compresses into
 * out (capacity out_cap >= tern_deflate_bound(n)) and sets stored; for
 * SPARSE writes the bitmap into bitmap (tern_sparse_bitmap_bytes(n)). */
int tern_chunk_encode(tern_codec_state *s, const unsigned char *p, size_t n,
                      unsigned char *out, size_t out_cap,
                      unsigned char *bitmap, tern_chunk_plan *plan);

size_t tern_deflate_bound(size_t n);

/* Rebuilds the n logical bytes of a chunk from its stored form. Returns 0,
 * or -1 when the stored bytes do not decode to exactly n bytes. */
int tern_chunk_decode(int kind, const unsigned char *stored, size_t stored_len,
                      unsigned char *dst, size_t n);

#endif
