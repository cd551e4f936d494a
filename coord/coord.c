/* coord.c: the coordinated checkpoint protocol (API mode) and the tern.h API.
 *
 * docs/protocol.md describes the state machine; the comments here name its
 * states. In short, at every tern_snapshot():
 *   AGREE   wait for the agreement started at the previous snapshot point
 *           (MPI_Iallreduce(BOR) of the trigger bits on the control
 *           communicator) and start the next one;
 *   if the agreed bits ask for a checkpoint (all ranks see the same bits):
 *   CHECK   refusals (RMA, MPI-IO, dynamic processes, THREAD_MULTIPLE) and the
 *           per-communicator collective sequence numbers, agreed by all;
 *   DRAIN   exchange per-peer counters, receive every in-flight message into
 *           the pending application receive it matches or into tern's buffer,
 *           complete pending sends and nonblocking collectives;
 *           (FAST PATH, up to 16 ranks: when the exchange shows on every rank
 *           that nothing is in flight and no request is active, the drain
 *           and the second agreement are skipped: one collective in all);
 *   DUMP    registered regions, drained messages, request and communicator
 *           descriptors through the store;
 *   COMMIT  the store's two-phase commit (all ranks agree; rank 0 renames);
 *   RESUME  (or stop after a checkpoint-and-stop request).
 */
#define _GNU_SOURCE
#include "tern.h"
#include "wrap.h"
#include "tern_store.h"
#include "comm_log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define TRIG_CKPT 1u
#define TRIG_STOP 2u

#define META_MAGIC 0x7465726e6d657461ULL /* "ternmeta" */
/* 2: adds _tern_comm_members (communicators rebuilt at restart); version 1
 * checkpoints are still read (nothing is rebuilt from them) */
#define PROTO_VERSION 2

/* ---- configuration (docs/runtime.md) ------------------------------------- */
static char cfg_dir[4096];
static char cfg_job[256] = "unnamed";
static double cfg_interval;
static int cfg_signal = SIGUSR1;
static int cfg_compress = 1;
static int cfg_keep = 2;
static const char *cfg_restart;

/* test hooks (docs/protocol.md, "fault injection"): TERN_TEST_FAIL=rank:epoch:what */
static int fail_rank = -1, fail_epoch = -1;
static double drain_timeout = 60.0;   /* TERN_DRAIN_TIMEOUT: seconds without progress */
static char fail_what[32];

/* ---- state ------------------------------------------------------------------ */
static MPI_Comm ctrl = MPI_COMM_NULL;      /* private dup of MPI_COMM_WORLD */
static volatile sig_atomic_t sig_flag;
static int api_flag;                       /* tern_request_checkpoint() */
static unsigned file_flags;                /* rank 0: bits from request files */
static double next_interval_due;
static double last_scan;
static uint64_t snap_count;
static MPI_Request agree_req = MPI_REQUEST_NULL;
static unsigned agree_send, agree_recv;
static int agree_pending;
static uint64_t next_epoch = 1;
static uint64_t restored_epoch;
static int restarted_flag;
static int recovered;

/* request files consumed by rank 0 and not yet answered */
typedef struct pend_req { char id[256]; int stop; struct pend_req *next; } pend_req;
static pend_req *pend_served, *pend_riding, *pend_next; /* being served / in the agreement in flight / not yet */
static char **seen_ids;
static int nseen;

/* protected regions */
typedef struct region {
    char name[208];
    void *ptr;
    int64_t count;
    MPI_Datatype type;
    size_t elem;      /* extent of type */
    size_t bytes;
    struct region *next;
} region;
static region *regions;
static uint64_t regions_gen = 1;   /* bumped by tern_protect/unprotect: caches regions_hash() */

/* restart */
static tern_ckpt *rst;
typedef struct meta {
    uint64_t magic;
    uint32_t version, nranks, rank, arrays;   /* arrays: regions stored as global arrays */
    uint64_t epoch, snap_count, global_inflight;
    uint64_t nmsgs, nreqs, ncomms;
    double quiesce_seconds;
    uint32_t nhandles, pad;
} meta;
static meta rst_meta;

/* last figures (for tests/benchmarks via TERN_STATS) */
static double last_quiesce, last_total, phase[4], proto_min, proto_max;
static int stats_on, last_fast;
static int cfg_quiesce_only;   /* TERN_QUIESCE_ONLY=1 (benchmarks): stop once quiescent, write nothing */

static double now_wall(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}
static double now_mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
    char buf[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    fprintf(stderr, "tern: rank %d: %s\n", tern_world_rank, buf);
}

static uint64_t root_epoch(void);

/* ---- events and request answers (rank 0) ------------------------------- */
static int mkdir_p(const char *path)
{
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s", path);
    for (char *p = tmp + 1; *p; p++) {
        if (*p == '/') {
            *p = 0;
            mkdir(tmp, 0777);
            *p = '/';
        }
    }
    if (mkdir(tmp, 0777) && errno != EEXIST) return -1;
    return 0;
}

static void event(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int spawned;   /* started by MPI_Comm_spawn: not the job's rank 0 */
static void event(const char *fmt, ...)
{
    if (tern_world_rank != 0 || spawned) return;
    char line[4096], path[4200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line - 2, fmt, ap);
    va_end(ap);
    strcat(line, "\n");
    mkdir_p(cfg_dir);
    snprintf(path, sizeof path, "%s/events", cfg_dir);
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0666);
    if (fd < 0) return;
    ssize_t w = write(fd, line, strlen(line));
    (void)w;
    close(fd);
}

static void answer(pend_req *r, const char *text)
{
    char path[4600], tmp[4600];
    snprintf(path, sizeof path, "%s/request.%s.done", cfg_dir, r->id);
    snprintf(tmp, sizeof tmp, "%s/.tmp-done-%s", cfg_dir, r->id);
    FILE *f = fopen(tmp, "w");
    if (!f) return;
    fprintf(f, "%s\n", text);
    fclose(f);
    rename(tmp, path);
}

static int seen(const char *id)
{
    for (int i = 0; i < nseen; i++)
        if (!strcmp(seen_ids[i], id)) return 1;
    return 0;
}

/* Rank 0: look for new request files (at most every 50 ms). */
static void scan_requests(void)
{
    double t = now_mono();
    if (t - last_scan < 0.05) return;
    last_scan = t;
    DIR *d = opendir(cfg_dir);
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d))) {
        const char *n = e->d_name;
        size_t l = strlen(n);
        if (strncmp(n, "request.", 8) || (l > 5 && !strcmp(n + l - 5, ".done"))) continue;
        const char *id = n + 8;
        if (seen(id)) continue;
        char path[4400], donep[4400];
        snprintf(donep, sizeof donep, "%s/%s.done", cfg_dir, n);
        seen_ids = realloc(seen_ids, sizeof(char *) * (size_t)(nseen + 1));
        seen_ids[nseen++] = strdup(id);
        if (access(donep, F_OK) == 0) continue;    /* answered by an earlier run */
        snprintf(path, sizeof path, "%s/%s", cfg_dir, n);
        FILE *f = fopen(path, "r");
        if (!f) continue;
        char what[128] = "";
        if (!fgets(what, sizeof what, f)) what[0] = 0;
        fclose(f);
        what[strcspn(what, "\r\n")] = 0;
        pend_req *r = calloc(1, sizeof *r);
        snprintf(r->id, sizeof r->id, "%s", id);
        if (!strcmp(what, "checkpoint")) r->stop = 0;
        else if (!strcmp(what, "checkpoint-and-stop")) r->stop = 1;
        else {
            char msg[300];
            snprintf(msg, sizeof msg, "failed: unknown request '%.100s'", what);
            answer(r, msg);
            free(r);
            continue;
        }
        r->next = pend_next;
        pend_next = r;
        file_flags |= TRIG_CKPT | (r->stop ? TRIG_STOP : 0);
    }
    closedir(d);
}

/* ---- configuration ----------------------------------------------------------- */
static void on_signal(int s)
{
    (void)s;
    sig_flag = 1;
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

static void install_signal(void)
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

static void read_config(void)
{
    const char *v;
    if ((v = getenv("TERN_JOB")) && *v) snprintf(cfg_job, sizeof cfg_job, "%s", v);
    if ((v = getenv("TERN_DIR")) && *v) snprintf(cfg_dir, sizeof cfg_dir, "%s", v);
    else snprintf(cfg_dir, sizeof cfg_dir, "./tern-ckpt/%s", cfg_job);
    cfg_interval = (v = getenv("TERN_INTERVAL")) ? atof(v) : 0;
    if (cfg_interval < 0) cfg_interval = 0;
    cfg_compress = (v = getenv("TERN_COMPRESS")) ? atoi(v) : 1;
    if (cfg_compress < 0) cfg_compress = 0;
    if (cfg_compress > 9) cfg_compress = 9;
    cfg_keep = (v = getenv("TERN_KEEP")) ? atoi(v) : 2;
    if (cfg_keep < 1) cfg_keep = 1;
    cfg_restart = (v = getenv("TERN_RESTART")) && *v ? v : NULL;
    stats_on = (v = getenv("TERN_STATS")) && *v;
    cfg_quiesce_only = (v = getenv("TERN_QUIESCE_ONLY")) && atoi(v) > 0;
    if ((v = getenv("TERN_DRAIN_TIMEOUT")) && atof(v) > 0) drain_timeout = atof(v);
    if ((v = getenv("TERN_TEST_FAIL")) && *v)
        sscanf(v, "%d:%d:%31s", &fail_rank, &fail_epoch, fail_what);
}

static int test_raise;   /* TERN_TEST_RAISE=1: raise the trigger signal around MPI_Init/Finalize */

void tern_coord_preinit(void)
{
    install_signal();
    read_config();
    const char *v = getenv("TERN_TEST_RAISE");
    test_raise = v && *v == '1' && cfg_signal;
    if (test_raise) raise(cfg_signal);   /* before MPI_Init: must be ignored */
}

void tern_coord_after_finalize(void)
{
    if (test_raise) raise(cfg_signal);   /* after MPI_Finalize: must be ignored */
}

/* ---- protected regions --------------------------------------------------- */
static region *find_region(const char *name)
{
    for (region *r = regions; r; r = r->next)
        if (!strcmp(r->name, name)) return r;
    return NULL;
}

static int valid_name(const char *n)
{
    size_t l = strlen(n);
    if (l == 0 || l > 200) return 0;
    for (size_t i = 0; i < l; i++) {
        char c = n[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '-'))
            return 0;
    }
    return strncmp(n, "_tern", 5) != 0;
}

