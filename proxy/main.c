/* main.c: tern-proxy [--] PROGRAM [ARGS...] -- one rank of a transparent
 * job (px_dispatch.h; docs/transparent.md).
 *
 * mpirun starts the proxy; the proxy makes the channel, starts PROGRAM as
 * its child with the rank's arguments, environment, working directory and
 * standard streams, plus LD_PRELOAD of the shim (a libmpi.so.40 stand-in:
 * the real Open MPI is never loaded into the application), and serves its
 * MPI calls until it ends.
 */
#define _GNU_SOURCE
#include "binary.h"
#include "ckpt.h"
#include "life.h"
#include "px_dispatch.h"
#include "serve.h"
#include "tern_elf.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

static void usage(FILE *f)
{
    fprintf(f,
            "usage: mpirun [MPIRUN OPTIONS] tern-proxy [--] PROGRAM [ARGS...]\n"
            "Runs one rank of PROGRAM in tern's transparent mode: PROGRAM, an unmodified MPI\n"
            "binary, runs as the child of this proxy, which makes every MPI call for it.\n"
            "`tern run` starts it so when PROGRAM does not use tern's API (docs/transparent.md).\n"
            "Environment: TERN_SHIM_DIR, the folder of the shim's libmpi.so.40 (found next to\n"
            "tern-proxy by default); TERN_CHAN_SPIN_NS, how long a waiter spins before it sleeps.\n");
}

static int is_shim_dir(const char *d)
{
    char p[PATH_MAX + 32];
    struct stat st;
    snprintf(p, sizeof p, "%s/libmpi.so.40", d);
    return stat(p, &st) == 0;
}

/* TERN_SHIM_DIR; the installed layout next to this binary; the build tree
 * it was built in; the install folder (CMake sets the three). */
static void shim_dir(char *out, size_t len)
{
    const char *env = getenv("TERN_SHIM_DIR");
    if (env && *env) {
        if (!is_shim_dir(env)) px_fatal("TERN_SHIM_DIR=%s has no libmpi.so.40", env);
        snprintf(out, len, "%s", env);
        return;
    }
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    exe[n > 0 ? n : 0] = 0;
    char *slash = strrchr(exe, '/');
    if (slash) *slash = 0;
    if ((size_t)snprintf(out, len, "%s/%s", exe, TERN_BIN_TO_SHIM) >= len) out[0] = 0;
    if (is_shim_dir(out)) return;
    snprintf(out, len, "%s", TERN_SHIM_BUILD_DIR);
    if (is_shim_dir(out)) return;
    snprintf(out, len, "%s", TERN_SHIM_INSTALL_DIR);
    if (is_shim_dir(out)) return;
    px_fatal("cannot find the shim (libmpi.so.40 of transparent mode): set TERN_SHIM_DIR");
}

static void child(const char *exe, char **args, const char *shim, int fd, pid_t parent)
{
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(1);   /* the proxy died before the line above */
    /* signals for the rank (orted signals the proxy's process group) reach
     * the application through the proxy only: one path, one outcome */
    setpgid(0, 0);
    px_life_child();
    char v[PATH_MAX * 2 + 64];
    const char *pre = getenv("LD_PRELOAD");
    snprintf(v, sizeof v, "%s/libmpi.so.40:%s/libmpi_cxx.so.40%s%s", shim, shim, pre && *pre ? ":" : "",
             pre && *pre ? pre : "");
    setenv("LD_PRELOAD", v, 1);
    snprintf(v, sizeof v, "%d", fd);
    setenv("TERN_CHANNEL_FD", v, 1);
    snprintf(v, sizeof v, "%d", (int)parent);
    setenv("TERN_PROXY_PID", v, 1);
    execv(exe, args);
    px_say("cannot execute %s: %s", exe, strerror(errno));
    _exit(127);
}

int main(int argc, char **argv)
{
    int i = 1;
    if (i < argc && (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))) {
        usage(stdout);
        return 0;
    }
    if (i < argc && !strcmp(argv[i], "--")) i++;
    if (i >= argc || argv[i][0] == '-') {
        usage(stderr);
        return 2;
    }
    static char *own[2];
    own[0] = argv[0];
    px_argc = 1;
    px_argv = own;
    char exe[PATH_MAX], shim[PATH_MAX];
    if (tern_elf_find_program(argv[i], exe, sizeof exe)) {
        px_say("cannot execute %s: %s", argv[i], strerror(errno));
        return 127;
    }
    px_check_binary(exe);
    shim_dir(shim, sizeof shim);
    tern_chan *c;
    tern_error err;
    int fd;
    if (tern_chan_create(TW_CHANNEL_BYTES, &c, &fd, &err)) px_fatal("%s", err.msg);
    px_life_init();
    /* transparent mode's protocol: libtern calls the proxy's hooks */
    tern_tm_enable(&px_tm_hooks);
    const char *restart = getenv("TERN_RESTART");
    if (restart && *restart) px_restart(c, fd);   /* the application comes from the checkpoint */
    /* SIGCHLD waits until px_app names the child: one that ends at once
     * (a program that never calls MPI) must still end the proxy */
    sigset_t chld, old;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    sigprocmask(SIG_BLOCK, &chld, &old);
    pid_t parent = getpid(), pid = fork();
    if (pid < 0) px_fatal("fork: %s", strerror(errno));
    if (pid == 0) child(exe, argv + i, shim, fd, parent);
    px_app = pid;
    sigprocmask(SIG_SETMASK, &old, NULL);
    /* a rank is two processes: Open MPI's progress loop in the proxy gives
     * the core away when it has nothing to do (unless the user chose) */
    setenv("OMPI_MCA_mpi_yield_when_idle", "1", 0);
    px_serve(c);
}
