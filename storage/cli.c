/* tern ls | info | verify: read-only views of checkpoints (no MPI).
 * Human-readable by default, --json for scripts. Errors are one line
 * "tern VERB: WHERE: PROBLEM" on stderr and exit status 1; usage errors and
 * a path that does not exist 2 (docs/usage.md, "Exit status"). */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "tern_store.h"
#include "cli.h"
#include "layout.h"
#include "units.h"

typedef struct args {
    int json, help, all, topology;
    const char *path;
    const char *bad_arg;      /* the last unknown option or extra operand */
} args;

/* The options of ls, info and verify (each ignores those it has no use for). */
static const struct option long_opts[] = {
    {"json", no_argument, 0, 'j'}, {"all", no_argument, 0, 'a'},
    {"topology", no_argument, 0, 't'}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};

/* argv element s, on which getopt_long returned c (longindex li): an option
 * spelled out in full, the operand, or an unexpected argument. */
static void take(args *a, int c, int li, const char *s)
{
    int whole = li >= 0 ? !strcmp(s + 2, long_opts[li].name) : !strcmp(s, "-h");
    if (c == 1 && !a->path) {
        a->path = s;
    } else if (c == 1 || c == '?' || !whole) {
        a->bad_arg = s;
    } else if (c == 'j') {
        a->json = 1;
    } else if (c == 'a') {
        a->all = 1;
    } else if (c == 't') {
        a->topology = 1;
    } else {
        a->help = 1;
    }
}

/* Each argv element is one whole option or the operand; anything else is
 * an unexpected argument, reported as it was typed. getopt_long alone would
 * also take "--js" for --json, "-hx" for -h -x and "--" as the end of the
 * options; so every element is checked whole (take), elements are seen in
 * order ("-" in optstring), and after a "--" (unexpected too) the scan
 * starts afresh on the rest, with the "--" in argv[0]'s place. */
static args parse(int argc, char **argv)
{
    args a = {0};
    opterr = 0;                           /* the verb prints the one error line */
    tern_h5_quiet();                      /* ... and HDF5 nothing, not even at exit */
    for (int base = 0;;) {
        char **v = argv + base;
        int n = argc - base, c, li, at;
        optind = 0;                       /* glibc: a complete restart */
        while (at = optind ? optind : 1, li = -1,
               (c = getopt_long(n, v, "-h", long_opts, &li)) != -1)
            take(&a, c, li, v[at]);
        if (optind < 2 || strcmp(v[optind - 1], "--"))
            return a;
        a.bad_arg = v[optind - 1];
        base += optind - 1;
    }
}

/* --help, or a usage error: the exit status; -1 when the verb goes on. */
static int usage(const char *verb, const args *a, const char *synopsis, const char *help)
{
    if (a->help) {
        printf("usage: %s\n\n%s", synopsis, help);
        return 0;
    }
    if (a->bad_arg)
        return tern_cli_fail(verb, 2, "unexpected argument '%s' (usage: %s)", a->bad_arg,
                             synopsis);
    if (!a->path)
        return tern_cli_fail(verb, 2, "missing operand (usage: %s)", synopsis);
    return -1;
}