int tern_protect(const char *name, void *ptr, int64_t count, MPI_Datatype type)
{
    if (!name || !valid_name(name)) {
        say("tern_protect: invalid name '%s' (1..200 of [A-Za-z0-9_.-], not starting with _tern)",
            name ? name : "(null)");
        return -1;
    }
    if (count < 0 || (count > 0 && !ptr)) {
        say("tern_protect(%s): bad pointer or count", name);
        return -1;
    }
    MPI_Aint lb, extent;
    if (PMPI_Type_get_extent(type, &lb, &extent) != MPI_SUCCESS || extent <= 0) {
        say("tern_protect(%s): bad datatype", name);
        return -1;
    }
    region *r = find_region(name);
    if (!r) {
        r = calloc(1, sizeof *r);
        snprintf(r->name, sizeof r->name, "%s", name);
        /* append: keep registration order */
        region **pp = &regions;
        while (*pp) pp = &(*pp)->next;
        *pp = r;
    }
    r->ptr = ptr;
    r->count = count;
    r->type = type;
    r->elem = (size_t)extent;
    r->bytes = (size_t)extent * (size_t)count;
    regions_gen++;
    return 0;
}

int tern_unprotect(const char *name)
{
    for (region **pp = &regions; *pp; pp = &(*pp)->next) {
        if (!strcmp((*pp)->name, name)) {
            region *r = *pp;
            *pp = r->next;
            free(r);
            regions_gen++;
            return 0;
        }
    }
    say("tern_unprotect: no region named '%s'", name ? name : "(null)");
    return -1;
}

/* Where does [buf, buf+len) live? 0 and (region, offset) if inside one. */
static region *locate(const void *buf, size_t len, uint64_t *off)
{
    const char *b = buf;
    for (region *r = regions; r; r = r->next) {
        const char *p = r->ptr;
        if (b >= p && b + len <= p + r->bytes && (len > 0 || b < p + r->bytes || b == p)) {
            *off = (uint64_t)(b - p);
            return r;
        }
    }
    return NULL;
}

/* ---- predefined datatypes (restart re-posts receives with these) -------- */
static MPI_Datatype predef(int i)
{
    switch (i) {
    case 0: return MPI_BYTE;          case 1: return MPI_CHAR;
    case 2: return MPI_SIGNED_CHAR;   case 3: return MPI_UNSIGNED_CHAR;
    case 4: return MPI_SHORT;         case 5: return MPI_UNSIGNED_SHORT;
    case 6: return MPI_INT;           case 7: return MPI_UNSIGNED;
    case 8: return MPI_LONG;          case 9: return MPI_UNSIGNED_LONG;
    case 10: return MPI_LONG_LONG;    case 11: return MPI_UNSIGNED_LONG_LONG;
    case 12: return MPI_FLOAT;        case 13: return MPI_DOUBLE;
    case 14: return MPI_LONG_DOUBLE;  case 15: return MPI_INT8_T;
    case 16: return MPI_INT16_T;      case 17: return MPI_INT32_T;
    case 18: return MPI_INT64_T;      case 19: return MPI_UINT8_T;
    case 20: return MPI_UINT16_T;     case 21: return MPI_UINT32_T;
    case 22: return MPI_UINT64_T;     case 23: return MPI_C_BOOL;
    case 24: return MPI_PACKED;       case 25: return MPI_FLOAT_INT;
    case 26: return MPI_DOUBLE_INT;   case 27: return MPI_LONG_INT;
    case 28: return MPI_2INT;         case 29: return MPI_C_COMPLEX;
    case 30: return MPI_C_DOUBLE_COMPLEX; case 31: return MPI_AINT;
    case 32: return MPI_OFFSET;       case 33: return MPI_COUNT;
    case 34: return MPI_WCHAR;        case 35: return MPI_SHORT_INT;
    default: return MPI_DATATYPE_NULL;
    }
}
static int predef_index(MPI_Datatype t)
{
    for (int i = 0; i < 36; i++)
        if (predef(i) == t) return i;
    return -1;
}

/* ---- predefined handles kept in protected memory ------------------------------
 * Open MPI's predefined handles (MPI_REQUEST_NULL, MPI_COMM_WORLD, MPI_INT,
 * MPI_SUM, ...) are addresses inside libmpi, which moves from run to run
 * (ASLR). A protected MPI_Request array that holds MPI_REQUEST_NULL would hold
 * a stale address after a restart, so the checkpoint saves the old addresses
 * and tern_recover() rewrites every aligned 8-byte word of the protected
 * regions equal to one of them (docs/api.md, "Handles"). */
#define NPREHANDLES 80
static int prehandles(uintptr_t *h)
{
    int n = 0;
#define PH(x) h[n++] = (uintptr_t)(x)
    PH(MPI_REQUEST_NULL); PH(MPI_COMM_WORLD); PH(MPI_COMM_SELF); PH(MPI_COMM_NULL);
    PH(MPI_MESSAGE_NULL); PH(MPI_MESSAGE_NO_PROC); PH(MPI_GROUP_NULL); PH(MPI_GROUP_EMPTY);
    PH(MPI_DATATYPE_NULL); PH(MPI_OP_NULL); PH(MPI_SUM); PH(MPI_MAX); PH(MPI_MIN); PH(MPI_PROD);
    PH(MPI_LAND); PH(MPI_LOR); PH(MPI_LXOR); PH(MPI_BAND); PH(MPI_BOR); PH(MPI_BXOR);
    PH(MPI_MAXLOC); PH(MPI_MINLOC); PH(MPI_REPLACE); PH(MPI_NO_OP); PH(MPI_INFO_NULL); PH(MPI_INFO_ENV);
    PH(MPI_ERRHANDLER_NULL); PH(MPI_ERRORS_ARE_FATAL); PH(MPI_ERRORS_RETURN);
    PH(MPI_WIN_NULL); PH(MPI_FILE_NULL);
#undef PH
    for (int i = 0; i < 36; i++) h[n++] = (uintptr_t)predef(i);
    return n;
}

static void fix_prehandles(const uintptr_t *old, int n)
{
    uintptr_t now[NPREHANDLES];
    int m = prehandles(now);
    if (m != n) return;
    uintptr_t lo = UINTPTR_MAX, hi = 0;
    int same = 1;
    for (int i = 0; i < n; i++) {
        if (old[i] < lo) lo = old[i];
        if (old[i] > hi) hi = old[i];
        if (old[i] != now[i]) same = 0;
    }
    if (same) return;
    for (region *r = regions; r; r = r->next) {
        if ((uintptr_t)r->ptr % sizeof(uintptr_t)) continue;
        uintptr_t *w = r->ptr;
        size_t nw = r->bytes / sizeof(uintptr_t);
        for (size_t k = 0; k < nw; k++) {
            uintptr_t v = w[k];
            if (v < lo || v > hi) continue;
            for (int i = 0; i < n; i++)
                if (old[i] == v) {
                    w[k] = now[i];
                    break;
                }
        }
    }
}

/* ---- serialized descriptors ------------------------------------------------ */
typedef struct msg_rec { uint32_t comm; int32_t src, tag; uint32_t pad; uint64_t len; } msg_rec;
typedef struct req_rec {
    uint32_t idx;
    uint8_t kind, state, variant, has_buf;
    uint32_t comm;
    int32_t count, peer, tag, dtype;   /* dtype: predefined index, -1 none, -2 derived (blob) */
    uint64_t offset;
    uint64_t toff, tlen;               /* derived datatype: its description in _tern_types */
    char region[208];
    MPI_Status st;
} req_rec;

typedef struct buf { unsigned char *p; size_t n, cap; } buf;
static void bput(buf *b, const void *d, size_t n)
{
    if (b->n + n > b->cap) {
        b->cap = (b->n + n) * 2 + 256;
        b->p = realloc(b->p, b->cap);
    }
    memcpy(b->p + b->n, d, n);
    b->n += n;
}

/* Frees what PMPI_Type_get_contents (or type_deser) gave: the component types
 * that are not predefined, and the three arrays. */
