/* mode.c: API or transparent mode for `tern run` (mode.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "mode.h"
#include "tern_elf.h"

int jobs_mode_parse(const char *s)
{
    if (!strcmp(s, "api")) return JOBS_MODE_API;
    if (!strcmp(s, "transparent")) return JOBS_MODE_TRANSPARENT;
    if (!strcmp(s, "auto")) return JOBS_MODE_AUTO;
    return -1;
}

typedef struct {
    int uses_api, links_mpi;
} verdict;

static void saw_import(void *ctx, const char *sym)
{
    if (!strcmp(sym, "tern_snapshot")) ((verdict *)ctx)->uses_api = 1;
}

static void saw_needed(void *ctx, const char *lib)
{
    if (!strncmp(lib, "libmpi.so", 9)) ((verdict *)ctx)->links_mpi = 1;
}

/* Transparent mode for an MPI program (it needs libmpi.so) that does not
 * import tern_snapshot; API mode, as before, for one that does, for a
 * program that is no MPI program, and for what is no ELF file (a script). */
static int detect(const char *prog)
{
    char path[4096];
    if (tern_elf_find_program(prog, path, sizeof path)) return JOBS_MODE_API;   /* mpirun says why */
    verdict v = {0, 0};
    tern_elf_visitor vis = {saw_needed, saw_import, &v};
    if (tern_elf_scan(path, &vis) != 0) return JOBS_MODE_API;
    return v.links_mpi && !v.uses_api ? JOBS_MODE_TRANSPARENT : JOBS_MODE_API;
}

/* TERN_PROXY; next to this binary (bin/ holds both, installed); the build
 * tree's; PATH. */
static int find_proxy(const char *verb, char *out, size_t len)
{
    const char *env = getenv("TERN_PROXY");
    if (env && *env) {
        if (jobs_is_file(env) && realpath(env, out)) return 0;
        return tern_cli_fail(verb, -1, "TERN_PROXY=%s does not exist", env);
    }
    char exe[4096], cand[4200];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    exe[n > 0 ? n : 0] = 0;
    char *slash = strrchr(exe, '/');
    if (slash) *slash = 0;
    snprintf(cand, sizeof cand, "%s/tern-proxy", exe);
    if (jobs_is_file(cand) && realpath(cand, out)) return 0;
    if (jobs_is_file(TERN_BUILD_PROXY) && realpath(TERN_BUILD_PROXY, out)) return 0;
    if (!jobs_find_exe("tern-proxy", out, len)) return 0;
    return tern_cli_fail(verb, -1, "tern-proxy not found (next to %s/tern, %s, PATH); set TERN_PROXY", exe,
                         TERN_BUILD_PROXY);
}

int jobs_mode_setup(jobs_launch *L, int forced)
{
    int mode = forced ? forced : detect(L->prog.v[0]);
    if (mode != JOBS_MODE_TRANSPARENT) return mode;
    char proxy[4096];
    if (find_proxy(L->verb, proxy, sizeof proxy)) return -1;
    strv prog = {0};
    sv_push(&prog, proxy);
    sv_push(&prog, "--");
    sv_push_all(&prog, &L->prog);
    sv_free(&L->prog);
    L->prog = prog;
    L->set.no_preload = 1;
    return mode;
}
