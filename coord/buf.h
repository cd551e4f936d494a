/* buf.h: a growing byte buffer, for the records a checkpoint saves
 * (describe.c's request and communicator records, comm_log.c's log).
 * { 0 } is empty; free(b.p) when done. Running out of memory stops the rank
 * with one line: the records are small, and a rank that cannot hold them
 * could not take the checkpoint's other steps either. */
#ifndef TERN_COORD_BUF_H
#define TERN_COORD_BUF_H

#include <stddef.h>

#pragma GCC visibility push(hidden)

typedef struct buf { unsigned char *p; size_t n, cap; } buf;
void bput(buf *b, const void *d, size_t n);

#pragma GCC visibility pop
#endif
