/* life.c: the application's life seen by mpirun (px_dispatch.h, life.h).
 *
 * mpirun knows only the proxy: signals it sends reach the proxy, and the
 * proxy's end is what it reports. So the proxy passes the signals on, and
 * ends as the application ended -- its exit status, or the same signal
 * (after one line naming the rank and the signal, unless the signal came
 * from mpirun through us). It never outlives the application, and the
 * application never outlives it (PR_SET_PDEATHSIG in main.c).
 */
#define _GNU_SOURCE
#include "px_dispatch.h"
#include "life.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

/* The signals passed on to the application: the one table (issue 11 makes
 * the trigger signal tern's checkpoint; a signal tern handles is never
 * passed on -- see px_life_init). */
static const int forwarded[] = {SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2,
                                SIGCONT, SIGTSTP, SIGTTIN, SIGTTOU, SIGWINCH, SIGXCPU};

static volatile sig_atomic_t passed_on[NSIG];   /* this signal came through us */
static volatile sig_atomic_t ending;
static char rank_text[16] = "?";

static void put(const char *s)
{
    ssize_t w = write(2, s, strlen(s));
    (void)w;
}

static void on_forwarded(int sig)
{
    int e = errno;
    if (px_app > 0) {
        passed_on[sig] = 1;
        kill(px_app, sig);
    }
    /* a stop stops the rank: the proxy too (SIGCONT, passed on, resumes both) */
    if (sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU) raise(SIGSTOP);
    errno = e;
}

void px_app_ended(int status)
{
    ending = 1;
    if (WIFEXITED(status)) _exit(WEXITSTATUS(status));
    int sig = WIFSIGNALED(status) ? WTERMSIG(status) : SIGKILL;
    if (!passed_on[sig]) {
        const char *ab = sigabbrev_np(sig);
        put("tern-proxy: rank ");
        put(rank_text);
        put(": the application was killed by SIG");
        put(ab ? ab : "?");
        put("\n");
    }
    /* the same death for mpirun; the application dumped its own core */
    struct rlimit no = {0, 0};
    setrlimit(RLIMIT_CORE, &no);
    signal(sig, SIG_DFL);
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, sig);
    sigprocmask(SIG_UNBLOCK, &s, NULL);
    raise(sig);
    _exit(128 + sig);
}

static void on_child(int sig)
{
    (void)sig;
    int e = errno, status;
    if (!ending && px_app > 0 && waitpid(px_app, &status, WNOHANG) == px_app) px_app_ended(status);
    errno = e;
}

void px_life_init(void)
{
    const char *r = getenv("OMPI_COMM_WORLD_RANK");
    if (r && strlen(r) < sizeof rank_text) strcpy(rank_text, r);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART | SA_NOCLDSTOP;
    sa.sa_handler = on_child;
    sigaction(SIGCHLD, &sa, NULL);
    sa.sa_flags = SA_RESTART;
    sa.sa_handler = on_forwarded;
    for (size_t i = 0; i < sizeof forwarded / sizeof forwarded[0]; i++) {
        struct sigaction old;
        sigaction(forwarded[i], NULL, &old);
        /* libtern handles its trigger signal (TERN_SIGNAL): it stays tern's */
        if (old.sa_handler == SIG_DFL) sigaction(forwarded[i], &sa, NULL);
    }
}

void px_life_child(void)
{
    /* the application starts with the signals as mpirun gave them */
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
}

void px_app_check(void)
{
    int status;
    if (!ending && waitpid(px_app, &status, WNOHANG) == px_app) px_app_ended(status);
}

void px_wait_app(void)
{
    for (;;) {
        int status;
        pid_t p = waitpid(px_app, &status, 0);
        if (p == px_app) px_app_ended(status);
        if (p < 0 && errno != EINTR) pause();
    }
}

void px_fatal_ending(void)
{
    ending = 1;
}
