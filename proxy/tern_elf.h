/* tern_elf.h: what a program binary asks of the dynamic linker -- the libraries
 * it needs (DT_NEEDED) and the symbols it imports (undefined .dynsym
 * entries) -- read from the file, before it runs.
 *
 * tern-proxy refuses, before starting it, an application that transparent
 * mode cannot serve (the MPI C++ bindings, Fortran MPI); `tern run` chooses
 * the mode from whether the program imports tern_snapshot (jobs/mode.c).
 */
#ifndef TERN_PROXY_TERN_ELF_H
#define TERN_PROXY_TERN_ELF_H

#include <stddef.h>

typedef struct {
    void (*needed)(void *ctx, const char *lib);     /* each DT_NEEDED, may be NULL */
    void (*imported)(void *ctx, const char *sym);   /* each undefined dynamic symbol, may be NULL */
    void *ctx;
} tern_elf_visitor;

/* 0: scanned; 1: not a 64-bit ELF file (a script: nothing to tell);
 * -1: cannot be read (errno). */
int tern_elf_scan(const char *path, const tern_elf_visitor *v);

/* The file execvp() would run for `prog` (PATH searched when it has no
 * slash); 0, or -1 with errno. */
int tern_elf_find_program(const char *prog, char *out, size_t len);

#endif
