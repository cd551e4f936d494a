/* channel.c: one call slot in a shared memfd, a futex word for its state.
 *
 * The slot's state word moves only forward through a call:
 *
 *   IDLE --app posts--> CALL --proxy takes--> SERVING --proxy answers--> ANSWER
 *     ^                                          |  ^                      |
 *     |                            proxy upcalls v  | app is done          |
 *     |                                        UPCALL -> UPDONE            |
 *     +----------------------- app reads the answer -----------------------+
 *
 * Each side writes the data area only in the states that are its own (the
 * app in IDLE and UPCALL, the proxy in SERVING), and publishes with a
 * release store of the state; the other side reads after an acquire load.
 * A side that goes to sleep first says so (the `sleeping` count), so that
 * the waker pays the FUTEX_WAKE system call only when someone sleeps.
 *
 * A waiter spins calling sched_yield() until the spin time is up: with 4
 * processes on 2 cores (a 2-rank job) a round trip took 16-43 us spinning
 * with pause (the answer's process waited for the spinner's time slice) and
 * 1.1-1.3 us yielding; in a 2-rank job, spinning with pause for the first
 * 0.3 or 1 us before yielding made every call slower (docs/transparent.md).
 */
#define _GNU_SOURCE
#include "tern_channel.h"

#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define CHAN_MAGIC 0x4e414843u   /* "CHAN" */
#define CHAN_VERSION 1u
#define SPIN_DEFAULT_NS 20000u
#define LIVENESS_NS 1000000000ull   /* a sleeper looks for its peer once a second */

enum { IDLE, CALL, SERVING, UPCALL, UPDONE, ANSWER };

/* The shared header: one cache line for the state the two sides hand over,
 * the rest read-mostly. */
typedef struct {
    _Atomic uint32_t state;
    _Atomic uint32_t sleeping;   /* sides asleep on `state` (0, 1 or 2) */
    uint32_t call;               /* CALL: the call index; UPCALL: the upcall kind */
    int32_t rc;                  /* ANSWER: the call's return code */
    uint64_t len;                /* bytes in the data area for the current state */
    uint64_t draft;              /* IDLE: bytes the application may have written for its next call */
    uint64_t app_base;           /* where the application mapped the channel */
    char pad[24];
    uint32_t magic, version;
    uint64_t capacity;
    _Atomic int32_t app_pid, proxy_pid;
} chan_hdr;

struct tern_chan {
    chan_hdr *h;
    unsigned char *data;
    size_t map_len;
    uint64_t spin_ns;
    int is_proxy;
};

_Static_assert(sizeof(chan_hdr) <= 4096, "the header fits its page");

/* ---- time and futex ------------------------------------------------------- */
static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* 0, or -1 with errno (EINTR: a signal; EAGAIN: the word had changed;
 * ETIMEDOUT) */
static int futex_wait(_Atomic uint32_t *w, uint32_t seen, uint64_t ns)
{
    struct timespec ts = {.tv_sec = (time_t)(ns / 1000000000ull), .tv_nsec = (long)(ns % 1000000000ull)};
    /* shared futex (not PRIVATE): the two sides are different processes */
    return (int)syscall(SYS_futex, (uint32_t *)w, FUTEX_WAIT, seen, &ts, NULL, 0);
}

