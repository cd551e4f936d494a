#include "views.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct view_hdr {
    uint64_t size;
    uint32_t nmaps;
    uint32_t name_len;
} view_hdr;

typedef struct view_map {
    uint64_t dst, src, len, src_dim;
    uint32_t k, pad;
} view_map;

int tern_views_pack(const tern_ckpt_writer *w, void **blob, uint64_t *len)
{
    size_t cap = 1024, used = 0;
    unsigned char *b = malloc(cap);
    view_map *maps = malloc(TERN_VIEW_MAX_MAPS * sizeof *maps);
    if (!b || !maps) {
        free(b);
        free(maps);
        return -1;
    }
    for (int i = 0; i < w->nsegs; i++) {
        const wseg *s = &w->segs[i];
        if (!s->len)
            continue;
        uint32_t n = 0;
        uint64_t dst = 0;
        int ok = 1;
        for (uint64_t c = s->first_chunk; ok && c < s->first_chunk + s->nchunks; c++) {
            const chunk_rec *r = &w->chunks[c];
            if (r->kind == TERN_CHUNK_RAW) {
                view_map *p = n ? &maps[n - 1] : NULL;
                if (p && p->k == r->data && p->src + p->len == r->offset && p->dst + p->len == dst) {
                    p->len += r->raw;
                } else if (n == TERN_VIEW_MAX_MAPS) {
                    ok = 0;
                } else {
                    maps[n++] = (view_map){dst, r->offset, r->raw, w->round_bytes[r->data], r->data, 0};
                }
            } else if (r->kind != TERN_CHUNK_ZERO) {
                ok = 0;   /* SPARSE and DEFLATE bytes are not the logical bytes */
            }
            dst += r->raw;
        }
        if (!ok)
            continue;
        view_hdr h = {s->len, n, (uint32_t)strlen(s->name)};
        size_t need = sizeof h + h.name_len + n * sizeof *maps;
        if (used + need > cap) {
            while (used + need > cap)
                cap *= 2;
            unsigned char *nb = realloc(b, cap);
            if (!nb) {
                free(b);
                free(maps);
                return -1;
            }
            b = nb;
        }
        memcpy(b + used, &h, sizeof h);
        memcpy(b + used + sizeof h, s->name, h.name_len);
        memcpy(b + used + sizeof h + h.name_len, maps, n * sizeof *maps);
        used += need;
    }
    free(maps);
    *blob = b;
    *len = used;
    return 0;
}

static int create_views(tern_ckpt_writer *w, int rank, const unsigned char *b, uint64_t len)
{
    if (!len)
        return 0;
    char grp[64], path[128];
    tern_rank_group(rank, grp, sizeof grp);
    snprintf(path, sizeof path, "%s/view", grp);
    hid_t g = H5Gcreate2(w->file, path, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (g < 0)
        return -1;
    int rc = 0;
    for (uint64_t off = 0; rc == 0 && off < len;) {
        view_hdr h;
        memcpy(&h, b + off, sizeof h);
        char name[TERN_NAME_MAX + 1];
        memcpy(name, b + off + sizeof h, h.name_len);
        name[h.name_len] = '\0';
        const unsigned char *mp = b + off + sizeof h + h.name_len;
        off += sizeof h + h.name_len + h.nmaps * sizeof(view_map);
        hsize_t dim = h.size;
        hid_t vs = H5Screate_simple(1, &dim, NULL);
        hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
        unsigned char zero = 0;
        H5Pset_fill_value(dcpl, H5T_NATIVE_UCHAR, &zero);
        /* virtual even without mappings (an all-zero segment): a plain
         * dataset would be allocated and filled with zeros */
        H5Pset_layout(dcpl, H5D_VIRTUAL);
        for (uint32_t i = 0; rc == 0 && i < h.nmaps; i++) {
            view_map m;
            memcpy(&m, mp + i * sizeof m, sizeof m);
            char src[128];
            snprintf(src, sizeof src, "%s/data.%u", grp, m.k);
            hsize_t sdim = m.src_dim, st = m.src, cnt = m.len, dst = m.dst;
            hid_t ss = H5Screate_simple(1, &sdim, NULL);
            H5Sselect_hyperslab(ss, H5S_SELECT_SET, &st, NULL, &cnt, NULL);
            H5Sselect_hyperslab(vs, H5S_SELECT_SET, &dst, NULL, &cnt, NULL);
            if (H5Pset_virtual(dcpl, vs, ".", src, ss) < 0)
                rc = -1;
            H5Sclose(ss);
        }
        H5Sselect_all(vs);
        hid_t d = rc ? -1 : H5Dcreate2(g, name, H5T_STD_U8LE, vs, H5P_DEFAULT, dcpl, H5P_DEFAULT);
        if (d < 0)
            rc = -1;
        else
            H5Dclose(d);
        H5Pclose(dcpl);
        H5Sclose(vs);
    }
    H5Gclose(g);
    return rc;
}

/* Whether every rank holds the receive buffer of the exchange: a rank that
 * could not allocate it cannot take part, so either every rank exchanges
 * the descriptions or none does (and then no rank creates views). */
static int all_have(tern_ckpt_writer *w, int have)
{
    if (w->comm == MPI_COMM_NULL)
        return have;
    int every = 0;
    MPI_Request req;
    PMPI_Iallreduce(&have, &every, 1, MPI_INT, MPI_MIN, w->comm, &req);
    tern_w_wait(&req);
    return every;
}

int tern_views_create(tern_ckpt_writer *w, const void *mine, const uint64_t *lens,
                      tern_error *err)
{
    /* lens and so total are the same on every rank: every test below takes
     * the same branch everywhere */
    uint64_t total = 0;
    for (int r = 0; r < w->size; r++)
        total += lens[r];
    /* Views are a convenience: past 1 GiB of descriptions there are none */
    if (!total || total > (uint64_t)1 << 30)
        return 0;
    int *cnt = w->vcounts, *dsp = w->vcounts + w->size;   /* allocated in tern_ckpt_begin */
    unsigned char *all = tern_w_injected(w, "views") ? NULL : malloc(total);
    /* A rank short of memory makes every rank skip them, all together,
     * before any rank enters the exchange that needs the buffer. */
    if (!all_have(w, all != NULL)) {
        free(all);
        return 0;
    }
    uint64_t off = 0;
    for (int r = 0; r < w->size; r++) {
        cnt[r] = (int)lens[r];
        dsp[r] = (int)off;
        off += lens[r];
    }
    if (w->comm == MPI_COMM_NULL) {
        memcpy(all, mine, total);
    } else {
        MPI_Request req;
        PMPI_Iallgatherv(mine, cnt[w->rank], MPI_BYTE, all, cnt, dsp, MPI_BYTE, w->comm, &req);
        tern_w_wait(&req);
    }
    int rc = 0;
    for (int r = 0; r < w->size && rc == 0; r++)
        rc = create_views(w, r, all + dsp[r], lens[r]);
    if (rc) {
        char h5[256];
        tern_h5_last_error(h5, sizeof h5);
        tern_error_set(err, EIO, "%s: creating segment views: %s", w->partial, h5);
    }
    free(all);
    return rc;
}
