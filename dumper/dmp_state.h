/* dmp_state: everything the dumper knows about one process, in memory.
 *
 * Capture (dmp_capture.c) fills it from a stopped process; the image code
 * (dmp_image.c) turns it into store segments and back; restore
 * (dmp_restore.c) consumes it. The page data itself is not held here: it is
 * streamed from the stopped process at commit time (dmp_mem.h) and read
 * into a memfd at restore.
 *
 * All fixed-size records are stored verbatim in the image, so their layout
 * is part of the format. A change that an older reader would misread needs
 * a new DMP_IMAGE_VERSION; meanings given to fields that used to be unused
 * (kinds, padding), which older images never hold, bump DMP_IMAGE_MINOR.
 *
 * Version 1.1 (minor 1) adds external regions and fds (DMP_R_EXTERNAL,
 * DMP_FD_EXTERNAL): shared memory the caller of the dump names, whose
 * contents are not saved and which the caller of the restore supplies
 * again (transparent mode's channel to the proxy). Version 1.0 images
 * read as before; 1.0 and 1.1 records have the same sizes. (This is the
 * process image's version, not the store's file format.)
 */
#ifndef TERN_DUMPER_STATE_H
#define TERN_DUMPER_STATE_H

#include <stdint.h>
#include <sys/types.h>

#define DMP_IMAGE_MAGIC 0x31504d44 /* "DMP1" */
#define DMP_IMAGE_VERSION 1
#define DMP_IMAGE_MINOR 1          /* the highest minor this reader knows */
#define DMP_PATH_MAX 512
#define DMP_XSAVE_MAX 4096
#define DMP_PAGE 4096UL

enum dmp_region_kind {
    DMP_R_ANON = 1,        /* private anonymous, or private of a vanished file */
    DMP_R_FILE = 2,        /* private mapping of a file that still exists */
    DMP_R_FILE_SHARED = 3, /* shared mapping of a file that still exists */
    DMP_R_EXTERNAL = 4,    /* shared memory named by the dump's caller: start,
                              length, prot, offset; no pages; at restore the
                              fd the restore's caller gives for ext_index is
                              mapped there MAP_SHARED (image version 1.1) */
};

enum dmp_region_flags {
    DMP_F_STACK = 1,       /* the main [stack]: restored MAP_GROWSDOWN */
    DMP_F_HEAP = 2,
};

typedef struct dmp_region {
    uint64_t start, end;
    uint64_t foff;                 /* file offset */
    uint64_t inode, dev;           /* of the file, as stat saw it at dump */
    uint64_t fsize;
    union {
        struct {
            int64_t mtime_sec, mtime_nsec;   /* the file kinds */
        };
        struct {
            int64_t ext_index;             /* DMP_R_EXTERNAL: k in the caller's list */
            int64_t ext_reserved;
        };
    };
    uint32_t prot;                 /* PROT_* */
    uint32_t kind;                 /* dmp_region_kind */
    uint32_t flags;                /* dmp_region_flags */
    uint32_t nruns;                /* runs of dumped pages */
    uint64_t run0;                 /* index of the first run in dmp_state.runs */
    uint64_t data_off;             /* offset of its data among all regions' data (memfd offset at restore) */
    uint64_t data_pages;
    char path[DMP_PATH_MAX];       /* "" for anonymous */
} dmp_region;

typedef struct dmp_run {
    uint64_t page, npages;         /* relative to the region's start */
} dmp_run;

/* Same layout as struct user_regs_struct (sys/user.h). */
typedef struct dmp_regs {
    uint64_t r15, r14, r13, r12, rbp, rbx, r11, r10, r9, r8, rax, rcx, rdx, rsi, rdi;
    uint64_t orig_rax, rip, cs, eflags, rsp, ss, fs_base, gs_base, ds, es, fs, gs;
} dmp_regs;

typedef struct dmp_thread {
    int32_t tid;                   /* at dump time */
    uint32_t xsave_len;            /* bytes of xsave used */
    dmp_regs regs;                 /* already rewound if stopped in a syscall */
    uint64_t sigmask;
    uint64_t robust_head, robust_len;
    uint64_t rseq_ptr;
    uint32_t rseq_len, rseq_sig;
    uint64_t ss_sp, ss_size;       /* sigaltstack */
    int32_t ss_flags;
    int32_t npending;              /* thread-directed pending signals */
    uint64_t pending0;             /* index of the first in dmp_state.siginfo */
    uint8_t xsave[DMP_XSAVE_MAX] __attribute__((aligned(64)));
} dmp_thread;

typedef struct dmp_sigaction {     /* kernel struct sigaction (x86-64) */
    uint64_t handler, flags, restorer, mask;
} dmp_sigaction;

enum dmp_fd_kind {
    DMP_FD_FILE = 1,               /* regular file or directory: path, flags, pos */
    DMP_FD_DEV = 2,                /* /dev/null, a terminal, ...: reopened by path */
    DMP_FD_INHERIT = 3,            /* a pipe on 0..2: takes tern restore's own fd */
    DMP_FD_EXTERNAL = 4,           /* the object of external region ext_index (a
                                      memfd): takes the restore caller's fd for it
                                      (image version 1.1) */
};

typedef struct dmp_fd {
    int32_t fd;
    int32_t kind;
    int32_t flags;                 /* open flags from fdinfo (O_CLOEXEC included) */
    int32_t ext_index;             /* DMP_FD_EXTERNAL: k in the caller's list; else 0 */
    int64_t pos;
    char path[DMP_PATH_MAX];
} dmp_fd;

typedef struct dmp_special {       /* [vvar], [vvar_vclock], [vdso] */
    char name[16];
    uint64_t start, end;
} dmp_special;

/* Fixed part of the image metadata. */
typedef struct dmp_header {
    uint32_t magic, version;
    int32_t pid;                   /* at dump time */
    uint32_t nthreads, nregions, nfds, nsiginfo, nspecial;
    uint64_t nruns;
    uint64_t data_bytes;           /* all regions' dumped bytes */
    int64_t tid_offset;            /* glibc struct pthread tid field from fs_base, -1 = none */
    uint32_t xsave_size;           /* the kernel's user xstate size at dump */
    uint32_t vdso_crc;             /* crc32 of the [vdso] text */
    uint64_t xfeatures;
    /* mm fields, as struct prctl_mm_map wants them */
    uint64_t start_code, end_code, start_data, end_data, start_brk, brk;
    uint64_t start_stack, arg_start, arg_end, env_start, env_end;
    uint64_t auxv[64];
    uint32_t auxv_bytes;
    uint32_t umask;
    dmp_sigaction sigact[64];      /* index = signal number - 1 */
    int64_t itimer[3][4];          /* interval sec/usec, value sec/usec */
    int32_t shared_pending;        /* first nsiginfo entries that are process-wide */
    uint32_t minor;                /* format minor (0 in images older than 1.1) */
    char cwd[DMP_PATH_MAX];
    char kernel[128];              /* uname -r at dump, for error messages */
} dmp_header;

typedef struct dmp_state {
    dmp_header h;
    dmp_region *regions;
    dmp_run *runs;
    dmp_thread *threads;
    dmp_fd *fds;
    dmp_special special[4];
    uint8_t (*siginfo)[128];       /* siginfo_t bytes: shared ones first */
} dmp_state;

void dmp_state_free(dmp_state *s);

#endif