static void free_contents(int *ints, MPI_Aint *aints, MPI_Datatype *types, int nd)
{
    for (int i = 0; i < nd; i++) {
        int a, bb, c, cb;
        PMPI_Type_get_envelope(types[i], &a, &bb, &c, &cb);
        if (cb != MPI_COMBINER_NAMED) PMPI_Type_free(&types[i]);
    }
    free(ints);
    free(aints);
    free(types);
}

/* ---- derived datatypes of pending receives ------------------------------------
 * A receive re-posted at restart needs its datatype. Derived datatypes are not
 * virtual handles (docs/api.md), so the datatype itself is saved: its
 * envelope and contents (MPI_Type_get_envelope / get_contents), recursively,
 * down to predefined types, and rebuilt with the same constructors. */
static int type_ser(MPI_Datatype t, buf *b, char *why, size_t len)
{
    int ni, na, nd, comb;
    PMPI_Type_get_envelope(t, &ni, &na, &nd, &comb);
    int32_t hdr[4] = { comb, ni, na, nd };
    bput(b, hdr, sizeof hdr);
    if (comb == MPI_COMBINER_NAMED) {
        int32_t k = predef_index(t);
        if (k < 0) {
            snprintf(why, len, "a pending receive uses a predefined datatype tern does not know");
            return -1;
        }
        bput(b, &k, sizeof k);
        return 0;
    }
    switch (comb) {
    case MPI_COMBINER_DUP: case MPI_COMBINER_CONTIGUOUS: case MPI_COMBINER_VECTOR:
    case MPI_COMBINER_HVECTOR: case MPI_COMBINER_INDEXED: case MPI_COMBINER_HINDEXED:
    case MPI_COMBINER_INDEXED_BLOCK: case MPI_COMBINER_HINDEXED_BLOCK: case MPI_COMBINER_STRUCT:
    case MPI_COMBINER_SUBARRAY: case MPI_COMBINER_RESIZED:
        break;
    default:
        snprintf(why, len, "a receive pending at tern_snapshot() uses a datatype made by a "
                 "constructor tern cannot rebuild (combiner %d: darray or Fortran types)", comb);
        return -1;
    }
    int *ints = malloc(sizeof(int) * (size_t)(ni + 1));
    MPI_Aint *aints = malloc(sizeof(MPI_Aint) * (size_t)(na + 1));
    MPI_Datatype *types = malloc(sizeof(MPI_Datatype) * (size_t)(nd + 1));
    PMPI_Type_get_contents(t, ni, na, nd, ints, aints, types);
    for (int i = 0; i < ni; i++) { int32_t v = ints[i]; bput(b, &v, sizeof v); }
    for (int i = 0; i < na; i++) { int64_t v = (int64_t)aints[i]; bput(b, &v, sizeof v); }
    int rc = 0;
    for (int i = 0; i < nd && rc == 0; i++) rc = type_ser(types[i], b, why, len);
    free_contents(ints, aints, types, nd);
    return rc;
}

static MPI_Datatype type_deser(const unsigned char **p, const unsigned char *end)
{
    int32_t hdr[4];
    if (*p + sizeof hdr > end) return MPI_DATATYPE_NULL;
    memcpy(hdr, *p, sizeof hdr);
    *p += sizeof hdr;
    int comb = hdr[0], ni = hdr[1], na = hdr[2], nd = hdr[3];
    if (comb == MPI_COMBINER_NAMED) {
        int32_t k;
        memcpy(&k, *p, sizeof k);
        *p += sizeof k;
        return predef(k);
    }
    int *ints = malloc(sizeof(int) * (size_t)(ni + 1));
    MPI_Aint *aints = malloc(sizeof(MPI_Aint) * (size_t)(na + 1));
    MPI_Datatype *types = malloc(sizeof(MPI_Datatype) * (size_t)(nd + 1));
    for (int i = 0; i < ni; i++) { int32_t v; memcpy(&v, *p, sizeof v); *p += sizeof v; ints[i] = v; }
    for (int i = 0; i < na; i++) { int64_t v; memcpy(&v, *p, sizeof v); *p += sizeof v; aints[i] = (MPI_Aint)v; }
    for (int i = 0; i < nd; i++) types[i] = type_deser(p, end);
    MPI_Datatype t = MPI_DATATYPE_NULL;
    int n = ni > 0 ? ints[0] : 0;
    switch (comb) {
    case MPI_COMBINER_DUP: PMPI_Type_dup(types[0], &t); break;
    case MPI_COMBINER_CONTIGUOUS: PMPI_Type_contiguous(ints[0], types[0], &t); break;
    case MPI_COMBINER_VECTOR: PMPI_Type_vector(ints[0], ints[1], ints[2], types[0], &t); break;
    case MPI_COMBINER_HVECTOR: PMPI_Type_create_hvector(ints[0], ints[1], aints[0], types[0], &t); break;
    case MPI_COMBINER_INDEXED: PMPI_Type_indexed(n, ints + 1, ints + 1 + n, types[0], &t); break;
    case MPI_COMBINER_HINDEXED: PMPI_Type_create_hindexed(n, ints + 1, aints, types[0], &t); break;
    case MPI_COMBINER_INDEXED_BLOCK: PMPI_Type_create_indexed_block(n, ints[1], ints + 2, types[0], &t); break;
    case MPI_COMBINER_HINDEXED_BLOCK: PMPI_Type_create_hindexed_block(n, ints[1], aints, types[0], &t); break;
    case MPI_COMBINER_STRUCT: PMPI_Type_create_struct(n, ints + 1, aints, types, &t); break;
    case MPI_COMBINER_SUBARRAY:
        PMPI_Type_create_subarray(n, ints + 1, ints + 1 + n, ints + 1 + 2 * n, ints[1 + 3 * n], types[0], &t);
        break;
    case MPI_COMBINER_RESIZED: PMPI_Type_create_resized(types[0], aints[0], aints[1], &t); break;
    default: break;
    }
    if (t != MPI_DATATYPE_NULL) PMPI_Type_commit(&t);
    free_contents(ints, aints, types, nd);
    return t;
}

/* ---- the exchange vector, allocated once in tern_coord_init --------------- *
 * One MPI_Allreduce with xchg_op: the first XS_NMAX words are reduced with
 * MAX, the rest with SUM.
 *   MAX: UNSAFE and DBAD carry W - rank of a rank that refuses (so the max is
 *        the lowest such rank), HASH and NHASH the region-layout hash and its
 *        complement (max and min), EPOCH rank 0's choice;
 *   SUM: BAL  sum of (messages posted - messages completed) per rank: 0 over
 *             all ranks iff nothing is in flight (per pair, completed <=
 *             posted), SIG the collective signature (0 iff consistent),
 *        NONQUIET ranks with an active request, INFLIGHT ranks with pending
 *             requests or undelivered drained messages to save;
 *   then, for W <= XCHG_MATRIX_MAX, the W x W matrix of messages posted per
 *   ordered pair (each rank fills its own row, the others stay 0), from which
 *   a rank reads what it must drain without a second collective. */
#define XCHG_MATRIX_MAX 16
enum { XS_UNSAFE, XS_DBAD, XS_HASH, XS_NHASH, XS_EPOCH, XS_NMAX,
       XS_BAL = XS_NMAX, XS_SIG, XS_NONQUIET, XS_INFLIGHT, XS_N };
static uint64_t *xs_vec, *xs_res, *xs_expect, *xs_sent;
static char *xs_deficit;
static int xs_len, xs_matrix;
static MPI_Op xchg_op = MPI_OP_NULL;

static void xchg_reduce(void *in, void *inout, int *len, MPI_Datatype *dt)
{
    (void)dt;
    const uint64_t *a = in;
    uint64_t *b = inout;
    int i = 0;
    for (; i < XS_NMAX && i < *len; i++)
        if (a[i] > b[i]) b[i] = a[i];
    for (; i < *len; i++) b[i] += a[i];
}

static void scratch_init(void)
{
    size_t W = (size_t)tern_world_size;
    xs_matrix = W <= XCHG_MATRIX_MAX;
    xs_len = XS_N + (xs_matrix ? (int)(W * W) : 0);
    xs_vec = calloc((size_t)xs_len, sizeof(uint64_t));
    xs_res = calloc((size_t)xs_len, sizeof(uint64_t));
    xs_expect = calloc(W, sizeof(uint64_t));
    xs_sent = calloc(W, sizeof(uint64_t));
    xs_deficit = calloc(W, 1);
    PMPI_Op_create(xchg_reduce, 1, &xchg_op);
}

/* ---- the drain ------------------------------------------------------------ */
static int app_req_active(tern_req *q)
{
    return q->state == TRS_ACTIVE;
}

/* Test the pending application point-to-point requests once. */
static void progress_app_reqs(void)
{
    for (uint32_t i = 0; i < tr_hiwater; i++) {
        tern_req *q = tr_at(i);
        if (!q || !app_req_active(q) || q->kind == TR_NBC || q->kind == TR_GREQ) continue;
        int flag = 0;
        MPI_Status st;
        PMPI_Test(&q->real, &flag, &st);
        if (flag) {
            tr_complete(q, &st);
            q->st = st;
            q->state = TRS_DONE;
        }
    }
}

/* Receive the unexpected messages of every communicator that has a member
 * from which messages are still missing (deficit[w] != 0). */
