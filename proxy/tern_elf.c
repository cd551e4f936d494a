/* tern_elf.c: a program's DT_NEEDED and imported symbols, from its file (tern_elf.h).
 * Section headers locate .dynsym and .dynamic (strip keeps both); every
 * offset and size read from the file is checked against its length.
 */
#define _GNU_SOURCE
#include "tern_elf.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct {
    const unsigned char *p;
    size_t n;
} image;

static const void *at(const image *im, uint64_t off, uint64_t len)
{
    return off <= im->n && len <= im->n - off ? im->p + off : NULL;
}

static const char *str_at(const image *im, const Elf64_Shdr *strtab, uint64_t i)
{
    if (!strtab || i >= strtab->sh_size) return NULL;
    const char *s = at(im, strtab->sh_offset, strtab->sh_size);
    if (!s || !memchr(s + i, 0, strtab->sh_size - i)) return NULL;
    return s + i;
}

static void visit_dynsym(const image *im, const Elf64_Shdr *sh, const Elf64_Shdr *all, uint16_t nsh,
                         const tern_elf_visitor *v)
{
    if (!v->imported || sh->sh_link >= nsh || sh->sh_entsize != sizeof(Elf64_Sym)) return;
    const Elf64_Sym *sym = at(im, sh->sh_offset, sh->sh_size);
    if (!sym) return;
    for (uint64_t i = 1; i < sh->sh_size / sizeof *sym; i++) {
        const char *name = str_at(im, &all[sh->sh_link], sym[i].st_name);
        if (name && *name && sym[i].st_shndx == SHN_UNDEF) v->imported(v->ctx, name);
    }
}

static void visit_dynamic(const image *im, const Elf64_Shdr *sh, const Elf64_Shdr *all, uint16_t nsh,
                          const tern_elf_visitor *v)
{
    if (!v->needed || sh->sh_link >= nsh) return;
    const Elf64_Dyn *d = at(im, sh->sh_offset, sh->sh_size);
    if (!d) return;
    for (uint64_t i = 0; i < sh->sh_size / sizeof *d && d[i].d_tag != DT_NULL; i++) {
        const char *name = d[i].d_tag == DT_NEEDED ? str_at(im, &all[sh->sh_link], d[i].d_un.d_val) : NULL;
        if (name) v->needed(v->ctx, name);
    }
}

static int scan(const image *im, const tern_elf_visitor *v)
{
    const Elf64_Ehdr *eh = at(im, 0, sizeof *eh);
    if (!eh || memcmp(eh->e_ident, ELFMAG, SELFMAG) || eh->e_ident[EI_CLASS] != ELFCLASS64) return 1;
    if (eh->e_shentsize != sizeof(Elf64_Shdr)) return 1;
    const Elf64_Shdr *sh = at(im, eh->e_shoff, (uint64_t)eh->e_shnum * sizeof *sh);
    if (!sh) return 1;
    for (uint16_t i = 0; i < eh->e_shnum; i++) {
        if (sh[i].sh_type == SHT_DYNSYM) visit_dynsym(im, &sh[i], sh, eh->e_shnum, v);
        if (sh[i].sh_type == SHT_DYNAMIC) visit_dynamic(im, &sh[i], sh, eh->e_shnum, v);
    }
    return 0;
}

int tern_elf_scan(const char *path, const tern_elf_visitor *v)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    struct stat st;
    if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
        int e = errno;
        close(fd);
        errno = S_ISREG(st.st_mode) ? e : EACCES;
        return -1;
    }
    if (st.st_size < (off_t)sizeof(Elf64_Ehdr)) {
        close(fd);
        return 1;
    }
    void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (p == MAP_FAILED) return -1;
    image im = {p, (size_t)st.st_size};
    int r = scan(&im, v);
    munmap(p, (size_t)st.st_size);
    return r;
}

int tern_elf_find_program(const char *prog, char *out, size_t len)
{
    if (strchr(prog, '/')) {
        if (access(prog, X_OK)) return -1;
        snprintf(out, len, "%s", prog);
        return 0;
    }
    const char *path = getenv("PATH");
    if (!path || !*path) path = "/usr/local/bin:/usr/bin:/bin";
    for (const char *p = path; *p;) {
        const char *e = strchr(p, ':');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        snprintf(out, len, "%.*s%s%s", (int)n, p, n ? "/" : "", prog);
        struct stat st;
        if (!stat(out, &st) && S_ISREG(st.st_mode) && !access(out, X_OK)) return 0;
        p += n + (e ? 1 : 0);
    }
    errno = ENOENT;
    return -1;
}
