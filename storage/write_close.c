/* The end of a commit (phases 4 and 5 in writer.c) and of a failed attempt.
 *
 * HDF5 writes its metadata only when the file is closed, and that close is
 * collective: one rank whose write fails there leaves HDF5's sync points
 * early and the others wait for it for ever. So no write may fail inside a
 * close. A commit reserves, before its close, every block the close can
 * write (tern_w_tables); a failed attempt is closed into memory (discard).
 * docs/storage.md, "When things go wrong", has the whole rule. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "manifest.h"
#include "views.h"
#include "writer_int.h"

/* Room reserved past the end of allocated space for what the close might
 * still allocate. Measured on every test checkpoint: nothing (the close
 * gives back the unused tails of HDF5's allocation blocks, and the file it
 * leaves ends 0 to 2.6 KB below that end); 16 KiB in case another HDF5
 * does allocate there. */
#define RESERVE_MARGIN ((uint64_t)16 << 10)

/* Phase 4's exchange: every rank's status, totals, end of data, the length
 * of its view descriptions and the CRC32 of its segment table. */
typedef struct tot_rec {
    uint64_t fail, logical, stored, zero, max_end, views_len, seg_crc;
} tot_rec;

/* w->scratch holds size plan_recs: the totals and, after them, every rank's
 * view description length */
_Static_assert(sizeof(tot_rec) + sizeof(uint64_t) <= sizeof(plan_rec), "scratch too small");

/* This rank's segment table and chunk index (the two datasets are closed
 * here), its logical bytes and the CRC32 of the table's bytes as written
 * (names are NUL-padded: calloc). Returns local. */
static int write_tables(tern_ckpt_writer *w, int local, hid_t dsegs, hid_t dchunks,
                        uint64_t *logical, uint64_t *arr_bytes, uint32_t *seg_crc,
                        tern_error *err)
{
    seg_rec *sr = calloc(w->nsegs ? w->nsegs : 1, sizeof *sr);
    *logical = *arr_bytes = 0;
    for (int i = 0; sr && i < w->nsegs; i++) {
        snprintf(sr[i].name, sizeof sr[i].name, "%s", w->segs[i].name);
        sr[i].size = w->segs[i].len;
        sr[i].stored = w->segs[i].stored;
        sr[i].first_chunk = w->segs[i].first_chunk;
        sr[i].nchunks = w->segs[i].nchunks;
    }
    for (int i = 0; i < w->nsegs; i++)
        *logical += w->segs[i].len;
    for (int i = 0; i < w->narrs; i++)
        *arr_bytes += w->arrs[i].count * w->arrs[i].elem;
    *logical += *arr_bytes;
    if (!local && !sr)
        local = tern_error_set(err, ENOMEM, "rank %d: out of memory", w->rank);
    *seg_crc = sr ? tern_crc32(sr, (size_t)w->nsegs * sizeof *sr) : 0;
    if (!local)
        local = tern_w_write_rows(w, dsegs, "index", "segment table", sizeof *sr, 0,
                                  (uint64_t)w->nsegs, sr, err);
    if (!local)
        local = tern_w_write_rows(w, dchunks, "index", "chunk index", sizeof *w->chunks, 0,
                                  w->nchunks, w->chunks, err);
    free(sr);
    H5Dclose(dsegs);
    H5Dclose(dchunks);
    return local;
}

/* Rank 0: reserves every block the close will write, so that a full disk
 * shows up here, where all ranks agree on it, and not inside the close.
 *
 * The reservation is the file's end of allocated space (EOA) plus
 * RESERVE_MARGIN. H5Fget_filesize gives max(EOF, EOA); through the MPI-IO
 * driver EOF stays what it was at creation (0) until HDF5 itself writes,
 * and HDF5 has written nothing yet (tern writes the raw bytes, metadata
 * stays in the cache until the close), so it is the EOA, exactly. Should
 * HDF5 not tell, the estimate is the end of the data plus 1 MiB plus 4
 * bytes per byte of view description. The blocks already written count
 * once: what the disk must still have is the reservation minus them. */
