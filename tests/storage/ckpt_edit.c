/* ckpt_edit: one value of a checkpoint changed, for the storage.hostile.*
 * tests (hostile.sh). Uses ckpt_mut, as the fuzzer does.
 *
 *   ckpt_edit attr FILE OBJ NAME IDX VALUE     element IDX of an integer
 *        attribute (or byte IDX of a string attribute) set to VALUE
 *   ckpt_edit field FILE TABLE ROW FIELD VALUE integer member FIELD of row ROW
 *   ckpt_edit name-byte FILE TABLE ROW AT C    byte AT of row ROW's name
 *   ckpt_edit empty FILE TABLE                 the table replaced by one of no rows
 *   ckpt_edit del-attr FILE OBJ NAME           attribute NAME of OBJ deleted
 *   ckpt_edit where FILE DSET                  "OFFSET BYTES" of a contiguous data set
 *   ckpt_edit byte FILE OFFSET VALUE           one byte of the file
 *   ckpt_edit header FILE OBJ                  the address of OBJ's object header
 *   ckpt_edit msg FILE OBJ TYPE ATTR AT SIZE VALUE
 *        SIZE bytes (little-endian) at offset AT of the body of the first
 *        message of TYPE in OBJ's header (attribute messages: the one named
 *        ATTR; "-" for other types): a damaged size, dimension or class
 * VALUE is decimal or 0x hex; a leading '-' means two's complement.
 * An edit of a segment table (field, name-byte, empty) also seals it again
 * (its crc attribute, format 1.2: cm_seal_segments), as a hostile writer
 * would, so that what is tested is the structural check and not the CRC;
 * `byte` changes one byte and nothing else, as a flipped bit on disk does.
 */
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ckpt_mut.h"

static int die(const char *what)
{
    fprintf(stderr, "ckpt_edit: %s\n", what);
    return 1;
}

static uint64_t value(const char *s)
{
    return s[0] == '-' ? (uint64_t)strtoll(s, NULL, 0) : strtoull(s, NULL, 0);
}

/* SIZE bytes of v at file offset off. */
static int poke(const char *file, uint64_t off, size_t size, uint64_t v)
{
    unsigned char b[8];
    if (size > sizeof b)
        return die("not an integer field");
    cm_put_le(b, size, v);
    int fd = open(file, O_WRONLY);
    int ok = fd >= 0 && pwrite(fd, b, size, (off_t)off) == (ssize_t)size;
    if (fd >= 0)
        close(fd);
    return ok ? 0 : die("cannot write the file");
}

static int is_segments(const char *table)
{
    size_t n = strlen(table);
    return n >= 9 && !strcmp(table + n - 9, "/segments");
}

/* A segment table's crc attribute made to match its bytes again. */
static int seal(const char *file, const char *table)
{
    if (!is_segments(table))
        return 0;
    hid_t f = cm_open(file, H5F_ACC_RDWR);
    int rc = f < 0 ? -1 : cm_seal_segments(f, table);
    if (f >= 0 && H5Fclose(f) < 0)
        rc = -1;
    return rc ? die("cannot seal the segment table again") : 0;
}

/* The bytes of one table field, written straight into the file. */
static int set_field(const char *file, const char *table, uint64_t row, const char *field,
                     size_t at, uint64_t v, int byte)
{
    hid_t f = cm_open(file, H5F_ACC_RDONLY);
    cm_table t;
    int rc = f < 0 ? -1 : cm_table_get(f, table, &t);
    if (f >= 0)
        H5Fclose(f);
    uint64_t off;
    size_t size;
    if (rc || cm_field_where(&t, row, field, &off, &size) || (byte && at >= size))
        return die("no such table row or field");
    if (byte) {
        off += at;
        size = 1;
    }
    return poke(file, off, size, v) || seal(file, table);
}