static void pull_unexpected(const char *deficit)
{
    for (uint32_t o = 0; o < tc_count; o++) {
        tern_comm *c = tc_by_ordinal(o);
        if (!c || c->freed || c->npeers == 0) continue;
        int need = 0;
        for (int i = 0; i < c->npeers && !need; i++)
            need = c->world[i] >= 0 && deficit[c->world[i]];
        if (!need) continue;
        for (;;) {
            int flag = 0;
            MPI_Message mh;
            MPI_Status st;
            PMPI_Improbe(MPI_ANY_SOURCE, MPI_ANY_TAG, c->real, &flag, &mh, &st);
            if (!flag) break;
            int n = 0;
            PMPI_Get_count(&st, MPI_BYTE, &n);
            tern_msg *m = malloc(sizeof *m + (size_t)n);
            m->src = st.MPI_SOURCE;
            m->tag = st.MPI_TAG;
            m->len = (size_t)n;
            PMPI_Mrecv(m->data, n, MPI_BYTE, &mh, &st);
            tq_append(c, m);
            tc_count_recv(c, &st);
        }
    }
}

/* Agree on a yes/no among all ranks; returns the max of `code`. */
static int agree_max(int code)
{
    int out = code;
    PMPI_Allreduce(&code, &out, 1, MPI_INT, MPI_MAX, ctrl);
    return out;
}

/* CHECK: collective sequence numbers of every live communicator must be equal
 * on all members. Fills why on mismatch. */
static int check_collectives(char *why, size_t len)
{
    int n = 0;
    for (uint32_t o = 0; o < tc_count; o++) {
        tern_comm *c = tc_by_ordinal(o);
        if (c && !c->freed && c->npeers > 1) n++;
    }
    uint64_t *mine = malloc(sizeof(uint64_t) * 2 * (size_t)(n + 1));
    int k = 0;
    for (uint32_t o = 0; o < tc_count; o++) {
        tern_comm *c = tc_by_ordinal(o);
        if (!c || c->freed || c->npeers <= 1) continue;
        mine[2 * k] = c->gid;
        mine[2 * k + 1] = c->coll_seq;
        k++;
    }
    int W = tern_world_size, cnt = 2 * n;
    int *cnts = malloc(sizeof(int) * (size_t)W), *displs = malloc(sizeof(int) * (size_t)W);
    PMPI_Allgather(&cnt, 1, MPI_INT, cnts, 1, MPI_INT, ctrl);
    int tot = 0;
    for (int i = 0; i < W; i++) {
        displs[i] = tot;
        tot += cnts[i];
    }
    uint64_t *all = malloc(sizeof(uint64_t) * (size_t)(tot + 1));
    PMPI_Allgatherv(mine, cnt, MPI_UINT64_T, all, cnts, displs, MPI_UINT64_T, ctrl);
    int bad = 0;
    for (int j = 0; j < n && !bad; j++) {
        for (int r = 0; r < W && !bad; r++) {
            for (int i = displs[r]; i < displs[r] + cnts[r]; i += 2) {
                if (all[i] == mine[2 * j] && all[i + 1] != mine[2 * j + 1]) {
                    tern_comm *c = NULL;
                    for (uint32_t o = 0; o < tc_count; o++) {
                        tern_comm *x = tc_by_ordinal(o);
                        if (x && !x->freed && x->gid == mine[2 * j]) c = x;
                    }
                    snprintf(why, len,
                             "collective sequence mismatch on communicator #%u (%s): rank %d has "
                             "entered %" PRIu64 " collectives, rank %d %" PRIu64
                             " -- a collective was started on one side of tern_snapshot() only",
                             c ? c->ordinal : 0, c ? c->ctor : "?", tern_world_rank,
                             mine[2 * j + 1], r, all[i + 1]);
                    bad = 1;
                    break;
                }
            }
        }
    }
    free(mine);
    free(cnts);
    free(displs);
    free(all);
    return bad;
}

/* DRAIN, given expect[w] = messages w has posted to this rank. On return
 * every one of them has been received (into the pending application receive
 * it matches or into tern's queue), every send and matched receive
 * (MPI_Imrecv) of this rank has completed and every nonblocking collective
 * has finished: nothing to or from this rank is inside MPI. No collective
 * follows: every rank that returns is quiescent on its own, and a failure
 * here is agreed on by the store's first collective (opts.refuse). */
static int drain(const uint64_t *expect, char *why, size_t whylen)
{
    int W = tern_world_size, rc = 0;
    const uint64_t *recvd_from = tern_wrecvd;   /* live: the drain's receives count too */
    double last = now_mono();
    int last_missing = -1;
    char *deficit = xs_deficit;
    for (;;) {
        int missing = 0, from = -1;
        for (int w = 0; w < W; w++) {
            deficit[w] = recvd_from[w] < expect[w];
            if (deficit[w]) {
                missing += (int)(expect[w] - recvd_from[w]);
                from = w;
            }
        }
        if (!missing) break;
        progress_app_reqs();
        pull_unexpected(deficit);
        if (missing != last_missing) {
            last_missing = missing;
            last = now_mono();
        } else if (now_mono() - last > drain_timeout) {
            snprintf(why, whylen, "drain: %d message(s) counted as sent to this rank (e.g. by rank %d) "
                     "never arrived within %.0f s (a communicator freed with traffic in flight?)",
                     missing, from, drain_timeout);
            rc = -1;
            break;
        }
    }
    /* every message sent to us has arrived; our own sends complete once the
     * receivers have taken them (they are draining too), and a matched
     * receive once its sender, also draining, moves the data */
    last = now_mono();
    for (; rc == 0;) {
        int active = 0;
        for (uint32_t i = 0; i < tr_hiwater; i++) {
            tern_req *q = tr_at(i);
            if (q && q->state == TRS_ACTIVE &&
                (q->kind == TR_SEND || q->kind == TR_PSEND || q->kind == TR_MRECV))
                active = 1;
        }
        if (!active) break;
        progress_app_reqs();
        if (now_mono() - last > drain_timeout) {
            snprintf(why, whylen, "drain: a send or matched receive did not complete within %.0f s", drain_timeout);
            rc = -1;
        }
    }
    /* nonblocking collectives: every member started them (signatures equal) */
    for (uint32_t i = 0; rc == 0 && i < tr_hiwater; i++) {
        tern_req *q = tr_at(i);
        if (q && q->state == TRS_ACTIVE && q->kind == TR_NBC) {
            MPI_Status st;
            PMPI_Wait(&q->real, &st);
            q->st = st;
            q->state = TRS_DONE;
        }
    }
    return rc;
}

/* ---- DUMP ------------------------------------------------------------------ */
static int region_cmp(const void *a, const void *b)
{
    return strcmp((*(region *const *)a)->name, (*(region *const *)b)->name);
}

static int fail_fill(void *ctx, uint64_t off, void *dst, size_t n, tern_error *err)
{
    (void)ctx; (void)off; (void)dst; (void)n;
    return tern_error_set(err, EIO, "injected write failure (TERN_TEST_FAIL)");
}

/* Build the descriptors of pending requests. Returns 0, or -1 with why. */
static int describe_requests(buf *b, buf *bt, uint64_t *n, char *why, size_t len)
{
    *n = 0;
    for (uint32_t i = 0; i < tr_hiwater; i++) {
        tern_req *q = tr_at(i);
        if (!q || q->state == TRS_FREE) continue;
        req_rec r;
        memset(&r, 0, sizeof r);
        r.idx = q->idx;
        r.kind = q->kind;
        r.state = q->state;
        r.variant = q->variant;
        r.comm = q->comm ? q->comm->ordinal : 0;
        r.count = q->count;
        r.peer = q->peer;
        r.tag = q->tag;
        r.st = q->st;
        r.dtype = -1;
        int persistent = q->kind == TR_PSEND || q->kind == TR_PRECV;
        if (q->kind == TR_GREQ && q->state == TRS_ACTIVE) {
            snprintf(why, len, "a generalized request (MPI_Grequest_start) is pending at tern_snapshot()");
            return -1;
        }
        int recv = q->kind == TR_RECV || q->kind == TR_PRECV || q->kind == TR_MRECV;
        int needbuf = persistent || (recv && q->state == TRS_ACTIVE) ||
                      (recv && q->state == TRS_DONE && q->st.MPI_SOURCE != MPI_PROC_NULL);
        if (needbuf && q->count > 0) {
            MPI_Aint lb, ext;
            PMPI_Type_get_extent(q->dt, &lb, &ext);
            uint64_t off;
            region *rg = locate(q->buf, (size_t)ext * (size_t)q->count, &off);
            if (!rg) {
                if (persistent) continue;   /* not restorable: the application re-creates it */
                snprintf(why, len,
                         "a receive (%s from %d tag %d) pending at tern_snapshot() has its buffer %p "
                         "outside every protected region: protect the buffer or complete the "
                         "request before the snapshot",
                         q->kind == TR_MRECV ? "MPI_Imrecv" : "MPI_Irecv", q->peer, q->tag, q->buf);
                return -1;
            }
            r.has_buf = 1;
            r.offset = off;
            snprintf(r.region, sizeof r.region, "%s", rg->name);
        }
        if ((q->state == TRS_ACTIVE || persistent) && (recv || persistent)) {
            r.dtype = predef_index(q->dt);
            if (r.dtype < 0) {
                r.dtype = -2;
                r.toff = bt->n;
                if (type_ser(q->dt, bt, why, len)) {
                    if (persistent && q->state != TRS_ACTIVE) {
                        bt->n = r.toff;
                        continue;
                    }
                    return -1;
                }
                r.tlen = bt->n - r.toff;
            }
        }
        if (q->kind == TR_MRECV && q->state == TRS_ACTIVE) {
            snprintf(why, len, "an MPI_Imrecv is pending at tern_snapshot()");
            return -1;
        }
        bput(b, &r, sizeof r);
        (*n)++;
    }
    return 0;
}

