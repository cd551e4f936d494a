/* binary.c: programs transparent mode cannot serve, refused before they
 * start with one line (binary.h): Fortran MPI (its libraries need Open
 * MPI's internals in the process), a program linked with Open MPI's
 * internal libraries, and the MPI C++ bindings. Every program built with
 * mpicxx refers to a few MPI:: functions from the inline code of mpi.h's
 * C++ header, used or not; the shim's libmpi_cxx.so.40 stand-in provides
 * those (the list, cxx_harmless.h, is what a program that uses only the C
 * API refers to, found at build time), and any other MPI:: symbol means the
 * program uses the bindings.
 */
#define _GNU_SOURCE
#include "binary.h"
#include "px_dispatch.h"
#include "tern_elf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cxx_harmless.h"

typedef struct {
    const char *refused;   /* why, once known */
    char what[256];
} verdict;

static void on_needed(void *ctx, const char *lib)
{
    verdict *v = ctx;
    if (v->refused) return;
    if (!strncmp(lib, "libmpi_mpifh", 12) || !strncmp(lib, "libmpi_usempi", 13)) {
        v->refused = "Fortran MPI programs are not supported in transparent mode yet";
    } else if (!strncmp(lib, "libmpi_java", 11)) {
        v->refused = "Java MPI programs are not supported in transparent mode";
    } else if (!strncmp(lib, "libopen-pal", 11) || !strncmp(lib, "libopen-rte", 11) || !strncmp(lib, "libpmix", 7)) {
        v->refused = "the program links Open MPI's internal libraries, which transparent mode keeps out of it";
    } else {
        return;
    }
    snprintf(v->what, sizeof v->what, "%s", lib);
}

/* MPI::... names: the namespace MPI, first in the (nested) name */
static int cxx_binding(const char *sym)
{
    if (strncmp(sym, "_Z", 2) || !(strstr(sym, "N3MPI") || strstr(sym, "NK3MPI"))) return 0;
    for (size_t i = 0; i < sizeof px_cxx_harmless / sizeof px_cxx_harmless[0]; i++)
        if (!strcmp(sym, px_cxx_harmless[i])) return 0;
    return 1;
}

static void on_imported(void *ctx, const char *sym)
{
    verdict *v = ctx;
    if (v->refused || !cxx_binding(sym)) return;
    v->refused = "the program uses the MPI C++ bindings (MPI::), which transparent mode does not support "
                 "(the C API from C++ is fine)";
    snprintf(v->what, sizeof v->what, "%s", sym);
}

void px_check_binary(const char *path)
{
    verdict v = {0};
    tern_elf_visitor vis = {on_needed, on_imported, &v};
    if (tern_elf_scan(path, &vis) < 0) return;   /* execv will say why */
    if (!v.refused) return;
    px_say("%s: %s (%s)", path, v.refused, v.what);
    exit(1);
}
