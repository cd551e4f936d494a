/* rst_args: the contract between `tern restore` (dmp_blob.c, ordinary C
 * with glibc) and the restorer blob (rst.c, no libc, position independent).
 *
 * tern restore builds one rst_args inside the blob's own reservation, so
 * every pointer in it stays valid after the blob has unmapped everything
 * else. Only fixed-size types: this header is compiled freestanding too.
 *
 * Reservation layout (one mapping, placed where neither tern nor the image
 * has anything):
 *   [header page: rst_hdr]  [code]  [args + tables]  [per-thread stacks/frames]
 *   [scratch for the vdso pieces while they are being moved]
 * The header carries RST_MAGIC so that a later dump of the restored process
 * recognises the leftover reservation and skips it.
 */
#ifndef TERN_DUMPER_RST_ARGS_H
#define TERN_DUMPER_RST_ARGS_H

#include <stdint.h>

#define RST_MAGIC "TERN-RESTORER-v1"   /* 16 bytes incl. no NUL needed */
#define RST_MAGIC_LEN 16

struct rst_hdr {
    char magic[RST_MAGIC_LEN];
    uint64_t total_len;             /* whole reservation, for the dumper */
    /* The image file whose pages were mapped MAP_PRIVATE into the restored
     * process (0/0: none). A later dump treats mappings of this inode as
     * anonymous memory and saves their pages (dmp_capture.c). */
    uint64_t img_dev, img_ino;
};

/* Kernel x86-64 signal frame pieces (asm/sigcontext.h, asm/ucontext.h),
 * spelled out so the blob needs no kernel headers. */
struct rst_sigcontext {
    uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
    uint64_t rdi, rsi, rbp, rbx, rdx, rax, rcx, rsp, rip, eflags;
    uint16_t cs, gs, fs, ss;
    uint64_t err, trapno, oldmask, cr2;
    uint64_t fpstate;               /* pointer to 64-byte aligned XSAVE area */
    uint64_t reserved1[8];
};

struct rst_ucontext {
    uint64_t uc_flags;
    uint64_t uc_link;
    uint64_t ss_sp;
    int32_t ss_flags;
    int32_t ss_pad;
    uint64_t ss_size;
    struct rst_sigcontext mc;
    uint64_t uc_sigmask;
};

/* How a region comes back. */
enum rst_map_kind {
    RST_ANON_COPY = 1,   /* anonymous; data runs copied (pread) from memfd */
    RST_ANON_MEMFD = 2,  /* anonymous; data runs mapped MAP_PRIVATE from memfd,
                            then rst_map.file pieces from the image file */
    RST_FILE_PRIVATE = 3,/* private file mapping; dirty runs copied over it */
    RST_FILE_SHARED = 4, /* shared file mapping; no data */
    RST_ANON_PLACED = 5, /* already mapped at its address by tern restore, data
                            read straight into it: only the protection is set */
    RST_EXTERNAL = 6,    /* shared memory the restore's caller gave (fd, e.g. the
                            new proxy's channel memfd): mapped MAP_SHARED at foff */
};

struct rst_range {
    uint64_t start, end;
};

struct rst_run {
    uint64_t page;                  /* first page, relative to region start */
    uint64_t npages;
};

/* Pages mapped MAP_PRIVATE straight from the image file (lazy restore). */
struct rst_filemap {
    uint64_t addr, len, foff;
};

struct rst_map {
    uint64_t start, len;
    uint64_t foff;                  /* file offset (file kinds) */
    uint64_t data_off;              /* offset of the first run's bytes in memfd */
    uint32_t prot;                  /* PROT_* */
    uint32_t extra_flags;           /* MAP_GROWSDOWN for the main stack */
    int32_t kind;
    int32_t fd;                     /* file fd for file kinds, else -1 */
    uint32_t nruns;
    uint32_t nfile;                 /* RST_ANON_MEMFD: pieces mapped from the image */
    struct rst_run *runs;
    struct rst_filemap *file;       /* over the memfd mapping, after it */
};

struct rst_args;

struct rst_thread {
    struct rst_args *args;          /* back pointer for the new thread */
    struct rst_ucontext *frame;     /* where rsp goes for rt_sigreturn */
    uint64_t stack_top;             /* blob stack used until then */
    uint64_t fs_base, gs_base;
    uint64_t tid_addr;              /* glibc's struct pthread tid field, or 0 */
    uint64_t robust_head, robust_len;
    uint64_t rseq_ptr;
    uint32_t rseq_len, rseq_sig;
    int32_t new_tid;                /* written by the kernel (CLONE_PARENT_SETTID) */
    int32_t npending;               /* thread-directed pending signals */
    uint8_t (*pending)[128];        /* siginfo_t bytes */
};

struct rst_vdso_move {
    uint64_t from, len, scratch, to;
};

struct rst_itimer {
    int64_t interval_sec, interval_usec, value_sec, value_usec;
};

struct rst_mm_map {                 /* = struct prctl_mm_map */
    uint64_t start_code, end_code, start_data, end_data, start_brk, brk;
    uint64_t start_stack, arg_start, arg_end, env_start, env_end;
    uint64_t auxv;
    uint32_t auxv_size, exe_fd;
};

struct rst_args {
    uint64_t blob_start, blob_len;  /* never unmapped */
    int32_t memfd;                  /* page data; closed at the end */
    int32_t errfd;                  /* tern's stderr, for the last words */
    int32_t nclose;                 /* fds only the restorer used: closed */
    int32_t imgfd;                  /* the image file (rst_map.file), or -1 */
    int32_t *close_fds;

    /* tern's own rseq registration, dropped before its TLS goes away */
    uint64_t own_rseq_ptr;
    uint32_t own_rseq_len, own_rseq_sig;

    uint32_t nvdso;
    uint32_t pad1;
    struct rst_vdso_move vdso[4];

    uint32_t nmaps;
    uint32_t nkeep;                 /* ranges not to unmap: the blob and the
                                       RST_ANON_PLACED regions, sorted */
    struct rst_map *maps;
    struct rst_range *keep;

    struct rst_mm_map mm;
    uint64_t auxv[64];
    int32_t mm_ok;                  /* out: prctl(PR_SET_MM_MAP) result */
    int32_t pad3;

    struct rst_itimer itimer[3];    /* REAL, VIRTUAL, PROF */
    int32_t npending;               /* process-directed pending signals */
    int32_t pad4;
    uint8_t (*pending)[128];

    uint32_t nthreads;              /* thread 0 is the leader: runs in us */
    uint32_t pad5;
    struct rst_thread *threads;
    volatile int32_t threads_started;
};

/* Entry point, at the start of the code: called on a blob stack, never
 * returns (exit_group(127) after writing one line to errfd on failure). */
typedef void (*rst_entry_fn)(struct rst_args *a);

#endif
