/* dmp_capture: from a running PID to a complete dmp_state.
 *
 *   dmp_capture_check(pid, ext)   refusals that need no stop (children,
 *                            tracer, sockets, SysV shm, shared deleted
 *                            mappings that are not external)
 *   dmp_capture(pid, ext, &s, &p) stops the process (it stays stopped, held
 *                            in p) and fills s: threads, memory layout and
 *                            page runs, signals, timers, mm fields, fds
 *
 * The page bytes are read later, while p still holds the process stopped,
 * by dmp_mem_fill. The caller ends with dmp_proc_release(p, kill_it).
 * Nothing here writes anywhere: a refusal leaves no file behind.
 */
#ifndef TERN_DUMPER_CAPTURE_H
#define TERN_DUMPER_CAPTURE_H

#include <stdint.h>
#include <sys/types.h>

#include "dmp_ptrace.h"
#include "dmp_state.h"
#include "error.h"

/* Shared regions the caller names external (dumper.h's tern_dump_opts):
 * the mapping that starts at addr[k] is recorded as DMP_R_EXTERNAL k, the
 * fds of the same object as DMP_FD_EXTERNAL k; nothing of them is saved.
 * NULL or n == 0: none, every shared memfd mapping is refused. */
typedef struct dmp_ext {
    const uint64_t *addr;
    int n;
} dmp_ext;

int dmp_capture_check(pid_t pid, const dmp_ext *ext, tern_error *err);
int dmp_capture(pid_t pid, const dmp_ext *ext, dmp_state *s, dmp_proc *p, tern_error *err);

/* The layout of [vvar], [vvar_vclock] and [vdso] of pid (0 = self), and the
 * CRC of the vdso text; shared with restore's compatibility check. */
int dmp_special_read(pid_t pid, dmp_special sp[4], uint32_t *vdso_crc, tern_error *err);

#endif