static void futex_wake(_Atomic uint32_t *w)
{
    syscall(SYS_futex, (uint32_t *)w, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
}

/* Gone: no such process, or one that has exited and waits to be reaped (a
 * zombie answers kill(0)). The application is the proxy's child: its
 * proxy is gone as soon as it is no longer its parent. */
static int peer_alive(const tern_chan *c)
{
    pid_t p = atomic_load(c->is_proxy ? &c->h->app_pid : &c->h->proxy_pid);
    if (p <= 0) return 1;
    if (!c->is_proxy) return getppid() == p;
    if (kill(p, 0) && errno == ESRCH) return 0;
    siginfo_t si;
    memset(&si, 0, sizeof si);
    if (waitid(P_PID, (id_t)p, &si, WEXITED | WNOHANG | WNOWAIT) == 0 && si.si_pid == p) return 0;
    return 1;
}

/* Publish a new state and wake the other side if it sleeps. */
static void set_state(tern_chan *c, uint32_t s)
{
    atomic_store_explicit(&c->h->state, s, memory_order_release);
    if (atomic_load_explicit(&c->h->sleeping, memory_order_seq_cst)) futex_wake(&c->h->state);
}

static inline int is_wanted(uint32_t s, uint32_t a, uint32_t b)
{
    return s == a || s == b;
}

/* Sleep once on the state word while it is not wanted: at most `ns`, and
 * at most LIVENESS_NS. Returns -1 when a signal ended the sleep. */
static int sleep_once(tern_chan *c, uint32_t want1, uint32_t want2, uint64_t ns)
{
    /* say we sleep, then look once more: a set_state() after this load
     * changes the word the futex compares, so its wake-up is not lost */
    atomic_fetch_add_explicit(&c->h->sleeping, 1, memory_order_seq_cst);
    uint32_t s = atomic_load_explicit(&c->h->state, memory_order_seq_cst);
    int r = 0;
    if (!is_wanted(s, want1, want2))
        r = futex_wait(&c->h->state, s, ns < LIVENESS_NS ? ns : LIVENESS_NS);
    int e = errno;
    atomic_fetch_sub_explicit(&c->h->sleeping, 1, memory_order_seq_cst);
    return r < 0 && e == EINTR ? -1 : 0;
}

/* Wait until the state is want1 or want2: spin for spin_ns, then sleep, up
 * to timeout_ns (UINT64_MAX: no limit). READY with *got; TIMEOUT when the
 * time is up or, with a limit, when a signal came (the caller looks at what
 * the signal asked for); PEER_GONE when the other process has gone. */
static int wait_state(tern_chan *c, uint32_t want1, uint32_t want2, uint64_t timeout_ns, uint32_t *got)
{
    uint64_t t0 = now_ns(), spin_end = t0 + c->spin_ns;
    uint64_t end = timeout_ns == UINT64_MAX ? UINT64_MAX : t0 + timeout_ns;
    for (;;) {
        uint32_t s = atomic_load_explicit(&c->h->state, memory_order_acquire);
        if (is_wanted(s, want1, want2)) {
            *got = s;
            return TERN_CHAN_READY;
        }
        uint64_t t = now_ns();
        if (t >= end) return TERN_CHAN_TIMEOUT;
        if (t < spin_end) {
            /* spin giving the core away: with more processes than cores (a
             * rank is two), the answer may need this very core */
            sched_yield();
            continue;
        }
        int signalled = sleep_once(c, want1, want2, end - t);
        s = atomic_load_explicit(&c->h->state, memory_order_acquire);
        if (is_wanted(s, want1, want2)) continue;
        if (!peer_alive(c)) return TERN_CHAN_PEER_GONE;
        if (signalled && timeout_ns != UINT64_MAX) return TERN_CHAN_TIMEOUT;
    }
}

/* ---- set-up --------------------------------------------------------------- */
static uint64_t spin_from_env(void)
{
    const char *v = getenv("TERN_CHAN_SPIN_NS");
    if (!v || !*v) return SPIN_DEFAULT_NS;
    char *e;
    unsigned long long n = strtoull(v, &e, 10);
    return *e ? SPIN_DEFAULT_NS : (uint64_t)n;
}

static int map_chan(int fd, size_t len, int is_proxy, tern_chan **out, tern_error *err)
{
    void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) return tern_error_set(err, errno, "channel: mmap: %s", strerror(errno));
    tern_chan *c = calloc(1, sizeof *c);
    if (!c) {
        munmap(p, len);
        return tern_error_set(err, ENOMEM, "channel: out of memory");
    }
    c->h = p;
    c->data = (unsigned char *)p + 4096;
    c->map_len = len;
    c->spin_ns = spin_from_env();
    c->is_proxy = is_proxy;
    *out = c;
    return 0;
}

int tern_chan_create(size_t capacity, tern_chan **out, int *fd, tern_error *err)
{
    *out = NULL;
    size_t page = 4096, len = page + ((capacity + page - 1) / page) * page;
    int f = memfd_create("tern-channel", 0);   /* inherited by the application */
    if (f < 0) return tern_error_set(err, errno, "channel: memfd_create: %s", strerror(errno));
    if (ftruncate(f, (off_t)len)) {
        int e = errno;
        close(f);
        return tern_error_set(err, e, "channel: %zu bytes: %s", len, strerror(e));
    }
    if (map_chan(f, len, 1, out, err)) {
        close(f);
        return -1;
    }
    chan_hdr *h = (*out)->h;
    h->magic = CHAN_MAGIC;
    h->version = CHAN_VERSION;
    h->capacity = len - page;
    atomic_store(&h->proxy_pid, (int32_t)getpid());
    atomic_store(&h->state, IDLE);
    *fd = f;
    return 0;
}

int tern_chan_attach(int fd, tern_chan **out, tern_error *err)
{
    *out = NULL;
    struct stat st;
    if (fstat(fd, &st)) return tern_error_set(err, errno, "channel: fd %d: %s", fd, strerror(errno));
    if (st.st_size < 8192)
        return tern_error_set(err, EINVAL, "channel: fd %d is not a tern channel (%lld bytes)", fd,
                              (long long)st.st_size);
    if (map_chan(fd, (size_t)st.st_size, 0, out, err)) return -1;
    chan_hdr *h = (*out)->h;
    if (h->magic != CHAN_MAGIC || h->version != CHAN_VERSION ||
        h->capacity != (uint64_t)st.st_size - 4096) {
        tern_chan_detach(*out);
        *out = NULL;
        return tern_error_set(err, EINVAL, "channel: fd %d is not a tern channel of version %u", fd,
                              CHAN_VERSION);
    }
    atomic_store(&h->app_pid, (int32_t)getpid());
    h->app_base = (uint64_t)(uintptr_t)h;
    return 0;
}

void tern_chan_detach(tern_chan *c)
{
    if (!c) return;
    munmap(c->h, c->map_len);
    free(c);
}