static void describe_messages(buf *b, uint64_t *n)
{
    *n = 0;
    for (uint32_t o = 0; o < tc_count; o++) {
        tern_comm *c = tc_by_ordinal(o);
        if (!c || c->freed) continue;
        for (tern_msg *m = c->qhead; m; m = m->next) {
            msg_rec r = { c->ordinal, m->src, m->tag, 0, m->len };
            bput(b, &r, sizeof r);
            bput(b, m->data, m->len);
            (*n)++;
        }
    }
}

/* _tern_comms and _tern_comm_members (coord/comm_log.c) */
static void describe_comms(buf *b, uint64_t *n, buf *members)
{
    comm_rec *r = NULL;
    void *log = NULL;
    size_t loglen = 0;
    comm_log_describe(&r, n, &log, &loglen);
    bput(b, r, sizeof *r * (size_t)*n);
    bput(members, log, loglen);
    free(r);
    free(log);
}

static uint64_t regions_hash(void)
{
    static uint64_t cached, cached_gen;
    if (cached_gen == regions_gen) return cached;
    int n = 0;
    for (region *r = regions; r; r = r->next) n++;
    region **v = malloc(sizeof(region *) * (size_t)(n + 1));
    n = 0;
    for (region *r = regions; r; r = r->next) v[n++] = r;
    qsort(v, (size_t)n, sizeof *v, region_cmp);
    uint64_t h = 1469598103934665603ULL;
    for (int i = 0; i < n; i++) {
        for (const char *p = v[i]->name; *p; p++) h = (h ^ (unsigned char)*p) * 1099511628211ULL;
        h = (h ^ v[i]->elem) * 1099511628211ULL;
        h = (h ^ 0xff) * 1099511628211ULL;
    }
    free(v);
    cached = h;
    cached_gen = regions_gen;
    return h;
}

/* Move the failure text of rank src to rank 0 (ctrl, tag). */
static void reason_to_root(int src, char *text, size_t len, int tag)
{
    if (src == 0) return;
    if (tern_world_rank == src) PMPI_Send(text, (int)len, MPI_CHAR, 0, tag, ctrl);
    if (tern_world_rank == 0) PMPI_Recv(text, (int)len, MPI_CHAR, src, tag, ctrl, MPI_STATUS_IGNORE);
}

/* No application request of this rank is active (so neither the drain nor
 * anything but the application can change what describe_requests() sees). */
static int locally_quiet(void)
{
    for (uint32_t i = 0; i < tr_hiwater; i++) {
        tern_req *q = tr_at(i);
        if (q && q->state == TRS_ACTIVE) return 0;
    }
    return 1;
}

/* The whole checkpoint. Returns 1 committed, negative failed, 0 quiesced
 * without writing (TERN_QUIESCE_ONLY).
 * Coordination (docs/protocol.md, EXCHANGE .. QUIESCENT) is ONE collective:
 * the exchange on ctrl (counters, collective signature, refusal flags, the
 * region hash and, on a rank with no active request, the outcome of
 * DESCRIBE). Every rank reads the same result, so all take the same branch:
 * refuse, or drain what the exchange says is owed to it (nothing, on the
 * FAST PATH) and go on to the store. A rank that has to describe its
 * requests after the drain, and finds it cannot save one, fails the attempt
 * through the store's first collective (opts.refuse): no second round trip. */
