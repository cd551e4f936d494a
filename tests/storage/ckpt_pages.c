/* ckpt_pages FILE: the 4 KiB pages of a committed checkpoint that each phase
 * of a commit writes, in the order it writes them, for the disk-full tests
 * (fail.sh): they fill a small tmpfs so that the next checkpoint of the
 * same size runs out of room in a chosen phase.
 *
 * Prints "layout L data D index T rest M pages P": L pages of the arrays,
 * their CRC tables and the node topologies (phase 2), D pages of data.K
 * not among those (phase 3), T pages of segment tables and chunk indexes
 * not among those (phase 4), M the file's other pages (HDF5's metadata,
 * written by the close into the space reserved before it), P = L+D+T+M the
 * file's pages. Plain HDF5, no tern code: it reads what the writer made. */
#include <hdf5.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PAGE 4096u

enum { LAYOUT = 1, DATA = 2, INDEX = 3 };

typedef struct pages {
    unsigned char *phase;     /* per page: the first phase that writes it, 0 = none */
    uint64_t n;
} pages;

static int phase_of(const char *name)
{
    const char *base = strrchr(name, '/');
    base = base ? base + 1 : name;
    if (!strncmp(name, "arrays", 6) || !strcmp(base, "topology"))   /* arrays/, arrays_crc/ */
        return LAYOUT;
    if (!strncmp(base, "data.", 5))
        return DATA;
    if (!strcmp(base, "segments") || !strcmp(base, "chunks"))
        return INDEX;
    return 0;   /* views (virtual) */
}

static herr_t visit(hid_t obj, const char *name, const H5O_info_t *info, void *ctx)
{
    pages *p = ctx;
    int ph = phase_of(name);
    if (info->type != H5O_TYPE_DATASET || !ph || !strcmp(name, "."))
        return 0;
    hid_t d = H5Dopen2(obj, name, H5P_DEFAULT);
    haddr_t off = H5Dget_offset(d);
    hsize_t size = H5Dget_storage_size(d);
    H5Dclose(d);
    if (off == HADDR_UNDEF || !size)
        return 0;
    for (uint64_t pg = off / PAGE; pg <= (off + size - 1) / PAGE && pg < p->n; pg++)
        if (!p->phase[pg] || p->phase[pg] > ph)
            p->phase[pg] = (unsigned char)ph;
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: ckpt_pages FILE\n");
        return 2;
    }
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
#if H5_VERSION_GE(1, 10, 7)
    H5Pset_file_locking(fapl, 0, 1);   /* the job may have it open */
#endif
    hid_t f = H5Fopen(argv[1], H5F_ACC_RDONLY, fapl);
    hsize_t fsize = 0;
    if (f < 0 || H5Fget_filesize(f, &fsize) < 0) {
        fprintf(stderr, "%s: cannot open\n", argv[1]);
        return 1;
    }
    pages p = {calloc((fsize + PAGE - 1) / PAGE + 1, 1), (fsize + PAGE - 1) / PAGE};
    H5Ovisit2(f, H5_INDEX_NAME, H5_ITER_NATIVE, visit, &p, H5O_INFO_BASIC);   /* HDF5 1.10 */
    uint64_t cnt[4] = {0, 0, 0, 0};
    for (uint64_t i = 0; i < p.n; i++)
        cnt[p.phase[i]]++;
    printf("layout %llu data %llu index %llu rest %llu pages %llu\n",
           (unsigned long long)cnt[LAYOUT], (unsigned long long)cnt[DATA],
           (unsigned long long)cnt[INDEX], (unsigned long long)cnt[0],
           (unsigned long long)p.n);
    H5Fclose(f);
    return 0;
}