void *tern_chan_data(tern_chan *c)
{
    return c->data;
}

size_t tern_chan_capacity(const tern_chan *c)
{
    return (size_t)c->h->capacity;
}

void tern_chan_set_spin(tern_chan *c, uint64_t ns)
{
    c->spin_ns = ns;
}

/* ---- the application's side ------------------------------------------------ */
int tern_chan_call(tern_chan *c, uint32_t call, size_t *len, int32_t *rc, uint32_t *upcall)
{
    c->h->call = call;
    c->h->len = *len;
    set_state(c, CALL);
    return tern_chan_wait_answer(c, len, rc, upcall);
}

int tern_chan_wait_answer(tern_chan *c, size_t *len, int32_t *rc, uint32_t *upcall)
{
    uint32_t s;
    int r;
    /* the proxy may take minutes (a blocking receive): wait without limit;
     * only the proxy's death ends the wait otherwise */
    while ((r = wait_state(c, ANSWER, UPCALL, UINT64_MAX, &s)) == TERN_CHAN_TIMEOUT) {}
    if (r != TERN_CHAN_READY) return r;
    *len = (size_t)c->h->len;
    if (s == UPCALL) {
        *upcall = c->h->call;
        return TERN_CHAN_READY;
    }
    *upcall = 0;
    *rc = c->h->rc;
    /* the answer is read: the slot is free for the next call (no wake: the
     * proxy waits for CALL, not IDLE) */
    atomic_store_explicit(&c->h->state, IDLE, memory_order_release);
    return TERN_CHAN_READY;
}

void tern_chan_upcall_done(tern_chan *c, size_t len)
{
    c->h->len = len;
    set_state(c, UPDONE);
}

/* ---- the proxy's side ------------------------------------------------------- */
int tern_chan_next_call(tern_chan *c, uint64_t timeout_ns, uint32_t *call, size_t *len)
{
    uint32_t s;
    int r = wait_state(c, CALL, CALL, timeout_ns, &s);
    if (r != TERN_CHAN_READY) return r;
    *call = c->h->call;
    *len = (size_t)c->h->len;
    atomic_store_explicit(&c->h->state, SERVING, memory_order_relaxed);
    return TERN_CHAN_READY;
}

void tern_chan_answer(tern_chan *c, int32_t rc, size_t len)
{
    c->h->rc = rc;
    c->h->len = len;
    set_state(c, ANSWER);
}

int tern_chan_upcall(tern_chan *c, uint32_t kind, size_t *len)
{
    c->h->call = kind;
    c->h->len = *len;
    set_state(c, UPCALL);
    uint32_t s;
    int r;
    while ((r = wait_state(c, UPDONE, UPDONE, UINT64_MAX, &s)) == TERN_CHAN_TIMEOUT) {}
    if (r != TERN_CHAN_READY) return r;
    *len = (size_t)c->h->len;
    atomic_store_explicit(&c->h->state, SERVING, memory_order_relaxed);
    return TERN_CHAN_READY;
}

/* ---- checkpoints ---------------------------------------------------------------- */
void tern_chan_draft(tern_chan *c, size_t n)
{
    c->h->draft = n;
}

size_t tern_chan_image(const tern_chan *c, const void **p)
{
    const chan_hdr *h = c->h;
    uint64_t used = h->len > h->draft ? h->len : h->draft;
    if (used > h->capacity) used = h->capacity;
    *p = h;
    return 4096 + (size_t)used;
}

int tern_chan_adopt(tern_chan *c, const void *img, size_t n, pid_t app, const void *call, size_t call_len,
                    uint32_t call_idx, tern_error *err)
{
    const chan_hdr *old = img;
    if (n < 4096 || old->magic != CHAN_MAGIC || old->version != CHAN_VERSION || old->capacity != c->h->capacity ||
        n - 4096 > old->capacity || call_len > old->capacity)
        return tern_error_set(err, EINVAL, "the saved channel is not one of this version and size (%u, %llu bytes)",
                              old->version, (unsigned long long)old->capacity);
    uint32_t s = atomic_load(&old->state);
    if (call ? 0 : (s != IDLE && s != CALL && s != ANSWER))
        return tern_error_set(err, EINVAL, "the saved channel was in state %u between calls", s);
    memcpy(c->data, (const unsigned char *)img + 4096, n - 4096);
    c->h->call = call ? call_idx : old->call;
    c->h->rc = old->rc;
    c->h->len = call ? call_len : old->len;
    c->h->draft = old->draft;
    c->h->app_base = old->app_base;
    if (call) memcpy(c->data, call, call_len);
    /* the application's own count: it was asleep on the word, or not */
    atomic_store(&c->h->sleeping, atomic_load(&old->sleeping) ? 1u : 0u);
    atomic_store(&c->h->app_pid, (int32_t)app);
    atomic_store(&c->h->state, call ? SERVING : s);
    return 0;
}

void tern_chan_set_app(tern_chan *c, pid_t app)
{
    atomic_store(&c->h->app_pid, (int32_t)app);
}

uint64_t tern_chan_app_base(const tern_chan *c)
{
    return c->h->app_base;
}
