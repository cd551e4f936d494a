/* The shared page of the external-region test (ext_driver.c and
 * progs/extmem.c): a stand-in for transparent mode's channel, a memfd the
 * driver (the "proxy") makes and the program maps MAP_SHARED. Each word
 * has one writer. */
#ifndef TERN_TEST_EXT_PAGE_H
#define TERN_TEST_EXT_PAGE_H

#include <stdint.h>

#define EXT_PAGE_LEN 8192   /* the memfd's size, two pages */

struct ext_page {
    uint64_t magic;    /* driver: which memfd this is */
    uint64_t addr;     /* program: where it mapped the memfd */
    uint64_t fd;       /* program: the fd it keeps open on it */
    uint64_t count;    /* program: its private counter, published */
    uint64_t token;    /* driver: a word the program reads through its fd */
    uint64_t echo;     /* program: the token as it read it */
    uint64_t quit;     /* driver: 1 = check yourself and exit */
};

#endif
