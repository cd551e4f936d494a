/* handles.c: Open MPI's predefined handles, which are addresses inside libmpi
 * and so differ from run to run: the predefined datatype table (saved by
 * index) and the rewriting of stale handles in protected memory at restart.
 * Separate because it is the one place that lists Open MPI's handles.
 */
#include "handles.h"
#include "regions.h"

/* ---- predefined datatypes (restart re-posts receives with these) -------- */
MPI_Datatype predef(int i)
{
    switch (i) {
    case 0: return MPI_BYTE;          case 1: return MPI_CHAR;
    case 2: return MPI_SIGNED_CHAR;   case 3: return MPI_UNSIGNED_CHAR;
    case 4: return MPI_SHORT;         case 5: return MPI_UNSIGNED_SHORT;
    case 6: return MPI_INT;           case 7: return MPI_UNSIGNED;
    case 8: return MPI_LONG;          case 9: return MPI_UNSIGNED_LONG;
    case 10: return MPI_LONG_LONG;    case 11: return MPI_UNSIGNED_LONG_LONG;
    case 12: return MPI_FLOAT;        case 13: return MPI_DOUBLE;
    case 14: return MPI_LONG_DOUBLE;  case 15: return MPI_INT8_T;
    case 16: return MPI_INT16_T;      case 17: return MPI_INT32_T;
    case 18: return MPI_INT64_T;      case 19: return MPI_UINT8_T;
    case 20: return MPI_UINT16_T;     case 21: return MPI_UINT32_T;
    case 22: return MPI_UINT64_T;     case 23: return MPI_C_BOOL;
    case 24: return MPI_PACKED;       case 25: return MPI_FLOAT_INT;
    case 26: return MPI_DOUBLE_INT;   case 27: return MPI_LONG_INT;
    case 28: return MPI_2INT;         case 29: return MPI_C_COMPLEX;
    case 30: return MPI_C_DOUBLE_COMPLEX; case 31: return MPI_AINT;
    case 32: return MPI_OFFSET;       case 33: return MPI_COUNT;
    case 34: return MPI_WCHAR;        case 35: return MPI_SHORT_INT;
    /* Fortran's (fortran/ binds them to the same wrappers): after C's, so
     * that an index saved before they were added means the same type */
    case 36: return MPI_INTEGER;      case 37: return MPI_REAL;
    case 38: return MPI_DOUBLE_PRECISION; case 39: return MPI_COMPLEX;
    case 40: return MPI_DOUBLE_COMPLEX; case 41: return MPI_LOGICAL;
    case 42: return MPI_CHARACTER;    case 43: return MPI_INTEGER1;
    case 44: return MPI_INTEGER2;     case 45: return MPI_INTEGER4;
    case 46: return MPI_INTEGER8;     case 47: return MPI_REAL4;
    case 48: return MPI_REAL8;        case 49: return MPI_COMPLEX8;
    case 50: return MPI_COMPLEX16;    case 51: return MPI_2INTEGER;
    case 52: return MPI_2REAL;        case 53: return MPI_2DOUBLE_PRECISION;
    default: return MPI_DATATYPE_NULL;
    }
}
int predef_index(MPI_Datatype t)
{
    if (t == MPI_DATATYPE_NULL) return -1;   /* a Fortran type this Open MPI lacks is NULL */
    for (int i = 0; i < NPREDEF; i++)
        if (predef(i) == t) return i;
    return -1;
}

/* ---- predefined handles kept in protected memory ------------------------------
 * Open MPI's predefined handles (MPI_REQUEST_NULL, MPI_COMM_WORLD, MPI_INT,
 * MPI_SUM, ...) are addresses inside libmpi, which moves from run to run
 * (ASLR). A protected MPI_Request array that holds MPI_REQUEST_NULL would hold
 * a stale address after a restart, so the checkpoint saves the old addresses
 * and tern_recover() rewrites every aligned 8-byte word of the protected
 * regions equal to one of them (docs/api.md, "Handles"). */
int prehandles(uintptr_t *h)
{
    int n = 0;
#define PH(x) h[n++] = (uintptr_t)(x)
    PH(MPI_REQUEST_NULL); PH(MPI_COMM_WORLD); PH(MPI_COMM_SELF); PH(MPI_COMM_NULL);
    PH(MPI_MESSAGE_NULL); PH(MPI_MESSAGE_NO_PROC); PH(MPI_GROUP_NULL); PH(MPI_GROUP_EMPTY);
    PH(MPI_DATATYPE_NULL); PH(MPI_OP_NULL); PH(MPI_SUM); PH(MPI_MAX); PH(MPI_MIN); PH(MPI_PROD);
    PH(MPI_LAND); PH(MPI_LOR); PH(MPI_LXOR); PH(MPI_BAND); PH(MPI_BOR); PH(MPI_BXOR);
    PH(MPI_MAXLOC); PH(MPI_MINLOC); PH(MPI_REPLACE); PH(MPI_NO_OP); PH(MPI_INFO_NULL); PH(MPI_INFO_ENV);
    PH(MPI_ERRHANDLER_NULL); PH(MPI_ERRORS_ARE_FATAL); PH(MPI_ERRORS_RETURN);
    PH(MPI_WIN_NULL); PH(MPI_FILE_NULL);
#undef PH
    /* the C datatypes only: NPREHANDLES (and so the saved segment's size)
     * stays what it was */
    for (int i = 0; i < NPREDEF_C; i++) h[n++] = (uintptr_t)predef(i);
    return n;
}

void fix_prehandles(const uintptr_t *old, int n)
{
    uintptr_t now[NPREHANDLES];
    int m = prehandles(now);
    if (m != n) return;
    uintptr_t lo = UINTPTR_MAX, hi = 0;
    int same = 1;
    for (int i = 0; i < n; i++) {
        if (old[i] < lo) lo = old[i];
        if (old[i] > hi) hi = old[i];
        if (old[i] != now[i]) same = 0;
    }
    if (same) return;
    for (region *r = regions; r; r = r->next) {
        if ((uintptr_t)r->ptr % sizeof(uintptr_t)) continue;
        uintptr_t *w = r->ptr;
        size_t nw = r->bytes / sizeof(uintptr_t);
        for (size_t k = 0; k < nw; k++) {
            uintptr_t v = w[k];
            if (v < lo || v > hi) continue;
            for (int i = 0; i < n; i++)
                if (old[i] == v) {
                    w[k] = now[i];
                    break;
                }
        }
    }
}
