#!/bin/bash
# fuzz.store: bounded libFuzzer campaigns on the checkpoint reader
# (store_fuzz.c) and the dumper's image reader (image_fuzz.c).
#   fuzz.sh SOURCE_DIR WORK_DIR RST_BLOB SMALL_CKPT TERN COUNTER THREADS STORE_TEST MPIEXEC...
# 1. seeds: small valid checkpoints written by the store itself (small_ckpt:
#    1, 2 and 3 ranks, API mode, serial), each behind the input's flag
#    byte; and the metadata of two real process images (`tern dump` of the
#    dumper tests' counter and threads programs);
# 2. the targets built with clang in a project of their own (target/,
#    -fsanitize=fuzzer,address,undefined), so that the main build stays gcc;
#    RST_BLOB is the main build's restorer blob (rst_blob.c);
# 3. FUZZ_RUNS cases on the store (default 10000) and FUZZ_IMAGE_RUNS on
#    images (default 3000), each in two forked workers, every case under a
#    10 s timeout, crashes and timeouts kept as artifacts;
# 4. every artifact run again and judged. On the store, it fails the test
#    unless it is a crash inside HDF5 itself on an input whose HDF5 metadata
#    was damaged by raw byte mutation (flag bit 0): those are reported, one
#    line each, as "HDF5-internal", and do not (HDF5 1.10 is what it is;
#    tern refuses what it can see, docs/storage.md "Bad input"). A timeout,
#    a sanitizer report in tern's code, a crash on an input whose metadata
#    HDF5 wrote itself, or a buffer of tern's overrun by HDF5 fails it. On
#    images HDF5 only sees files it wrote: every artifact fails the test.
# Needs clang and libFuzzer (Debian: clang-14, libclang-rt-14-dev); SKIPPED
# (77) without them. The image campaign is skipped (said) where processes
# cannot be dumped (no ptrace). FUZZ_RUNS=100000 for a longer one by hand.
set -u
src=$1 work=$2 blob=$3 small=$4 tern=$5 counter=$6 threads=$7 store_test=$8
shift 8
mpiexec=(timeout -k 5 60 "$@")
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
fail() { echo "FAIL: $*" >&2; exit 1; }

probe=$(mktemp -d /tmp/tern-fuzz-probe.XXXXXX)
shm=""
trap 'rm -rf "$probe" ${shm:+"$shm"}' EXIT
echo 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { return d && n > 1 && d[0] == 1; }' > "$probe/p.c"
if ! clang -fsanitize=fuzzer,address,undefined -o "$probe/p" "$probe/p.c" 2>"$probe/err"; then
    cat "$probe/err"
    echo "SKIPPED: no clang with libFuzzer (Debian packages clang-14, libclang-rt-14-dev)"
    exit 77
fi

w=$work/campaign
rm -rf "$w" && mkdir -p "$w/ckpt" "$w/tmp" || fail "work directory"
for t in store image; do mkdir -p "$w/$t/seeds" "$w/$t/corpus" "$w/$t/art"; done

# ---- seeds ----------------------------------------------------------------
for n in 1 2 3; do
    "${mpiexec[@]}" -n $n "$small" "$w/ckpt/np$n" 1 >/dev/null || fail "seed np$n"
done
"${mpiexec[@]}" -n 2 "$small" "$w/ckpt/api" 1 api >/dev/null || fail "seed api"
timeout 60 "$small" "$w/ckpt/serial" 1 serial >/dev/null || fail "seed serial"
for d in "$w"/ckpt/*; do
    { printf '\0'; cat "$d/ckpt-000001.h5"; } > "$w/store/seeds/$(basename "$d")" || fail "seed $d"
done
# image_seed NAME PROGRAM ARGS...: the metadata of a dump of PROGRAM
image_seed() {
    local name=$1 pid
    shift
    (   # only stdio: the dumper refuses other inherited pipes
        for fd in $(ls /proc/$BASHPID/fd); do [ "$fd" -gt 2 ] && eval "exec $fd>&-"; done
        cd "$w/tmp" && exec "$tern" exec -- "$@" >/dev/null 2>&1 </dev/null) &
    pid=$!
    sleep 0.4
    "$tern" dump "$pid" -o "$w/tmp/$name.h5" --stop >/dev/null 2>"$w/tmp/$name.err"
    local st=$?
    kill -9 "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    [ $st = 0 ] && "$store_test" cat "$w/tmp/$name.h5" 0 dumper.meta >"$w/image/seeds/$name"
}
image=1
image_seed counter "$counter" 1000 10 && image_seed threads "$threads" 400 ||
    { image=0; echo "image seeds: cannot dump here ($(cat "$w"/tmp/*.err)); image campaign skipped"; }
echo "seeds: store $(ls "$w/store/seeds" | tr '\n' ' '); image $(ls "$w/image/seeds" | tr '\n' ' ')"

# ---- the targets ------------------------------------------------------------
cmake -S "$src/tests/fuzz/target" -B "$work/target" -DCMAKE_C_COMPILER=clang \
      -DCMAKE_BUILD_TYPE=None -DTERN_RST_BLOB="$blob" >"$w/cmake.log" 2>&1 ||
    { cat "$w/cmake.log"; fail "configuring the targets"; }
cmake --build "$work/target" -j2 >"$w/build.log" 2>&1 || { cat "$w/build.log"; fail "building the targets"; }

# HDF5 keeps free lists and leaks on damaged files: leaks are not checked.
# Huge allocations return NULL (HDF5 then fails cleanly), as malloc would.
export ASAN_OPTIONS=detect_leaks=0:allocator_may_return_null=1:handle_abort=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
# the targets' files (one per worker, image_fuzz's checkpoints) in memory
shm=$(mktemp -d /dev/shm/tern-fuzz.XXXXXX 2>/dev/null) || shm=""
export TERN_FUZZ_TMP=${shm:-$w/tmp}

# campaign TARGET RUNS: the campaign's cases in $ncases
campaign() {
    local start st last
    start=$(date +%s)
    "$work/target/$1_fuzz" -fork=2 -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1 \
        -runs="$2" -max_total_time=200 -max_len=1048576 -timeout=10 -rss_limit_mb=2048 \
        -detect_leaks=0 -cross_over=0 -artifact_prefix="$w/$1/art/" "$w/$1/corpus" \
        "$w/$1/seeds" >"$w/$1/fuzz.log" 2>&1
    st=$?
    last=$(grep -E '^#[0-9]+: cov' "$w/$1/fuzz.log" | tail -1)
    echo "$1 campaign: $(($(date +%s) - start)) s, exit $st, last: $last"
    [ $st = 0 ] || { tail -30 "$w/$1/fuzz.log"; fail "libFuzzer exited with $st"; }
    ncases=$(echo "$last" | sed -E 's/^#([0-9]+):.*/\1/')
    [ -n "$ncases" ] && [ "$ncases" -ge $(($2 / 2)) ] || fail "only ${ncases:-0} cases ran"
}

