/* A SIGALRM handler driven by an interval timer, a SIGUSR1 handler with
 * SA_SIGINFO, and a blocked signal that stays pending across the dump. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

static volatile sig_atomic_t ticks, usr1;

static void on_alarm(int sig)
{
    (void)sig;
    ticks++;
}

static void on_usr1(int sig, siginfo_t *si, void *uc)
{
    (void)sig;
    (void)uc;
    usr1 += si->si_value.sival_int;
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 150;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm;
    sa.sa_flags = SA_RESTART;
    sigaction(SIGALRM, &sa, NULL);
    sa.sa_sigaction = on_usr1;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGUSR1, &sa, NULL);
    signal(SIGUSR2, SIG_IGN);
    /* SIGUSR1 queued while blocked: delivered only at the end */
    sigset_t m;
    sigemptyset(&m);
    sigaddset(&m, SIGUSR1);
    sigprocmask(SIG_BLOCK, &m, NULL);
    union sigval v = {.sival_int = 42};
    sigqueue(getpid(), SIGUSR1, v);
    struct itimerval it = {{0, 10000}, {0, 10000}};
    setitimer(ITIMER_REAL, &it, NULL);
    int last = -1;
    while (ticks < n) {
        pause();
        if (ticks / 10 != last) {
            last = ticks / 10;
            printf("tick %d\n", last * 10);
            fflush(stdout);
        }
    }
    struct itimerval cur;
    getitimer(ITIMER_REAL, &cur);
    printf("timer interval %ld us\n", (long)cur.it_interval.tv_usec);
    sigprocmask(SIG_UNBLOCK, &m, NULL);
    printf("usr1 sum %d\n", (int)usr1);
    struct sigaction old;
    sigaction(SIGUSR2, NULL, &old);
    printf("usr2 ignored %d\n", old.sa_handler == SIG_IGN);
    return 0;
}
