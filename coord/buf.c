/* buf.c: see buf.h. */
#include "buf.h"
#include "wrap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void bput(buf *b, const void *d, size_t n)
{
    if (b->n + n > b->cap) {
        size_t cap = (b->n + n) * 2 + 256;
        unsigned char *p = realloc(b->p, cap);
        if (!p) {
            fprintf(stderr, "tern: rank %d: out of memory for checkpoint records (%zu bytes)\n",
                    tern_world_rank, cap);
            abort();
        }
        b->p = p;
        b->cap = cap;
    }
    if (n) memcpy(b->p + b->n, d, n);
    b->n += n;
}
