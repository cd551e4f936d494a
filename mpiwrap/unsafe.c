/* unsafe.c: unsafe marks -- calls that make the job uncheckpointable while
 * they last (RMA windows, files, THREAD_MULTIPLE, dynamic processes). */
#include "wrap.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int unsafe_open[TERN_UNSAFE_N];
static int unsafe_perm[TERN_UNSAFE_N];
static const char *unsafe_call[TERN_UNSAFE_N];
static const char *const unsafe_why[TERN_UNSAFE_N] = {
    "one-sided communication (RMA) is outside the checkpoint protocol",
    "MPI-IO issued by the application is outside the checkpoint protocol",
    "dynamic process management is outside the checkpoint protocol",
    "MPI_THREAD_MULTIPLE is not supported by the checkpoint protocol",
    "the checkpoint protocol cannot account for this call",
};

void tern_unsafe_mark(const char *call, int kind, int delta)
{
    if (kind < 0 || kind >= TERN_UNSAFE_N) return;
    if (delta > 0) {
        unsafe_open[kind]++;
        unsafe_call[kind] = call;
    } else if (delta < 0) {
        if (unsafe_open[kind] > 0) unsafe_open[kind]--;
    } else {
        unsafe_perm[kind] = 1;
        unsafe_call[kind] = call;
    }
}

int tern_unsafe_reason(char *buf, size_t len)
{
    for (int k = 0; k < TERN_UNSAFE_N; k++) {
        if (unsafe_perm[k] || unsafe_open[k] > 0) {
            snprintf(buf, len, "%s was called and %s%s", unsafe_call[k] ? unsafe_call[k] : "?",
                     unsafe_why[k],
                     unsafe_open[k] > 0 ? " (still in use)" : "");
            return 1;
        }
    }
    return 0;
}