static int checkpoint(uint64_t *epoch_out, double t0, char *why, size_t whylen, tern_ckpt_stats *stats)
{
    int W = tern_world_size, me = tern_world_rank;
    double t_enter = now_mono();
    char reason[1024];
    int unsafe = tern_unsafe_reason(reason, sizeof reason);
    uint64_t h = regions_hash();

    /* DESCRIBE ahead of the exchange on a rank with no active request: the
     * drain cannot change its requests, so the result stands after it. */
    buf breq = { 0 }, bmsg = { 0 }, bcomm = { 0 }, bmemb = { 0 };
    buf btypes = { 0 };
    uint64_t nreq = 0, nmsg, ncomm;
    char dwhy[1024];
    dwhy[0] = 0;
    int quiet = locally_quiet(), described = 0, dbad = 0;
    double td0 = now_mono(), tdesc = 0;
    if (quiet && !unsafe) {
        dbad = describe_requests(&breq, &btypes, &nreq, dwhy, sizeof dwhy) != 0;
        described = 1;
        tdesc = now_mono() - td0;
    }

    uint64_t *xv = xs_vec, *sent_to = xs_sent;
    int64_t bal = 0;
    for (int w = 0; w < W; w++) {
        sent_to[w] = tern_wsent[w];
        bal += (int64_t)(tern_wsent[w] - tern_wrecvd[w]);
    }
    xv[XS_UNSAFE] = unsafe ? (uint64_t)(W - me) : 0;
    xv[XS_DBAD] = dbad ? (uint64_t)(W - me) : 0;
    xv[XS_HASH] = h;
    xv[XS_NHASH] = ~h;
    xv[XS_EPOCH] = me == 0 ? root_epoch() : 0;   /* rank 0 chooses the epoch */
    xv[XS_BAL] = (uint64_t)bal;
    xv[XS_SIG] = tc_signature();
    xv[XS_NONQUIET] = !quiet;
    xv[XS_INFLIGHT] = described && (nreq > 0 || tq_total > 0);
    if (xs_matrix) memcpy(xv + XS_N + (size_t)me * (size_t)W, sent_to, sizeof(uint64_t) * (size_t)W);
    PMPI_Allreduce(xv, xs_res, xs_len, MPI_UINT64_T, xchg_op, ctrl);
    const uint64_t *g = xs_res;
    uint64_t epoch = g[XS_EPOCH];
    int first_unsafe = g[XS_UNSAFE] ? W - (int)g[XS_UNSAFE] : -1;
    int first_dbad = g[XS_DBAD] ? W - (int)g[XS_DBAD] : -1;
    int mismatch = g[XS_SIG] != 0;
    /* FAST PATH: nothing posted that was not completed, no request active
     * anywhere: the drain would do nothing, and DESCRIBE ran on every rank */
    int fast = g[XS_BAL] == 0 && g[XS_NONQUIET] == 0;
    uint64_t g_hmax = g[XS_HASH], g_hmin = ~g[XS_NHASH];
    uint64_t g_inflight = g[XS_INFLIGHT] || g[XS_NONQUIET] || g[XS_BAL];
    double t1 = now_mono();
    *epoch_out = epoch;

    /* refusals every rank knows of from the exchange: nothing is drained */
    if (first_unsafe >= 0 || mismatch || first_dbad >= 0) {
        free(breq.p); free(btypes.p);
        if (first_unsafe >= 0) {
            if (unsafe) say("checkpoint epoch %" PRIu64 " refused: %s", epoch, reason);
            reason_to_root(first_unsafe, reason, sizeof reason, 77);
            snprintf(why, whylen, "refused on rank %d: %s", first_unsafe, reason);
        } else if (mismatch) {   /* slow path: find and name the communicator */
            char cwhy[1024] = "";
            int cbad = check_collectives(cwhy, sizeof cwhy);
            int src = W - agree_max(cbad ? W - me : 0);
            if (cbad) say("checkpoint epoch %" PRIu64 " refused: %s", epoch, cwhy);
            if (src < W) reason_to_root(src, cwhy, sizeof cwhy, 78);
            else snprintf(cwhy, sizeof cwhy, "collective sequence numbers differ between ranks");
            snprintf(why, whylen, "refused on rank %d: %s", src < W ? src : 0, cwhy);
        } else {
            if (dbad) say("checkpoint epoch %" PRIu64 " refused: %s", epoch, dwhy);
            reason_to_root(first_dbad, dwhy, sizeof dwhy, 79);
            snprintf(why, whylen, "refused on rank %d: %s", first_dbad, dwhy);
        }
        return -1;
    }

    char rwhy[1024];
    rwhy[0] = 0;
    int bad = 0;
    double t2 = t1;
    if (!fast) {
        uint64_t *expect = xs_expect;
        if (g[XS_BAL] == 0) {
            memcpy(expect, tern_wrecvd, sizeof(uint64_t) * (size_t)W);   /* nothing owed */
        } else if (xs_matrix) {
            for (int w = 0; w < W; w++) expect[w] = g[XS_N + (size_t)w * (size_t)W + (size_t)me];
        } else {
            /* large jobs, messages in flight: what each rank posted to each */
            PMPI_Alltoall(sent_to, 1, MPI_UINT64_T, expect, 1, MPI_UINT64_T, ctrl);
        }
        bad = drain(expect, rwhy, sizeof rwhy) != 0;
        t2 = now_mono();
        /* descriptors (may refuse: unrestorable pending receives) */
        if (!bad && !described) bad = describe_requests(&breq, &btypes, &nreq, rwhy, sizeof rwhy) != 0;
    }
    double t3 = now_mono();
    last_quiesce = t3 - t0;
    phase[0] = t1 - t0 - tdesc; phase[1] = t2 - t1; phase[2] = t3 - t2 + tdesc; phase[3] = 0;
    last_fast = fast;
    if (stats_on) {
        /* benchmark only, outside the measured window: from the moment the
         * last rank entered to the moment the last one is quiescent (one
         * node: CLOCK_MONOTONIC is common to the ranks) */
        double d[2] = { t_enter, t3 }, r[2];
        PMPI_Allreduce(d, r, 2, MPI_DOUBLE, MPI_MAX, ctrl);
        proto_min = r[1] - r[0];
        proto_max = r[1] - t0;
    }
    if (cfg_quiesce_only) {
        /* coordination only (bench/coord_quiesce.sh): a refusal found after
         * the exchange is the only thing left to report; drained messages
         * stay queued and are delivered as after a checkpoint */
        free(breq.p); free(btypes.p);
        int src = W - agree_max(bad ? W - me : 0);
        if (src < W) {
            if (bad) say("checkpoint epoch %" PRIu64 " refused: %s", epoch, rwhy);
            reason_to_root(src, rwhy, sizeof rwhy, 80);
            snprintf(why, whylen, "refused on rank %d: %s", src, rwhy);
            return -1;
        }
        return 0;
    }
    char refusal[TERN_ERROR_MAX];
    refusal[0] = 0;
    if (bad) {
        say("checkpoint epoch %" PRIu64 " refused: %s", epoch, rwhy);
        snprintf(refusal, sizeof refusal, "refused on rank %d: %s", me, rwhy);
    }
    describe_messages(&bmsg, &nmsg);
    describe_comms(&bcomm, &ncomm, &bmemb);

    /* global arrays when every rank protects the same names and types */
    uint64_t hmax = g_hmax, hmin = g_hmin, ginflight = g_inflight;
    meta m;
    memset(&m, 0, sizeof m);
    m.magic = META_MAGIC;
    m.version = PROTO_VERSION;
    m.nranks = (uint32_t)tern_world_size;
    m.rank = (uint32_t)tern_world_rank;
    m.arrays = hmin == hmax;
    m.epoch = epoch;
    m.snap_count = snap_count;
    m.global_inflight = ginflight;
    m.nmsgs = nmsg;
    m.nreqs = nreq;
    m.ncomms = ncomm;
    m.quiesce_seconds = last_quiesce;

    if (tern_world_rank == 0) mkdir_p(cfg_dir);
    PMPI_Barrier(ctrl);

    tern_store_opts opts;
    tern_store_opts_default(&opts);
    opts.job = cfg_job;
    opts.compress_level = cfg_compress;
    opts.keep = cfg_keep;
    opts.refuse = bad ? refusal : NULL;
    tern_error err;
    tern_error_clear(&err);
    tern_ckpt_writer *w = NULL;
    int rc = 0;
    tern_internal = 1;
    if (tern_ckpt_begin(ctrl, cfg_dir, epoch, &opts, &w, &err)) {
        tern_internal = 0;
        snprintf(why, whylen, "%s", err.msg);
        free(breq.p); free(btypes.p); free(bmsg.p); free(bcomm.p); free(bmemb.p);
        return -1;
    }
    char pv[32];
    snprintf(pv, sizeof pv, "%d", PROTO_VERSION);
    tern_ckpt_set_attr(w, "tern_protocol", pv, NULL);
    tern_ckpt_set_attr(w, "tern_mode", "api", NULL);
    int local_bad = 0;
    uintptr_t phs[NPREHANDLES];
    int nph = prehandles(phs);
    m.nhandles = (uint32_t)nph;
    if (tern_ckpt_put(w, "_tern_meta", &m, sizeof m, &err) ||
        tern_ckpt_put(w, "_tern_reqs", breq.p, breq.n, &err) ||
        tern_ckpt_put(w, "_tern_msgs", bmsg.p, bmsg.n, &err) ||
        tern_ckpt_put(w, "_tern_comms", bcomm.p, bcomm.n, &err) ||
        tern_ckpt_put(w, COMM_LOG_SEGMENT, bmemb.p, bmemb.n, &err) ||
        tern_ckpt_put(w, "_tern_handles", phs, sizeof(uintptr_t) * (size_t)nph, &err) ||
        tern_ckpt_put(w, "_tern_types", btypes.p, btypes.n, &err))
        local_bad = 1;
    int nreg = 0;
    for (region *r = regions; r; r = r->next) nreg++;
    region **v = malloc(sizeof(region *) * (size_t)(nreg + 1));
    nreg = 0;
    for (region *r = regions; r; r = r->next) v[nreg++] = r;
    qsort(v, (size_t)nreg, sizeof *v, region_cmp);
    for (int i = 0; i < nreg; i++) {
        int e;
        if (m.arrays)   /* collective per name: called even after a local error */
            e = tern_ckpt_put_array(w, v[i]->name, v[i]->elem, (uint64_t)v[i]->count, v[i]->ptr,
                                    local_bad ? NULL : &err);
        else
            e = local_bad ? 0 : tern_ckpt_put(w, v[i]->name, v[i]->ptr, v[i]->bytes, &err);
        if (e && !local_bad) local_bad = 1;
    }
    free(v);
    if (fail_rank == tern_world_rank && (uint64_t)fail_epoch == epoch) {
        if (!strcmp(fail_what, "die")) {
            fprintf(stderr, "tern: rank %d: TERN_TEST_FAIL: dying during checkpoint %" PRIu64 "\n",
                    tern_world_rank, epoch);
            _exit(9);
        }
        if (!strcmp(fail_what, "write") && !local_bad)
            tern_ckpt_put_fn(w, "_tern_fail", 4096, fail_fill, NULL, &err);
    }
    if (local_bad) say("checkpoint epoch %" PRIu64 ": %s", epoch, err.msg);
    if (tern_ckpt_commit(w, stats, &err)) {
        snprintf(why, whylen, "%s", err.msg);
        rc = -1;
    } else {
        rc = 1;
    }
    tern_internal = 0;
    free(breq.p); free(btypes.p);
    free(bmsg.p);
    free(bcomm.p);
    free(bmemb.p);
    last_total = now_mono() - t0;
    return rc;
}

/* ---- AGREE and tern_snapshot ---------------------------------------------- */
static unsigned local_triggers(void)
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
    if (cfg_interval > 0 && now_mono() >= next_interval_due) {
        next_interval_due = now_mono() + cfg_interval;
        f |= TRIG_CKPT;
    }
    if (tern_world_rank == 0 && !spawned) {
        scan_requests();
        f |= file_flags;
    }
    return f;
}

/* Rank 0: the epoch of the next attempt, above every committed one (the
 * directory is listed once, for checkpoints of earlier runs). */
static int listed;
static uint64_t root_epoch(void)
{
    if (!listed) {
        uint64_t *eps = NULL;
        int n = 0;
        tern_error err;
        tern_internal = 1;
        if (tern_store_list(cfg_dir, &eps, &n, &err) == 0 && n > 0 && eps[n - 1] + 1 > next_epoch)
            next_epoch = eps[n - 1] + 1;
        tern_internal = 0;
        free(eps);
        listed = 1;
    }
    return next_epoch;
}

static void stats_line(const char *what)
{
    const char *p = getenv("TERN_STATS");
    if (!p || !*p || tern_world_rank != 0) return;
    FILE *f = fopen(p, "a");
    if (!f) return;
    fprintf(f, "%s nranks=%d proto_min=%.9f proto_max=%.9f quiesce=%.9f total=%.9f exchange=%.9f drain=%.9f describe=%.9f allreduce=%.9f fast=%d\n", what,
            tern_world_size, proto_min, proto_max, last_quiesce, last_total, phase[0], phase[1], phase[2], phase[3], last_fast);
    fclose(f);
}

static int serve(unsigned bits, double t0)
{
    uint64_t epoch = next_epoch;
    char why[2048] = "";
    tern_ckpt_stats st;
    memset(&st, 0, sizeof st);
    int rc = checkpoint(&epoch, t0, why, sizeof why, &st);
    next_epoch = epoch + 1;
    if (cfg_interval > 0) next_interval_due = now_mono() + cfg_interval;
    int stop = 0;
    if (rc == 0) {   /* TERN_QUIESCE_ONLY */
        event("quiesced epoch=%" PRIu64 " quiesce=%.6f (TERN_QUIESCE_ONLY: nothing written)", epoch, last_quiesce);
        stats_line("quiesced");
        for (pend_req *r = pend_served; r; r = r->next) answer(r, "failed: TERN_QUIESCE_ONLY is set: the job quiesced and wrote nothing");
    } else if (rc == 1) {
        event("committed epoch=%" PRIu64 " bytes=%" PRIu64 " stored=%" PRIu64
              " seconds=%.6f quiesce=%.6f path=%s",
              st.epoch, st.logical_bytes, st.stored_bytes, st.seconds, last_quiesce, st.path);
        stats_line("committed");
        char text[4300];
        snprintf(text, sizeof text, "committed %" PRIu64 " %s", st.epoch, st.path);
        for (pend_req *r = pend_served; r; r = r->next) answer(r, text);
        stop = (bits & TRIG_STOP) != 0;
    } else {
        for (char *p = why; *p; p++)
            if (*p == '\n') *p = ' ';
        if (tern_world_rank == 0) say("checkpoint epoch %" PRIu64 " failed: %s", epoch, why);
        event("failed epoch=%" PRIu64 " reason=%s", epoch, why);
        char text[2300];
        snprintf(text, sizeof text, "failed: %s", why);
        for (pend_req *r = pend_served; r; r = r->next) answer(r, text);
    }
    while (pend_served) {
        pend_req *r = pend_served;
        pend_served = r->next;
        free(r);
    }
    if (stop) {
        event("stopped epoch=%" PRIu64, epoch);
        MPI_Finalize();
        exit(0);
    }
    return rc == 1 ? 1 : rc == 0 ? 0 : -1;
}

