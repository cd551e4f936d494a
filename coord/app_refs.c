/* app_refs.c: read each loaded object's dynamic symbol table in memory
 * (dl_iterate_phdr) and look for an undefined entry of a given name. */
#define _GNU_SOURCE
#include "app_refs.h"
#include "tern.h"

#include <dlfcn.h>
#include <elf.h>
#include <link.h>
#include <stdint.h>
#include <string.h>

typedef struct {
    const char *name;
    uintptr_t self_base;   /* libtern.so's load address: not the application */
    int found, unknown;
} search;

/* ld.so rewrites most d_ptr entries to run-time addresses, but not on every
 * architecture and not in every object (the vDSO): an address below the load
 * base is still relative to it. */
static uintptr_t dyn_addr(const struct dl_phdr_info *info, ElfW(Addr) v)
{
    return v < info->dlpi_addr ? info->dlpi_addr + v : v;
}

/* The number of dynamic symbols: DT_HASH says it; with DT_GNU_HASH only, it
 * is one past the highest index a bucket's chain reaches. */
static uint32_t nsyms(const uint32_t *hash, const uint32_t *gnu)
{
    if (hash) return hash[1];
    if (!gnu) return 0;
    uint32_t nbuckets = gnu[0], symoff = gnu[1], bloom = gnu[2];
    const uint32_t *buckets = gnu + 4 + bloom * (sizeof(ElfW(Addr)) / 4);
    const uint32_t *chain = buckets + nbuckets;
    uint32_t last = 0;
    for (uint32_t b = 0; b < nbuckets; b++)
        if (buckets[b] > last) last = buckets[b];
    if (last < symoff) return symoff;
    while (!(chain[last - symoff] & 1)) last++;
    return last + 1;
}

static int visit(struct dl_phdr_info *info, size_t size, void *arg)
{
    (void)size;
    search *s = arg;
    if (info->dlpi_addr == s->self_base && s->self_base) return 0;
    const ElfW(Dyn) *dyn = NULL;
    for (int i = 0; i < info->dlpi_phnum; i++)
        if (info->dlpi_phdr[i].p_type == PT_DYNAMIC)
            dyn = (const ElfW(Dyn) *)(info->dlpi_addr + info->dlpi_phdr[i].p_vaddr);
    if (!dyn) return 0;   /* a static object imports nothing */
    const ElfW(Sym) *syms = NULL;
    const char *strs = NULL;
    const uint32_t *hash = NULL, *gnu = NULL;
    for (; dyn->d_tag != DT_NULL; dyn++) {
        switch (dyn->d_tag) {
        case DT_SYMTAB: syms = (const ElfW(Sym) *)dyn_addr(info, dyn->d_un.d_ptr); break;
        case DT_STRTAB: strs = (const char *)dyn_addr(info, dyn->d_un.d_ptr); break;
        case DT_HASH: hash = (const uint32_t *)dyn_addr(info, dyn->d_un.d_ptr); break;
        case DT_GNU_HASH: gnu = (const uint32_t *)dyn_addr(info, dyn->d_un.d_ptr); break;
        }
    }
    if (!syms || !strs || (!hash && !gnu)) {
        s->unknown = 1;
        return 0;
    }
    uint32_t n = nsyms(hash, gnu);
    for (uint32_t i = 1; i < n; i++)
        if (syms[i].st_shndx == SHN_UNDEF && !strcmp(strs + syms[i].st_name, s->name)) {
            s->found = 1;
            return 1;   /* stops the iteration */
        }
    return 0;
}

int app_imports(const char *name)
{
    search s = {.name = name};
    Dl_info self;
    if (dladdr((void *)&tern_snapshot, &self) && self.dli_fbase)
        s.self_base = (uintptr_t)self.dli_fbase;
    dl_iterate_phdr(visit, &s);
    if (s.found) return 1;
    return s.unknown ? -1 : 0;
}
