/* ftest_c.c: FNV-1a 64 over the bytes of a Fortran array (its C
 * descriptor), for the RESULT lines of the Fortran workloads: the same hash
 * as tests/protocol/apps/app_common.h's. h == 0 starts a new hash. */
#include <ISO_Fortran_binding.h>
#include <stdint.h>

int64_t ftest_fnv(int64_t h, const CFI_cdesc_t *a);

int64_t ftest_fnv(int64_t h, const CFI_cdesc_t *a)
{
    uint64_t u = h ? (uint64_t)h : 14695981039346656037ULL;
    size_t n = a->elem_len;
    for (int i = 0; i < a->rank; i++) n *= (size_t)a->dim[i].extent;
    const unsigned char *b = a->base_addr;
    for (size_t i = 0; i < n; i++) {
        u ^= b[i];
        u *= 1099511628211ULL;
    }
    return (int64_t)u;
}
