/* triggers.c: what asks this rank for a checkpoint -- the trigger signal,
 * tern_request_checkpoint(), TERN_INTERVAL and (rank 0) request files -- kept
 * as flags until the next tern_snapshot() collects them. Separate because a
 * signal handler writes here: nothing else may touch these flags directly.
 */
#define _GNU_SOURCE
#include "triggers.h"
#include "tern.h"
#include "wrap.h"
#include "clock.h"
#include "config.h"
#include "control.h"
#include "requests.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

int cfg_signal = SIGUSR1;
static volatile sig_atomic_t sig_flag;
/* set on rank 0 of a job whose application has no snapshot points: the
 * signal is answered at once, from the handler (write() is safe there) */
static volatile sig_atomic_t sig_unservable;
static const char unservable_msg[] =
    "tern: rank 0: checkpoint signal ignored: the application has no snapshot points "
    "(it does not call tern_snapshot(); API mode checkpoints only there)\n";
static int api_flag;                       /* tern_request_checkpoint() */
static double next_interval_due;

/* ---- the trigger signal --------------------------------------------------- */
static void on_signal(int s)
{
    (void)s;
    sig_flag = 1;
    if (sig_unservable) {
        ssize_t w = write(2, unservable_msg, sizeof unservable_msg - 1);
        (void)w;
    }
}

void triggers_unservable(void)
{
    if (tern_world_rank == 0 && !spawned) sig_unservable = 1;
}

static int parse_signal(const char *s)
{
    if (!s || !*s) return SIGUSR1;
    if (!strcasecmp(s, "none")) return 0;
    if (!strncasecmp(s, "SIG", 3)) s += 3;
    if (!strcasecmp(s, "USR1")) return SIGUSR1;
    if (!strcasecmp(s, "USR2")) return SIGUSR2;
    if (!strcasecmp(s, "HUP")) return SIGHUP;
    if (!strcasecmp(s, "TERM")) return SIGTERM;
    if (!strcasecmp(s, "INT")) return SIGINT;
    if (!strcasecmp(s, "ALRM")) return SIGALRM;
    char *end;
    long v = strtol(s, &end, 10);
    if (*end || v <= 0 || v >= 65) {
        fprintf(stderr, "tern: TERN_SIGNAL=%s is not a signal; using USR1\n", s);
        return SIGUSR1;
    }
    return (int)v;
}

void install_signal(void)
{
    cfg_signal = parse_signal(getenv("TERN_SIGNAL"));
    if (!cfg_signal) return;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    sigaction(cfg_signal, &sa, NULL);
}

/* Installed when the library is loaded, so that a signal that arrives before
 * or during MPI_Init does not kill the process (it is then ignored). */
__attribute__((constructor)) static void tern_load(void)
{
    install_signal();
}

/* ---- collecting them (AGREE) ---------------------------------------------- */
unsigned local_triggers(void)
{
    unsigned f = 0;
    if (sig_flag) {
        sig_flag = 0;
        f |= TRIG_CKPT;
    }
    if (api_flag) {
        api_flag = 0;
        f |= TRIG_CKPT;
    }
    if (cfg_interval > 0 && tern_now_mono() >= next_interval_due) {
        next_interval_due = tern_now_mono() + cfg_interval;
        f |= TRIG_CKPT;
    }
    if (tern_world_rank == 0 && !spawned) {
        scan_requests();
        f |= file_flags;
    }
    return f;
}


void interval_restart(void)
{
    if (cfg_interval > 0) next_interval_due = tern_now_mono() + cfg_interval;
}

void forget_signal(void)
{
    sig_flag = 0;
}

int triggers_pending(void)
{
    return sig_flag || api_flag;
}

int tern_request_checkpoint(void)
{
    if (!tern_initialized || tern_finalized) {
        fprintf(stderr, "tern: tern_request_checkpoint: MPI is not initialized\n");
        return -1;
    }
    api_flag = 1;
    return 0;
}