int tern_snapshot(void)
{
    if (!tern_initialized || tern_finalized) return 0;
    snap_count++;
    unsigned decided = 0;
    double t0 = 0;
    if (agree_pending) {
        PMPI_Wait(&agree_req, MPI_STATUS_IGNORE);
        t0 = now_mono();   /* the decision is known here (coordination starts) */
        decided = agree_recv;
        agree_pending = 0;
        /* the request files whose bits rode on that agreement */
        pend_served = pend_riding;
        pend_riding = NULL;
    }
    unsigned f = local_triggers();
    if (decided & TRIG_CKPT) {
        /* signals, API calls and intervals seen since the agreement started
         * are served by this checkpoint; request files get their own answer */
        if (!file_flags) f = 0;
    }
    if (tern_world_rank == 0 && file_flags) {
        pend_req **tail = &pend_riding;
        while (*tail) tail = &(*tail)->next;
        *tail = pend_next;
        pend_next = NULL;
        file_flags = 0;
    }
    agree_send = f;
    PMPI_Iallreduce(&agree_send, &agree_recv, 1, MPI_UNSIGNED, MPI_BOR, ctrl, &agree_req);
    agree_pending = 1;
    if (decided & TRIG_CKPT) return serve(decided, t0);
    return 0;
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

int tern_restarted(void) { return restarted_flag; }
uint64_t tern_epoch(void) { return restored_epoch; }

/* ---- restart ---------------------------------------------------------------- */
static int rst_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int rst_fail(const char *fmt, ...)
{
    char b[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(b, sizeof b, fmt, ap);
    va_end(ap);
    say("restart from %s: %s", cfg_restart, b);
    return -1;
}

static void restart_open(void)
{
    tern_error err;
    tern_error_clear(&err);
    tern_internal = 1;
    int rc = tern_ckpt_open(cfg_restart, &rst, &err);
    if (rc == 0) {
        const tern_ckpt_info *info = tern_ckpt_get_info(rst);
        int src = (int)info->nranks == tern_world_size ? tern_world_rank : 0;
        rc = tern_ckpt_read(rst, src, "_tern_meta", &rst_meta, sizeof rst_meta, &err);
        if (rc == 0 && rst_meta.magic != META_MAGIC) {
            tern_error_set(&err, EINVAL, "not an API-mode tern checkpoint (no _tern_meta)");
            rc = -1;
        }
        if (rc == 0 && rst_meta.version > PROTO_VERSION) {
            tern_error_set(&err, EINVAL, "protocol version %u is newer than this tern reads (%d); use a newer tern",
                           rst_meta.version, PROTO_VERSION);
            rc = -1;
        }
        if (rc == 0 && (int)info->nranks != tern_world_size && rst_meta.global_inflight) {
            tern_error_set(&err, EINVAL,
                           "the checkpoint of %d ranks has in-flight messages or pending "
                           "requests; only a quiescent checkpoint can restart on %d ranks",
                           info->nranks, tern_world_size);
            rc = -1;
        }
    }
    tern_internal = 0;
    int ok = rc == 0, all = 0;
    PMPI_Allreduce(&ok, &all, 1, MPI_INT, MPI_MIN, ctrl);
    if (!all) {
        if (!ok) say("cannot restart from %s: %s", cfg_restart, err.msg);
        PMPI_Abort(MPI_COMM_WORLD, 17);
    }
    restored_epoch = rst_meta.epoch;
    next_epoch = restored_epoch + 1;
    restarted_flag = 1;
    /* keep the request slots of saved requests for tern_recover() */
    if ((int)rst_meta.nranks == tern_world_size && rst_meta.nreqs) {
        size_t n = rst_meta.nreqs * sizeof(req_rec);
        req_rec *r = malloc(n);
        tern_internal = 1;
        if (tern_ckpt_read(rst, tern_world_rank, "_tern_reqs", r, n, &err) == 0)
            for (uint64_t i = 0; i < rst_meta.nreqs; i++) tr_reserve(r[i].idx);
        tern_internal = 0;
        free(r);
    }
}

int tern_array_layout(const char *name, int64_t *global_count, int *saved_nranks)
{
    if (!rst) {
        say("tern_array_layout(%s): this run did not restart", name ? name : "");
        return -1;
    }
    size_t es;
    uint64_t total, *counts = NULL;
    tern_error err;
    tern_internal = 1;
    int rc = tern_ckpt_array_info(rst, name, &es, &total, &counts, &err);
    tern_internal = 0;
    if (rc) {
        say("tern_array_layout(%s): %s", name, err.msg);
        return -1;
    }
    free(counts);
    if (global_count) *global_count = (int64_t)total;
    if (saved_nranks) *saved_nranks = (int)rst_meta.nranks;
    return 0;
}

static int recover_regions(void)
{
    int same = (int)rst_meta.nranks == tern_world_size;
    tern_error err;
    int nreg = 0;
    for (region *r = regions; r; r = r->next) nreg++;
    int64_t *counts = calloc((size_t)nreg + 1, sizeof(int64_t));
    int64_t *offs = malloc(sizeof(int64_t) * (size_t)(nreg + 1));
    int i = 0;
    for (region *r = regions; r; r = r->next) counts[i++] = r->count;
    /* offsets on another rank count: the sum of lower ranks' counts */
    PMPI_Exscan(counts, offs, nreg, MPI_INT64_T, MPI_SUM, ctrl);
    if (tern_world_rank == 0)
        for (i = 0; i < nreg; i++) offs[i] = 0;
    int rc = 0;
    i = 0;
    for (region *r = regions; r && !rc; r = r->next, i++) {
        tern_internal = 1;
        if (rst_meta.arrays) {
            size_t es;
            uint64_t total, *rc_counts = NULL;
            if (tern_ckpt_array_info(rst, r->name, &es, &total, &rc_counts, &err)) {
                rc = rst_fail("region %s: %s", r->name, err.msg);
            } else if (es != r->elem) {
                rc = rst_fail("region %s: saved element size %zu, protected now with %zu", r->name, es, r->elem);
            } else {
                uint64_t off = (uint64_t)offs[i];
                if (same) {
                    off = 0;
                    for (int k = 0; k < tern_world_rank; k++) off += rc_counts[k];
                    if (rc_counts[tern_world_rank] != (uint64_t)r->count)
                        rc = rst_fail("region %s: saved %" PRIu64 " elements on this rank, protected now %" PRId64,
                                      r->name, rc_counts[tern_world_rank], r->count);
                }
                if (!same && off + (uint64_t)r->count > total) {
                    /* a value every rank holds (e.g. an iteration counter):
                     * every saved rank had exactly this count -> read rank 0's */
                    int repl = 1;
                    for (uint32_t k = 0; k < rst_meta.nranks; k++)
                        if (rc_counts[k] != (uint64_t)r->count) repl = 0;
                    if (repl) off = 0;
                }
                if (!rc && off + (uint64_t)r->count > total)
                    rc = rst_fail("region %s: elements [%" PRIu64 ", %" PRIu64 ") asked, %" PRIu64 " saved",
                                  r->name, off, off + (uint64_t)r->count, total);
                if (!rc && r->count > 0 &&
                    tern_ckpt_read_array(rst, r->name, off, (uint64_t)r->count, r->ptr, &err))
                    rc = rst_fail("region %s: %s", r->name, err.msg);
            }
            free(rc_counts);
        } else {
            if (!same)
                rc = rst_fail("region %s was saved per rank (ranks protected different regions); "
                              "it cannot be read on %d ranks (saved with %u)",
                              r->name, tern_world_size, rst_meta.nranks);
            else if (tern_ckpt_read(rst, tern_world_rank, r->name, r->ptr, r->bytes, &err))
                rc = rst_fail("region %s: %s", r->name, err.msg);
        }
        tern_internal = 0;
    }
    free(counts);
    free(offs);
    return rc;
}

/* `ok`: the earlier steps of tern_recover() succeeded on this rank. Called
 * on every rank even when they did not: rebuilding communicators is
 * collective. */
static int recover_protocol_state(int ok)
{
    tern_error err;
    int rc = ok ? 0 : -1;
    if ((int)rst_meta.nranks != tern_world_size) return rc;
    size_t nc = rst_meta.ncomms * sizeof(comm_rec);
    comm_rec *cr = malloc(nc + 1);
    tern_internal = 1;
    if (!rc && tern_ckpt_read(rst, tern_world_rank, "_tern_comms", cr, nc, &err)) rc = rst_fail("%s", err.msg);
    tern_segment_info *segs = NULL;
    int nsegs = 0, has_log = 0;
    uint64_t msize = 0, tsize = 0, lsize = 0;
    if (!rc && tern_ckpt_segments(rst, tern_world_rank, &segs, &nsegs, &err) == 0) {
        for (int i = 0; i < nsegs; i++) {
            if (!strcmp(segs[i].name, "_tern_msgs")) msize = segs[i].size;
            if (!strcmp(segs[i].name, "_tern_types")) tsize = segs[i].size;
            if (!strcmp(segs[i].name, COMM_LOG_SEGMENT)) {
                lsize = segs[i].size;
                has_log = 1;
            }
        }
        free(segs);
    }
    unsigned char *tb = malloc(tsize + 1);
    if (!rc && tsize && tern_ckpt_read(rst, tern_world_rank, "_tern_types", tb, tsize, &err)) rc = rst_fail("%s", err.msg);
    unsigned char *mb = malloc(msize + 1);
    if (!rc && msize && tern_ckpt_read(rst, tern_world_rank, "_tern_msgs", mb, msize, &err)) rc = rst_fail("%s", err.msg);
    size_t nr = rst_meta.nreqs * sizeof(req_rec);
    req_rec *rr = malloc(nr + 1);
    if (!rc && nr && tern_ckpt_read(rst, tern_world_rank, "_tern_reqs", rr, nr, &err)) rc = rst_fail("%s", err.msg);
    unsigned char *lb = malloc(lsize + 1);
    if (!rc && rst_meta.version >= 2 && !has_log)
        rc = rst_fail("segment %s is missing from a protocol version %u checkpoint", COMM_LOG_SEGMENT, rst_meta.version);
    if (!rc && lsize && tern_ckpt_read(rst, tern_world_rank, COMM_LOG_SEGMENT, lb, lsize, &err)) rc = rst_fail("%s", err.msg);
    tern_internal = 0;

    /* before anything is matched to its communicator: the saved ones this
     * run has not made again are rebuilt at their saved ordinals */
    char why[1024];
    if (comm_log_rebuild(ctrl, cr, rc ? 0 : rst_meta.ncomms, has_log ? lb : NULL, lsize, !rc, why, sizeof why) &&
        !rc)
        rc = why[0] ? rst_fail("%s", why) : -1;

    /* communicators referenced by the saved state: made again identically,
     * or rebuilt */
#define CHECK_COMM(ord, what)                                                                  \
    ({                                                                                          \
        tern_comm *c_ = tc_by_ordinal(ord);                                                     \
        comm_rec *s_ = NULL;                                                                    \
        char d_[1024];                                                                          \
        for (uint64_t k_ = 0; k_ < rst_meta.ncomms; k_++)                                       \
            if (cr[k_].ordinal == (ord)) s_ = &cr[k_];                                          \
        if (comm_log_check(s_, c_, d_, sizeof d_)) {                                            \
            rc = rst_fail("%s refers to communicator #%u (%s), which %s", what, (unsigned)(ord),  \
                          s_ ? s_->ctor : "?", d_);                                             \
            c_ = NULL;                                                                          \
        }                                                                                       \
        c_;                                                                                     \
    })
    size_t pos = 0;
    for (uint64_t i = 0; !rc && i < rst_meta.nmsgs; i++) {
        msg_rec h;
        memcpy(&h, mb + pos, sizeof h);
        pos += sizeof h;
        tern_comm *c = CHECK_COMM(h.comm, "a drained message");
        if (!c) break;
        tern_msg *m = malloc(sizeof *m + h.len);
        m->src = h.src;
        m->tag = h.tag;
        m->len = h.len;
        memcpy(m->data, mb + pos, h.len);
        pos += h.len;
        tq_append(c, m);
    }
    for (uint64_t i = 0; !rc && i < rst_meta.nreqs; i++) {
        req_rec *r = &rr[i];
        tern_comm *c = CHECK_COMM(r->comm, "a pending request");
        if (!c) break;
        void *b = NULL;
        if (r->has_buf) {
            region *rg = find_region(r->region);
            if (!rg) {
                rc = rst_fail("a pending receive lives in region %s, which is not protected in this run", r->region);
                break;
            }
            b = (char *)rg->ptr + r->offset;
        }
        tern_req *q = tr_alloc_at(r->idx);
        q->kind = r->kind;
        q->variant = r->variant;
        q->comm = c;
        q->buf = b;
        q->count = r->count;
        q->peer = r->peer;
        q->tag = r->tag;
        q->dt = r->dtype >= 0 ? predef(r->dtype) : MPI_BYTE;
        if (r->dtype == -2) {
            const unsigned char *p = tb + r->toff;
            q->dt = r->toff + r->tlen <= tsize ? type_deser(&p, tb + r->toff + r->tlen) : MPI_DATATYPE_NULL;
            if (q->dt == MPI_DATATYPE_NULL) {
                rc = rst_fail("cannot rebuild the derived datatype of a pending receive");
                break;
            }
        }
        q->st = r->st;
        q->real = MPI_REQUEST_NULL;
        q->state = r->state;
        if (q->kind == TR_PSEND || q->kind == TR_PRECV) {
            if (q->kind == TR_PRECV)
                PMPI_Recv_init(b, q->count, q->dt, q->peer, q->tag, c->real, &q->real);
            else if (q->variant == 1)
                PMPI_Bsend_init(b, q->count, q->dt, q->peer, q->tag, c->real, &q->real);
            else if (q->variant == 2)
                PMPI_Ssend_init(b, q->count, q->dt, q->peer, q->tag, c->real, &q->real);
            else if (q->variant == 3)
                PMPI_Rsend_init(b, q->count, q->dt, q->peer, q->tag, c->real, &q->real);
            else
                PMPI_Send_init(b, q->count, q->dt, q->peer, q->tag, c->real, &q->real);
            if (q->state == TRS_ACTIVE) PMPI_Start(&q->real);
        } else if (q->state == TRS_ACTIVE && q->kind == TR_RECV) {
            PMPI_Irecv(b, q->count, q->dt, q->peer, q->tag, c->real, &q->real);
        }
    }
    comm_log_release();
    free(cr);
    free(mb);
    free(rr);
    free(tb);
    free(lb);
    return rc;
}

int tern_recover(void)
{
    if (!rst) {
        say("tern_recover: this run did not restart (TERN_RESTART is not set)");
        return -1;
    }
    if (recovered) {
        say("tern_recover: called twice");
        return -1;
    }
    int rc = recover_regions();
    if (!rc && rst_meta.nhandles > 0 && rst_meta.nhandles <= NPREHANDLES) {
        uintptr_t old[NPREHANDLES];
        tern_error err;
        int src = (int)rst_meta.nranks == tern_world_size ? tern_world_rank : 0;
        tern_internal = 1;
        int e = tern_ckpt_read(rst, src, "_tern_handles", old, sizeof(uintptr_t) * rst_meta.nhandles, &err);
        tern_internal = 0;
        if (e) rc = rst_fail("%s", err.msg);
        else fix_prehandles(old, (int)rst_meta.nhandles);
    }
    rc = recover_protocol_state(rc == 0);
    int ok = rc == 0, all = 0;
    PMPI_Allreduce(&ok, &all, 1, MPI_INT, MPI_MIN, ctrl);
    recovered = 1;
    return all ? 0 : -1;
}

/* ---- init / finalize -------------------------------------------------------- */
void tern_coord_init(void)
{
    tern_internal = 1;
    PMPI_Comm_dup(MPI_COMM_WORLD, &ctrl);
    PMPI_Comm_set_name(ctrl, "tern-control");
    tern_internal = 0;
    scratch_init();
    install_signal();
    if (test_raise) raise(cfg_signal);   /* during MPI_Init: must be ignored */
    MPI_Comm parent = MPI_COMM_NULL;
    PMPI_Comm_get_parent(&parent);
    if (parent != MPI_COMM_NULL) {
        /* a spawned child: not part of the job's protocol, writes no events */
        spawned = 1;
        tern_unsafe_mark("MPI_Comm_spawn (this process was spawned)", TERN_UNSAFE_DYN, 0);
    }
    if (cfg_interval > 0) next_interval_due = now_mono() + cfg_interval;
    if (cfg_restart) restart_open();
    /* triggers that arrived before MPI_Init returned are dropped */
    sig_flag = 0;
    if (restarted_flag)
        event("restarted epoch=%" PRIu64 " time=%.6f", restored_epoch, now_wall());
    else if (getenv("TERN_DIR"))
        event("started nranks=%d time=%.6f", tern_world_size, now_wall());
}

void tern_coord_finalize(void)
{
    /* the agreement started at the last snapshot point: every rank started it */
    if (agree_pending) {
        PMPI_Wait(&agree_req, MPI_STATUS_IGNORE);
        agree_pending = 0;
        if (agree_recv & TRIG_CKPT && tern_world_rank == 0)
            say("a checkpoint request arrived after the last snapshot point; ignored");
    }
    if (tern_world_rank == 0 && !spawned) {
        last_scan = -1e9;
        scan_requests();   /* answer what arrived since the last look too */
        if (snap_count == 0 && (sig_flag || api_flag || pend_next))
            say("a checkpoint was requested, but the application never called tern_snapshot(): "
                "API mode checkpoints only at snapshot points");
        const char *t = snap_count ? "failed: the job finished before a snapshot point"
                                   : "failed: the application has no snapshot points (it never called tern_snapshot())";
        for (pend_req *r = pend_served; r; r = r->next) answer(r, t);
        for (pend_req *r = pend_riding; r; r = r->next) answer(r, t);
        for (pend_req *r = pend_next; r; r = r->next) answer(r, t);
    }
    if (rst) {
        tern_internal = 1;
        tern_ckpt_close(rst);
        tern_internal = 0;
        rst = NULL;
    }
    tern_internal = 1;
    PMPI_Comm_free(&ctrl);
    tern_internal = 0;
}