# first_frame REPORT [allocated]: whose the first frame of the crash stack
# (or of the allocation stack) is that is HDF5's ("hdf5": libhdf5) or
# tern's ("tern": a file of the source tree, symbolized from -g); frames of
# libc, the sanitizers and libFuzzer are skipped
first_frame() {
    awk -v want="${2:-crash}" -v src="$src/" '
        /allocated by thread|freed by thread/ { part = "allocated"; next }
        /^ *#[0-9]+ / && part == "" { part = "crash" }
        part == want && /^ *#[0-9]+ / {
            if (index($0, "libhdf5")) { print "hdf5"; exit }
            if (index($0, src)) { print "tern"; exit }
        }' "$1"
}

# judge TARGET ARTIFACT: "internal" or "bad", with a line saying why
judge() {
    local fz=$work/target/$1_fuzz a=$2 flag=0 kind where alloc ms
    [ "$1" = store ] && flag=$(($(od -An -tu1 -N1 "$a" | tr -d ' ') & 1))
    ASAN_OPTIONS=$ASAN_OPTIONS:fast_unwind_on_fatal=0:fast_unwind_on_malloc=0 \
        timeout -k 5 60 "$fz" -timeout=10 -rss_limit_mb=2048 "$a" >"$a.report" 2>&1
    kind=$(grep -m1 -oE 'ERROR: (AddressSanitizer|UndefinedBehaviorSanitizer|libFuzzer|LeakSanitizer): [A-Za-z-]+|runtime error|deadly signal' "$a.report")
    where=$(first_frame "$a.report") alloc=$(first_frame "$a.report" allocated)
    ms=$(sed -n 's/^Executed .* in \([0-9]*\) ms$/\1/p' "$a.report")
    local what="$1: $(basename "$a") (raw flag $flag): ${kind:-no report on a rerun alone, ${ms:-?} ms}, in ${where:-?}"
    if [ -z "$kind" ] && [ "$flag" = 1 ] && [ "${ms:-99999}" -lt 2000 ]; then
        # tern keeps no state between inputs; HDF5 does (what it leaks on
        # damaged files): a crash that needs earlier inputs is HDF5's
        echo "internal HDF5-internal, not reproducible alone: $what"
    elif [ "$flag" = 1 ] && [ "$where" = hdf5 ] && [ "${alloc:-hdf5}" = hdf5 ] &&
         [[ "$kind" != *timeout* ]]; then
        echo "internal HDF5-internal: $what"
    else
        echo "bad FAILURE: $what"
    fi
}

# verdicts TARGET: every artifact judged, counts added to internal and bad
verdicts() {
    local a verdict
    for a in "$w/$1"/art/*; do
        [ -e "$a" ] && [[ "$a" != *.report ]] || continue
        verdict=$(judge "$1" "$a")
        echo "${verdict#* }"
        if [ "${verdict%% *}" = internal ]; then
            internal=$((internal + 1))
        else
            bad=$((bad + 1))
            sed -n '/ERROR\|runtime error\|#[0-9]/p' "$a.report" | head -25
        fi
    done
}

internal=0 bad=0
campaign store "${FUZZ_RUNS:-10000}"
store_cases=$ncases
verdicts store
image_cases=0
if [ $image = 1 ]; then
    campaign image "${FUZZ_IMAGE_RUNS:-3000}"
    image_cases=$ncases
    verdicts image
fi
echo "fuzz.store: $store_cases store cases, $image_cases image cases, $internal crashes inside HDF5 on raw-mutated inputs (not failing), $bad failures"
[ $bad = 0 ] || fail "$bad inputs crashed, hung or tripped a sanitizer in tern (artifacts in $w/*/art)"
echo "PASS"
