/* tern_wire.h: the bytes that cross the process boundary of transparent
 * mode, in the channel's data area (channel/tern_channel.h carries them).
 * Both sides include it, with the generated tern_calls.h (one index and one
 * argument layout per MPI call, from mpiwrap/mpi_roles.tbl and mpi.h).
 * docs/transparent.md explains the choices.
 *
 * A call (application -> proxy):
 *     tw_call            header: TW_CALL, the call index, the word count
 *     uint64_t w[n]      one word per argument: a scalar's value, a handle's
 *                        wire id, an application address
 *     uint32_t off[n]    where an argument's inline bytes are (0: none)
 *     uint32_t len[n]    how many
 *     ... inline bytes   inputs the shim could size: small buffers, arrays,
 *                        strings, the handles behind pointers, statuses
 * An input that is not inline is read by the proxy from the application's
 * memory (process_vm_readv); it computes the size itself.
 *
 * An answer (proxy -> application): records, each a tw_rec and its data
 * (8-aligned), applied in order by the shim: bytes to write at an address,
 * a handle to store at an address, a datatype's layout, the return handle.
 * Outputs too large for the answer are written by the proxy directly
 * (process_vm_writev) before it answers.
 *
 * Upcalls (proxy -> application, during a call): a tw_up_* at offset 0. The
 * application runs its own function and replies with TW_UPDONE (and the
 * results), or, when that function itself calls MPI, with a TW_CALL: the
 * proxy serves it and sends the answer as the upcall TW_UP_ANSWER.
 *
 * Handles: a handle the application holds is the address of an 8-byte word
 * (TW_MAGIC << 48 | id): Open MPI's predefined objects (the shim's, or the
 * executable's copies of them) for ids below TP_N, small shim-side objects
 * for the ids the proxy hands out. Both sides can translate without a table.
 */
#ifndef TERN_SHIM_TERN_WIRE_H
#define TERN_SHIM_TERN_WIRE_H

#include <stdint.h>

#define TW_MAGIC 0x7e71u                 /* the top 16 bits of a handle's word */
#define TW_TAG(id) (((uint64_t)TW_MAGIC << 48) | (uint64_t)(id))
#define TW_ID_NULLPTR UINT64_C(0xffffffffffff)   /* a NULL pointer passed as a handle */
#define TW_ID_BAD UINT64_C(0xfffffffffffe)       /* not a handle at all */
#define TW_VERSION 1u

/* Inline inputs larger than this go by process_vm_readv instead: above it a
 * copy through the channel costs more than the system call. */
#define TW_INLINE_MAX 16384u
/* The channel's data area: big enough for the answer of a Waitall of a few
 * thousand requests and for a few inline buffers; pages are used only when
 * touched. */
#define TW_CHANNEL_BYTES (4u << 20)

enum { TW_CALL = 0x43414c4cu, TW_UPDONE = 0x444f4e45u };

typedef struct {
    uint32_t kind;      /* TW_CALL */
    uint32_t call;      /* TC_MPI_* */
    uint32_t nwords;
    uint32_t pad;
} tw_call;

/* ---- answer records --------------------------------------------------------- */
enum {
    TW_R_WRITE = 1,     /* memcpy(addr, data, len) */
    TW_R_HANDLE,        /* uint64 id: store the handle for id at addr */
    TW_R_HANDLES,       /* uint64 ids[len/8]: store that many handles from addr on */
    TW_R_DTINFO,        /* tw_dtinfo: the layout of a datatype id */
    TW_R_RETH,          /* uint64 id: the call returns this handle */
    TW_R_ATTRINT,       /* tw_attrint: a predefined attribute (an int of the proxy's) */
    TW_R_INIT,          /* tw_init: MPI_Init's results */
};

typedef struct {
    uint32_t kind;
    uint32_t len;       /* bytes of data after the record */
    uint64_t addr;      /* application address (0 when none) */
} tw_rec;

/* A datatype's layout, so that the shim can copy small buffers inline. */
typedef struct {
    uint64_t id;
    int64_t lb, extent, true_lb, true_extent, size;
    uint64_t contiguous;   /* count elements occupy count*size bytes without gaps */
} tw_dtinfo;

typedef struct {
    int32_t keyval, value;
} tw_attrint;

typedef struct {
    int32_t provided, rank, size, pad;
} tw_init;

/* ---- upcalls ------------------------------------------------------------------ */
enum {
    TW_UP_OP = 1,       /* run a user reduction on data in the channel */
    TW_UP_ERRH,         /* run a user error handler */
    TW_UP_COPY,         /* run an attribute copy callback */
    TW_UP_DELETE,       /* run an attribute delete callback */
    TW_UP_ANSWER,       /* the answer of a call made from inside an upcall */
};

typedef struct {
    uint32_t kind;      /* TW_UP_OP */
    int32_t len;        /* elements */
    uint64_t fn;        /* MPI_User_function * of the application */
    uint64_t dt;        /* wire id of the datatype */
    uint64_t in_off, inout_off;   /* offsets of the two spans in the data area */
    int64_t true_lb;    /* the spans start at the buffers' true lower bound */
} tw_up_op;

enum { TW_OBJ_COMM = 1, TW_OBJ_FILE, TW_OBJ_TYPE };

typedef struct {
    uint32_t kind;      /* TW_UP_ERRH */
    uint32_t obj;       /* TW_OBJ_COMM or TW_OBJ_FILE */
    uint64_t fn;
    uint64_t id;        /* the communicator or file */
    int32_t code, pad;
} tw_up_errh;

typedef struct {
    uint32_t kind;      /* TW_UP_COPY or TW_UP_DELETE */
    uint32_t obj;       /* TW_OBJ_COMM or TW_OBJ_TYPE */
    uint64_t fn;
    uint64_t id;
    uint64_t extra;     /* the application's extra_state */
    uint64_t attr;      /* the attribute value */
    int32_t keyval, pad;
} tw_up_attr;

/* The application's reply to an upcall. */
typedef struct {
    uint32_t kind;      /* TW_UPDONE */
    int32_t rc;
    int32_t flag, pad;  /* copy: the flag */
    uint64_t value;     /* copy: attribute_val_out */
} tw_updone;

/* Predefined callbacks the application may pass by address (the shim's
 * OMPI_C_MPI_* functions): sent as these codes, not as addresses. */
enum {
    TW_FN_NULL_COPY = 1, TW_FN_DUP, TW_FN_NULL_DELETE,
    TW_FN_MAX = 4096,   /* codes are below any real function address */
};

#endif