/* argv: FILE OBJ TYPE ATTR AT SIZE VALUE */
static int set_msg(char **argv)
{
    hid_t f = cm_open(argv[0], H5F_ACC_RDONLY);
    uint64_t addr, off, len;
    int rc = f < 0 ? -1 : cm_header_addr(f, argv[1], &addr);
    if (f >= 0)
        H5Fclose(f);
    int fd = rc ? -1 : open(argv[0], O_RDONLY);
    rc = fd < 0 ? -1 : cm_find_msg(fd, addr, (unsigned)value(argv[2]),
                                   strcmp(argv[3], "-") ? argv[3] : NULL, &off, &len);
    if (fd >= 0)
        close(fd);
    uint64_t at = value(argv[4]), size = value(argv[5]);
    if (rc || at > len || size > len - at)
        return die("no such message or field");
    return poke(argv[0], off + at, (size_t)size, value(argv[6]));
}

/* TABLE unlinked and created again with its type and no rows. */
static int empty_table(const char *file, const char *table)
{
    hid_t f = cm_open(file, H5F_ACC_RDWR);
    hid_t d = f < 0 ? -1 : H5Dopen2(f, table, H5P_DEFAULT);
    if (d < 0)
        return die("no such table");
    hid_t ty = H5Dget_type(d);
    H5Dclose(d);
    hsize_t zero = 0;
    hid_t sp = H5Screate_simple(1, &zero, NULL);
    int rc = H5Ldelete(f, table, H5P_DEFAULT) < 0 ? -1 : 0;
    if (!rc) {
        d = H5Dcreate2(f, table, ty, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
        rc = d < 0 ? -1 : 0;
        if (d >= 0)
            H5Dclose(d);
    }
    H5Sclose(sp);
    H5Tclose(ty);
    if (H5Fclose(f) < 0 || rc)
        return die("cannot replace the table");
    return seal(file, table);
}

int main(int argc, char **argv)
{
    cm_quiet();
    const char *cmd = argc > 1 ? argv[1] : "";
    if (!strcmp(cmd, "attr") && argc == 7) {
        hid_t f = cm_open(argv[2], H5F_ACC_RDWR);
        if (f < 0 || cm_attr_set(f, argv[3], argv[4], value(argv[5]), value(argv[6])))
            return die("no such attribute or element");
        return H5Fclose(f) < 0 ? die("cannot close the file") : 0;
    }
    if (!strcmp(cmd, "field") && argc == 7)
        return set_field(argv[2], argv[3], value(argv[4]), argv[5], 0, value(argv[6]), 0);
    if (!strcmp(cmd, "name-byte") && argc == 7)
        return set_field(argv[2], argv[3], value(argv[4]), "name", (size_t)value(argv[5]),
                         (unsigned char)argv[6][0], 1);
    if (!strcmp(cmd, "del-attr") && argc == 5) {
        hid_t f = cm_open(argv[2], H5F_ACC_RDWR);
        if (f < 0 || H5Adelete_by_name(f, argv[3], argv[4], H5P_DEFAULT) < 0)
            return die("no such attribute");
        return H5Fclose(f) < 0 ? die("cannot close the file") : 0;
    }
    if (!strcmp(cmd, "empty") && argc == 4)
        return empty_table(argv[2], argv[3]);
    if (!strcmp(cmd, "where") && argc == 4) {
        hid_t f = cm_open(argv[2], H5F_ACC_RDONLY);
        cm_table t;
        if (f < 0 || cm_table_get(f, argv[3], &t))
            return die("no such contiguous data set");
        printf("%" PRIu64 " %" PRIu64 "\n", t.file_off, t.bytes);
        H5Fclose(f);
        return 0;
    }
    if (!strcmp(cmd, "byte") && argc == 5)
        return poke(argv[2], value(argv[3]), 1, value(argv[4]));
    if (!strcmp(cmd, "header") && argc == 4) {
        hid_t f = cm_open(argv[2], H5F_ACC_RDONLY);
        uint64_t a;
        if (f < 0 || cm_header_addr(f, argv[3], &a))
            return die("no such object");
        printf("%" PRIu64 "\n", a);
        H5Fclose(f);
        return 0;
    }
    if (!strcmp(cmd, "msg") && argc == 9)
        return set_msg(argv + 2);
    return die("usage: see the comment at the top of ckpt_edit.c");
}
