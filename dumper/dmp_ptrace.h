/* dmp_ptrace: holding a process still and asking it questions.
 *
 * dmp_proc_seize() PTRACE_SEIZEs every thread and interrupts it, so the
 * process is frozen without any signal it could notice. Signals that were
 * being delivered while we stopped it are taken aside (and put back on
 * release, or recorded in the image). dmp_proc_inject() runs one system
 * call inside the process on a given thread (found a `syscall` instruction
 * in its vdso; all signals blocked meanwhile) for the state only the process
 * itself can read: sigactions, itimers, brk, sigaltstack.
 * dmp_proc_release() puts registers and masks back and detaches, or kills.
 */
#ifndef TERN_DUMPER_PTRACE_H
#define TERN_DUMPER_PTRACE_H

#include <stdint.h>
#include <sys/types.h>

#include "dmp_state.h"
#include "error.h"

typedef struct dmp_caught {          /* a signal taken out of delivery */
    int thread;
    uint8_t info[128];
} dmp_caught;

typedef struct dmp_proc {
    pid_t pid;
    int nthreads;
    pid_t *tids;                     /* tids[0] == pid, the leader */
    dmp_regs *orig;                  /* registers as found */
    uint64_t *orig_mask;
    int *dirty;                      /* registers changed by injection */
    uint64_t sc_insn;                /* address of "syscall" in the vdso */
    uint64_t scratch;                /* a page mapped in the process, or 0 */
    int ncaught;
    dmp_caught *caught;
    int memfd;                       /* /proc/PID/mem */
} dmp_proc;

int dmp_proc_seize(pid_t pid, dmp_proc *p, tern_error *err);

/* Runs syscall nr(a[0..5]) on thread ti; *ret gets the raw result
 * (negative errno on failure). Fails only if the process misbehaves. */
int dmp_proc_inject(dmp_proc *p, int ti, long nr, const long a[6], long *ret,
                    tern_error *err);

/* A scratch page inside the process for injected calls' arguments. */
int dmp_proc_scratch_map(dmp_proc *p, tern_error *err);
int dmp_proc_scratch_unmap(dmp_proc *p, tern_error *err);

int dmp_proc_read(dmp_proc *p, uint64_t addr, void *buf, size_t n, tern_error *err);
int dmp_proc_write(dmp_proc *p, uint64_t addr, const void *buf, size_t n,
                   tern_error *err);

/* kill_it: SIGKILL the process instead of letting it run on. Frees p. */
int dmp_proc_release(dmp_proc *p, int kill_it, tern_error *err);

#endif