static void fmt_time(int64_t t, char *buf, size_t len)
{
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static double ratio(const tern_ckpt_info *in)
{
    return in->stored_bytes ? (double)in->logical_bytes / (double)in->stored_bytes : 0.0;
}

/* ---- ls ---------------------------------------------------------------- */

#define LS_USAGE "tern ls [--json] DIR"
#define LS_HELP                                                                       \
    "Lists the committed checkpoints in DIR, oldest first: epoch, job, ranks,\n"      \
    "logical and stored bytes, creation time (UTC) and file. Partial files of\n"      \
    "failed attempts are never listed.\n\n"                                           \
    "  --json   one JSON object: {\"dir\":..., \"checkpoints\":[{...}, ...]}\n"

int tern_verb_ls(int argc, char **argv)
{
    args a = parse(argc, argv);
    int ret = usage("ls", &a, LS_USAGE, LS_HELP);
    if (ret >= 0)
        return ret;
    struct stat st;
    if (stat(a.path, &st) != 0)
        return tern_cli_fail("ls", 2, "%s: no such directory", a.path);
    if (!S_ISDIR(st.st_mode))
        return tern_cli_fail("ls", 1, "%s: not a directory", a.path);
    tern_error err = {0};
    uint64_t *ep;
    int n;
    if (tern_store_list(a.path, &ep, &n, &err))
        return tern_cli_fail_err("ls", 1, &err);
    if (a.json) {
        printf("{\"dir\": ");
        tern_json_str(stdout, a.path);
        printf(", \"checkpoints\": [");
    } else if (n == 0) {
        printf("%s: no committed checkpoints\n", a.path);
    } else {
        printf("%-8s %-16s %6s %10s %10s %-20s %s\n", "EPOCH", "JOB", "RANKS", "LOGICAL",
               "STORED", "CREATED", "FILE");
    }
    int status = 0;
    for (int i = 0; i < n; i++) {
        tern_ckpt *c;
        char file[4096];
        tern_store_path(a.path, ep[i], file, sizeof file);
        if (tern_ckpt_open(file, &c, &err)) {
            /* keep listing the others; the unreadable one is reported */
            tern_cli_fail_err("ls", 1, &err);
            status = 1;
            continue;
        }
        const tern_ckpt_info *in = tern_ckpt_get_info(c);
        char when[32], lb[32], sb[32];
        fmt_time(in->created, when, sizeof when);
        if (a.json) {
            printf("%s{\"epoch\": %" PRIu64 ", \"file\": ", i ? ", " : "", in->epoch);
            tern_json_str(stdout, file);
            printf(", \"job\": ");
            tern_json_str(stdout, in->job);
            printf(", \"nranks\": %d, \"logical_bytes\": %" PRIu64 ", \"stored_bytes\": %" PRIu64
                   ", \"created\": %" PRId64 "}", in->nranks, in->logical_bytes,
                   in->stored_bytes, in->created);
        } else {
            tern_fmt_bytes((double)in->logical_bytes, lb, sizeof lb);
            tern_fmt_bytes((double)in->stored_bytes, sb, sizeof sb);
            printf("%-8" PRIu64 " %-16s %6d %10s %10s %-20s %s\n", in->epoch, in->job,
                   in->nranks, lb, sb, when, file);
        }
        tern_ckpt_close(c);
    }
    if (a.json)
        printf("]}\n");
    free(ep);
    return status;
}

/* ---- info -------------------------------------------------------------- */

#define INFO_USAGE "tern info [--json] [--topology] CKPT|DIR"
#define INFO_HELP                                                                     \
    "Describes a checkpoint file (or DIR's latest committed one): format and\n"       \
    "tern/MPI versions, job, epoch, ranks, nodes with their ranks, sizes, and\n"      \
    "the user's data (every global array: name, type, shape, size, compression)\n"  \
    "and every rank's segments with logical and stored sizes.\n\n"                    \
    "  --json       one JSON object with the same content (arrays in \"arrays\")\n"     \
    "  --topology   also print each node's hwloc topology (XML)\n"

/* The checkpoint and its nodes; the ranks follow in the array "ranks". */
static void info_json(const tern_ckpt_info *in, int topology)
{
    printf("{\"file\": ");
    tern_json_str(stdout, in->path);
    printf(", \"format_version\": %d, \"job\": ", in->format_version);
    tern_json_str(stdout, in->job);
    printf(", \"epoch\": %" PRIu64 ", \"nranks\": %d, \"created\": %" PRId64
           ", \"tern_version\": ", in->epoch, in->nranks, in->created);
    tern_json_str(stdout, in->tern_version);
    printf(", \"mpi_version\": ");
    tern_json_str(stdout, in->mpi_version);
    printf(", \"logical_bytes\": %" PRIu64 ", \"stored_bytes\": %" PRIu64 ", \"nodes\": [",
           in->logical_bytes, in->stored_bytes);
    for (int i = 0; i < in->nnodes; i++) {
        printf("%s{\"host\": ", i ? ", " : "");
        tern_json_str(stdout, in->nodes[i].host);
        printf(", \"ranks\": [");
        for (int j = 0; j < in->nodes[i].nranks; j++)
            printf("%s%d", j ? ", " : "", in->nodes[i].ranks[j]);
        printf("]");
        if (topology) {
            printf(", \"topology\": ");
            tern_json_str(stdout, in->nodes[i].topology_xml);
        }
        printf("}");
    }
    printf("], \"ranks\": [");
}

static void info_text(const tern_ckpt_info *in, int topology)
{
    char when[32], lb[32], sb[32];
    fmt_time(in->created, when, sizeof when);
    tern_fmt_bytes((double)in->logical_bytes, lb, sizeof lb);
    tern_fmt_bytes((double)in->stored_bytes, sb, sizeof sb);
    printf("checkpoint  %s\n", in->path);
    printf("format      %d\n", in->format_version);
    printf("job         %s\n", in->job);
    printf("epoch       %" PRIu64 "\n", in->epoch);
    printf("ranks       %d\n", in->nranks);
    printf("created     %s\n", when);
    printf("tern        %s\n", in->tern_version);
    printf("mpi         %s\n", in->mpi_version);
    printf("size        %s logical, %s stored (ratio %.2f)\n", lb, sb, ratio(in));
    for (int i = 0; i < in->nnodes; i++) {
        printf("node %-6d %s: ranks", i, in->nodes[i].host);
        for (int j = 0; j < in->nodes[i].nranks; j++)
            printf(" %d", in->nodes[i].ranks[j]);
        printf(" (topology %zu bytes of hwloc XML)\n", strlen(in->nodes[i].topology_xml));
        if (topology)
            printf("%s\n", in->nodes[i].topology_xml);
    }
}

/* Rank r's segments; an unreadable table is reported and makes it 1. */
static int info_rank(tern_ckpt *c, int r, int json)
{
    tern_segment_info *segs = NULL;
    int ns = 0;
    tern_error e = {0};
    int rc = tern_ckpt_segments(c, r, &segs, &ns, &e);
    if (rc)
        tern_cli_fail_err("info", 1, &e);
    if (json) {
        printf("%s{\"rank\": %d, \"ok\": %s, \"segments\": [", r ? ", " : "", r,
               rc ? "false" : "true");
        for (int i = 0; i < ns; i++) {
            printf("%s{\"name\": ", i ? ", " : "");
            tern_json_str(stdout, segs[i].name);
            printf(", \"size\": %" PRIu64 ", \"stored\": %" PRIu64 "}", segs[i].size,
                   segs[i].stored);
        }
        printf("]}");
    } else if (!rc) {
        printf("rank %d: %d segment%s\n", r, ns, ns == 1 ? "" : "s");
        for (int i = 0; i < ns; i++) {
            char lb[32], sb[32];
            tern_fmt_bytes((double)segs[i].size, lb, sizeof lb);
            tern_fmt_bytes((double)segs[i].stored, sb, sizeof sb);
            printf("  %-32s %10s logical %10s stored\n", segs[i].name, lb, sb);
        }
    }
    free(segs);
    return rc ? 1 : 0;
}

/* "3x4", or "12" for a 1-D array. */
static void fmt_shape(const tern_array_desc *d, char *buf, size_t len)
{
    size_t at = 0;
    buf[0] = '\0';
    for (int k = 0; k < d->ndims && at < len; k++)
        at += (size_t)snprintf(buf + at, len - at, "%s%" PRIu64, k ? "x" : "", d->dims[k]);
}

/* The application's data: every global array (the regions every rank
 * protected alike) with its type, shape and size. Arrays are stored raw,
 * never compressed (docs/format.md). 1 when they cannot be listed. */
static int info_arrays(tern_ckpt *c, int json)
{
    tern_array_entry *v = NULL;
    int n = 0;
    tern_error e = {0};
    int rc = tern_ckpt_arrays(c, &v, &n, &e);
    if (rc)
        tern_cli_fail_err("info", 1, &e);
    if (json)
        printf("], \"arrays\": [");
    else if (!rc)
        printf("arrays: %d (user data stored as HDF5 datasets /arrays/NAME)\n", n);
    for (int i = 0; i < n; i++) {
        char type[32], shape[200], sz[32];
        tern_elem_kind_name(v[i].desc.kind, v[i].elem_size, type, sizeof type);
        fmt_shape(&v[i].desc, shape, sizeof shape);
        uint64_t bytes = v[i].total * v[i].elem_size;
        if (json) {
            printf("%s{\"name\": ", i ? ", " : "");
            tern_json_str(stdout, v[i].name);
            printf(", \"type\": \"%s\", \"elem_size\": %zu, \"shape\": [", type,
                   v[i].elem_size);
            for (int k = 0; k < v[i].desc.ndims; k++)
                printf("%s%" PRIu64, k ? ", " : "", v[i].desc.dims[k]);
            printf("], \"elements\": %" PRIu64 ", \"size\": %" PRIu64
                   ", \"compression\": \"none\"}", v[i].total, bytes);
        } else {
            tern_fmt_bytes((double)bytes, sz, sizeof sz);
            printf("  %-32s %-10s %-16s %10s  compression none\n", v[i].name, type, shape, sz);
        }
    }
    free(v);
    return rc ? 1 : 0;
}

int tern_verb_info(int argc, char **argv)
{
    args a = parse(argc, argv);
    int ret = usage("info", &a, INFO_USAGE, INFO_HELP);
    if (ret >= 0)
        return ret;
    tern_error err = {0};
    tern_ckpt *c;
    struct stat pst;
    if (stat(a.path, &pst) && errno == ENOENT)
        return tern_cli_fail("info", 2, "%s: no such file or directory", a.path);
    if (tern_ckpt_open(a.path, &c, &err))
        return tern_cli_fail_err("info", 1, &err);
    const tern_ckpt_info *in = tern_ckpt_get_info(c);
    if (a.json)
        info_json(in, a.topology);
    else
        info_text(in, a.topology);
    int status = 0;
    /* the user's data first: that is what a reader of the file looks for */
    if (!a.json)
        status |= info_arrays(c, 0);
    for (int r = 0; r < in->nranks; r++)
        status |= info_rank(c, r, a.json);
    if (a.json) {
        status |= info_arrays(c, 1);
        printf("]}\n");
    }
    tern_ckpt_close(c);
    return status;
}

/* ---- verify ------------------------------------------------------------ */

#define VERIFY_USAGE "tern verify [--json] [--all] CKPT|DIR"

typedef struct vctx {
    int json, first;
} vctx;

static void vreport(void *ctx, int rank, int ok, const char *msg)
{
    vctx *v = ctx;
    if (v->json) {
        printf("%s{\"rank\": %d, \"ok\": %s, \"error\": ", v->first ? "" : ", ", rank,
               ok ? "true" : "false");
        tern_json_str(stdout, msg);
        printf("}");
        v->first = 0;
    } else if (rank < 0) {
        printf("  arrays: %s%s\n", ok ? "ok" : "FAILED: ", msg);
    } else {
        printf("  rank %d: %s%s\n", rank, ok ? "ok" : "FAILED: ", msg);
    }
}

static int verify_one(const char *path, int json, int *first_file)
{
    tern_error err = {0};
    tern_ckpt *c;
    if (json)
        printf("%s", *first_file ? "" : ", ");
    *first_file = 0;
    if (tern_ckpt_open(path, &c, &err)) {
        if (json) {
            printf("{\"file\": ");
            tern_json_str(stdout, path);
            printf(", \"ok\": false, \"error\": ");
            tern_json_str(stdout, err.msg);
            printf(", \"ranks\": []}");
        }
        return tern_cli_fail_err("verify", 1, &err);
    }
    const tern_ckpt_info *in = tern_ckpt_get_info(c);
    vctx v = {json, 1};
    if (json) {
        printf("{\"file\": ");
        tern_json_str(stdout, in->path);
        printf(", \"epoch\": %" PRIu64 ", \"nranks\": %d, \"ranks\": [", in->epoch, in->nranks);
    } else {
        printf("%s: epoch %" PRIu64 ", %d ranks\n", in->path, in->epoch, in->nranks);
    }
    int rc = tern_ckpt_verify(c, vreport, &v, &err);
    if (json) {
        printf("], \"ok\": %s, \"error\": ", rc ? "false" : "true");
        tern_json_str(stdout, rc ? err.msg : "");
        printf("}");
    } else {
        printf("%s: %s\n", in->path, rc ? "FAILED" : "OK");
    }
    tern_ckpt_close(c);
    if (rc)
        return tern_cli_fail_err("verify", 1, &err);
    return 0;
}

#define VERIFY_HELP                                                                   \
    "Reads every chunk of every rank's segments and global arrays, checks each\n"     \
    "CRC32 and each rank's segment table, and prints one result per rank.\n"          \
    "CKPT is a checkpoint file; DIR means its latest committed checkpoint\n"          \
    "(--all: every committed checkpoint in DIR).\n"                                   \
    "Exit status 0 only when everything checks out; 1 otherwise, with one line\n"     \
    "'tern verify: FILE: PROBLEM' on stderr; 2 for usage errors and a missing path.\n\n" \
    "  --json   one JSON object: {\"ok\":..., \"checkpoints\":[{\"file\",\"ranks\":[...]}]}\n"

int tern_verb_verify(int argc, char **argv)
{
    args a = parse(argc, argv);
    int ret = usage("verify", &a, VERIFY_USAGE, VERIFY_HELP);
    if (ret >= 0)
        return ret;
    struct stat st;
    int status = 0, first = 1;
    if (stat(a.path, &st) && errno == ENOENT)
        return tern_cli_fail("verify", 2, "%s: no such file or directory", a.path);
    if (a.json)
        printf("{\"checkpoints\": [");
    if (a.all && stat(a.path, &st) == 0 && S_ISDIR(st.st_mode)) {
        tern_error err = {0};
        uint64_t *ep;
        int n;
        if (tern_store_list(a.path, &ep, &n, &err)) {
            if (a.json)
                printf("], \"ok\": false}\n");
            return tern_cli_fail_err("verify", 1, &err);
        }
        if (n == 0) {
            free(ep);
            if (a.json)
                printf("], \"ok\": false}\n");
            return tern_cli_fail("verify", 1, "%s: no committed checkpoint", a.path);
        }
        for (int i = 0; i < n; i++) {
            char file[4096];
            tern_store_path(a.path, ep[i], file, sizeof file);
            status |= verify_one(file, a.json, &first);
        }
        free(ep);
    } else {
        status = verify_one(a.path, a.json, &first);
    }
    if (a.json)
        printf("], \"ok\": %s}\n", status ? "false" : "true");
    return status;
}