static int reserve(tern_ckpt_writer *w, uint64_t data_end, uint64_t vtotal, tern_error *err)
{
    hsize_t eoa = 0;
    uint64_t fsize;
    if (H5Fget_filesize(w->file, &eoa) >= 0) {
        fsize = (uint64_t)eoa + RESERVE_MARGIN;
    } else {
        struct stat fst;
        fsize = data_end;
        if (fstat(w->fd, &fst) == 0 && (uint64_t)fst.st_size > fsize)
            fsize = (uint64_t)fst.st_size;
        fsize += (1u << 20) + 4 * vtotal;
    }
    /* fallocate(2), not posix_fallocate: where the file system cannot
     * reserve, glibc's emulation touches every block; skip instead.
     * KEEP_SIZE: the reservation must not become part of the file (a tiny
     * image would carry the margin); phase 5 releases what HDF5 did not use. */
    int e = tern_w_injected(w, "reserve");
    if (!e && fallocate(w->fd, FALLOC_FL_KEEP_SIZE, 0, (off_t)fsize) != 0)
        e = errno;
    if (e && e != EOPNOTSUPP && e != EINVAL && e != ENOSYS)
        return tern_error_set(err, e, "%s: reserving %llu bytes: %s", w->partial,
                              (unsigned long long)fsize, strerror(e));
    return 0;
}

/* Every rank's status, totals and end of data (into w->scratch); sum gets
 * the totals. Returns whether any rank failed. */
static int exchange_totals(tern_ckpt_writer *w, const tot_rec *mine, uint64_t sum[3],
                           uint64_t *data_end)
{
    tot_rec *all = w->scratch;
    if (tern_w_serial(w)) {
        all[0] = *mine;
    } else {
        MPI_Request req;
        PMPI_Iallgather(mine, sizeof *mine, MPI_BYTE, all, sizeof *mine, MPI_BYTE, w->comm, &req);
        tern_w_wait(&req);
    }
    uint64_t any_fail = 0;
    sum[0] = sum[1] = sum[2] = *data_end = 0;
    for (int r = 0; r < w->size; r++) {
        any_fail |= all[r].fail;
        sum[0] += all[r].logical;
        sum[1] += all[r].stored;
        sum[2] += all[r].zero;
        if (all[r].max_end > *data_end)
            *data_end = all[r].max_end;
    }
    return any_fail != 0;
}

/* Format 1.2: the CRC32 of every rank's segment table (from the exchange),
 * an attribute of its table. Attribute writes are collective in parallel
 * HDF5: every rank writes every rank's, with the same values. 0, or -1. */
static int put_seg_crcs(tern_ckpt_writer *w, const tot_rec *all)
{
    if (tern_w_minor0())
        return 0;   /* format 1.0's layout: no table CRCs */
    int bad = 0;
    for (int r = 0; r < w->size; r++) {
        char path[64];
        tern_rank_group(r, path, sizeof path);
        strcat(path, "/segments");
        hid_t d = H5Dopen2(w->file, path, H5P_DEFAULT);
        bad |= d < 0 || tern_attr_put_u32(d, TERN_SEG_CRC_ATTR, (uint32_t)all[r].seg_crc) != 0;
        if (d >= 0)
            H5Dclose(d);
    }
    return bad ? -1 : 0;
}

int tern_w_tables(tern_ckpt_writer *w, int local, hid_t dsegs, hid_t dchunks, uint64_t sum[3],
                  tern_error *err)
{
    uint64_t logical, arr_bytes, data_end;
    uint32_t seg_crc;
    local = write_tables(w, local, dsegs, dchunks, &logical, &arr_bytes, &seg_crc, err);
    void *views = NULL;
    uint64_t views_len = 0;
    if (!local && tern_views_pack(w, &views, &views_len))
        local = tern_error_set(err, ENOMEM, "rank %d: out of memory", w->rank);
    tot_rec mine = {local != 0, logical, w->stored + arr_bytes, w->zero, w->max_end, views_len,
                    seg_crc};
    if (exchange_totals(w, &mine, sum, &data_end)) {
        free(views);
        tern_w_agree(w, local, err);
        return -1;
    }
    /* every rank's view description length, next to the totals in scratch:
     * nothing is allocated between the exchange and the views' creation */
    tot_rec *all = w->scratch;
    uint64_t *vlens = (uint64_t *)(all + w->size), vtotal = 0;
    for (int r = 0; r < w->size; r++)
        vtotal += vlens[r] = all[r].views_len;
    if (tern_views_create(w, views, vlens, err))
        local = -1;
    free(views);
    if (put_seg_crcs(w, all) && !local)
        local = tern_error_set(err, EIO, "%s: writing segment table CRCs", w->partial);
    if (tern_attr_put_u64(w->file, "logical_bytes", sum[0]) ||
        tern_attr_put_u64(w->file, "stored_bytes", sum[1]) ||
        tern_attr_put_u64(w->file, "zero_bytes", sum[2]))
        local = tern_error_set(err, EIO, "%s: writing totals", w->partial);
    if (!local && w->rank == 0)
        local = reserve(w, data_end, vtotal, err);
    return tern_w_agree(w, local, err);
}

int tern_w_close_durable(tern_ckpt_writer *w, tern_error *err)
{
    int local = 0, e = tern_w_injected(w, "close");
    if (close(w->fd) < 0 && !e)
        e = errno;
    if (e)
        local = tern_error_set(err, e, "%s: rank %d: close: %s", w->partial, w->rank, strerror(e));
    w->fd = -1;
    if (H5Fclose(w->file) < 0 && !local) {
        char h5[256];
        tern_h5_last_error(h5, sizeof h5);
        local = tern_error_set(err, EIO, "%s: closing: %s", w->partial, h5);
    }
    w->file = -1;
    tern_w_trace(w, "close");
    if (!local && w->rank == 0) {
        /* Truncating to the size HDF5 left frees the blocks reserved past it. */
        struct stat pst;
        if (stat(w->partial, &pst) == 0 && truncate(w->partial, pst.st_size) != 0)
            local = tern_error_set(err, errno, "%s: releasing reserved space: %s",
                                   w->partial, strerror(errno));
    }
    if (!local && w->node_rank == 0) {
        e = tern_w_injected(w, "fsync");
        local = e ? tern_error_set(err, e, "%s: fsync: %s", w->partial, strerror(e))
                  : tern_fsync_path(w->partial, err);
    }
    return tern_w_agree(w, local, err);
}

/* Points every descriptor this process has on the discarded file (MPI-IO's,
 * or the sec2 driver's) at an anonymous file in memory, so that the close's
 * metadata writes cannot fail whatever the disk holds: every rank then
 * leaves HDF5's collective close the same way. The descriptors are found in
 * /proc/self/fd by device and inode. Without /proc, or with an MPI-IO that
 * keeps no descriptor in this process, nothing changes, and the truncation
 * before the close is what gives those writes room. */
static void redirect_to_memory(dev_t dev, ino_t ino)
{
#ifdef __linux__
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        return;
    int mem = -1;
    struct dirent *e;
    while ((e = readdir(d))) {
        char *end;
        long fd = strtol(e->d_name, &end, 10);
        struct stat st;
        if (end == e->d_name || *end || fd == dirfd(d) || fstat((int)fd, &st) != 0 ||
            st.st_dev != dev || st.st_ino != ino)
            continue;
        if (mem < 0 && (mem = memfd_create("tern-discarded", MFD_CLOEXEC)) < 0)
            break;
        int fl = fcntl((int)fd, F_GETFD);
        dup3(mem, (int)fd, fl >= 0 && (fl & FD_CLOEXEC) ? O_CLOEXEC : 0);
    }
    closedir(d);
    if (mem >= 0)
        close(mem);
#else
    (void)dev, (void)ino;
#endif
}

/* Every caller comes here after an agreement on the failure, so no rank is
 * inside a collective of this checkpoint, and every rank made the same HDF5
 * calls before: the steps below are the same on every rank. */
void tern_w_discard(tern_ckpt_writer *w)
{
    struct stat st;
    int known = w->fd >= 0 ? fstat(w->fd, &st) == 0 : stat(w->partial, &st) == 0;
    if (w->fd >= 0)
        close(w->fd);
    w->fd = -1;
    if (w->file >= 0) {
        /* frees the attempt's blocks at once (and gives the close room
         * should the redirection find nothing) */
        if (w->rank == 0 && truncate(w->partial, 0) != 0) {
            /* nothing better to do: the redirection still holds */
        }
        if (known)
            redirect_to_memory(st.st_dev, st.st_ino);
    }
    if (!tern_w_serial(w))
        PMPI_Barrier(w->comm);            /* no rank closes before the truncation */
    if (w->file >= 0)
        H5Fclose(w->file);
    w->file = -1;
    if (w->rank == 0)
        unlink(w->partial);
    if (!tern_w_serial(w))
        PMPI_Barrier(w->comm);            /* the file is gone before anyone goes on */
}
