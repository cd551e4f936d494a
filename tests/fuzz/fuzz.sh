#!/bin/bash
# fuzz.store: a bounded libFuzzer campaign on the checkpoint reader.
#   fuzz.sh SOURCE_DIR WORK_DIR SMALL_CKPT MPIEXEC...
# 1. seeds: small valid checkpoints written by the store itself (small_ckpt:
#    1, 2 and 3 ranks, API mode, serial), each behind the input's flag byte;
# 2. the target (store_fuzz.c) built with clang in a project of its own
#    (target/), -fsanitize=fuzzer,address,undefined, so that the main build
#    stays gcc;
# 3. FUZZ_RUNS cases (default 10000) in two forked workers, each case under
#    a 10 s timeout, crashes and timeouts kept as artifacts;
# 4. every artifact run again and judged. It fails the test unless it is a
#    crash inside HDF5 itself on an input whose HDF5 metadata was damaged by
#    raw byte mutation (flag bit 0): those are reported, one line each, as
#    "HDF5-internal", and do not (HDF5 1.10 is what it is; tern refuses
#    what it can see, docs/storage.md "Bad input"). A timeout, a sanitizer
#    report in tern's code, a crash on an input whose metadata HDF5 wrote
#    itself, or a buffer of tern's overrun by HDF5 fails it.
# Needs clang and libFuzzer (Debian: clang-14, libclang-rt-14-dev); SKIPPED
# (77) without them. FUZZ_RUNS=100000 for a longer campaign by hand.
set -u
src=$1 work=$2 small=$3
shift 3
mpiexec=(timeout -k 5 60 "$@")
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
runs=${FUZZ_RUNS:-10000}
fail() { echo "FAIL: $*" >&2; exit 1; }

probe=$(mktemp -d /tmp/tern-fuzz-probe.XXXXXX)
trap 'rm -rf "$probe"' EXIT
echo 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { return d && n > 1 && d[0] == 1; }' > "$probe/p.c"
if ! clang -fsanitize=fuzzer,address,undefined -o "$probe/p" "$probe/p.c" 2>"$probe/err"; then
    cat "$probe/err"
    echo "SKIPPED: no clang with libFuzzer (Debian packages clang-14, libclang-rt-14-dev)"
    exit 77
fi

w=$work/campaign
rm -rf "$w" && mkdir -p "$w/seeds" "$w/corpus" "$w/art" "$w/ckpt" || fail "work directory"
for n in 1 2 3; do
    "${mpiexec[@]}" -n $n "$small" "$w/ckpt/np$n" 1 >/dev/null || fail "seed np$n"
done
"${mpiexec[@]}" -n 2 "$small" "$w/ckpt/api" 1 api >/dev/null || fail "seed api"
timeout 60 "$small" "$w/ckpt/serial" 1 serial >/dev/null || fail "seed serial"
for d in "$w"/ckpt/*; do
    { printf '\0'; cat "$d/ckpt-000001.h5"; } > "$w/seeds/$(basename "$d")" || fail "seed $d"
done
echo "seeds: $(ls "$w/seeds" | tr '\n' ' ')"

cmake -S "$src/tests/fuzz/target" -B "$work/target" -DCMAKE_C_COMPILER=clang \
      -DCMAKE_BUILD_TYPE=None >"$w/cmake.log" 2>&1 || { cat "$w/cmake.log"; fail "configuring the target"; }
cmake --build "$work/target" -j2 >"$w/build.log" 2>&1 || { cat "$w/build.log"; fail "building the target"; }
fz=$work/target/store_fuzz

# HDF5 keeps free lists and leaks on damaged files: leaks are not checked.
# Huge allocations return NULL (HDF5 then fails cleanly), as malloc would.
export ASAN_OPTIONS=detect_leaks=0:allocator_may_return_null=1:handle_abort=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export TERN_FUZZ_TMP=$w
start=$(date +%s)
"$fz" -fork=2 -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1 -runs="$runs" \
      -max_total_time=240 -max_len=1048576 -timeout=10 -rss_limit_mb=2048 -detect_leaks=0 \
      -cross_over=0 -artifact_prefix="$w/art/" "$w/corpus" "$w/seeds" >"$w/fuzz.log" 2>&1
st=$?
done_line=$(grep -E '^#[0-9]+: cov' "$w/fuzz.log" | tail -1)
echo "campaign: $(($(date +%s) - start)) s, exit $st, last: $done_line"
[ $st = 0 ] || { tail -30 "$w/fuzz.log"; fail "libFuzzer exited with $st"; }
ncases=$(echo "$done_line" | sed -E 's/^#([0-9]+):.*/\1/')
[ -n "$ncases" ] && [ "$ncases" -ge $((runs / 2)) ] || fail "only ${ncases:-0} cases ran"

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

# judge ARTIFACT: "internal" or "bad", with a line saying why
judge() {
    local a=$1 flag kind where alloc ms
    flag=$(($(od -An -tu1 -N1 "$a" | tr -d ' ') & 1))
    ASAN_OPTIONS=$ASAN_OPTIONS:fast_unwind_on_fatal=0:fast_unwind_on_malloc=0 \
        timeout -k 5 60 "$fz" -timeout=10 -rss_limit_mb=2048 "$a" >"$a.report" 2>&1
    kind=$(grep -m1 -oE 'ERROR: (AddressSanitizer|UndefinedBehaviorSanitizer|libFuzzer|LeakSanitizer): [A-Za-z-]+|runtime error|deadly signal' "$a.report")
    where=$(first_frame "$a.report") alloc=$(first_frame "$a.report" allocated)
    ms=$(sed -n 's/^Executed .* in \([0-9]*\) ms$/\1/p' "$a.report")
    local what="$(basename "$a") (raw flag $flag): ${kind:-no report on a rerun alone, ${ms:-?} ms}, in ${where:-?}"
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

internal=0 bad=0
for a in "$w"/art/*; do
    [ -e "$a" ] && [[ "$a" != *.report ]] || continue
    verdict=$(judge "$a")
    echo "${verdict#* }"
    if [ "${verdict%% *}" = internal ]; then
        internal=$((internal + 1))
    else
        bad=$((bad + 1))
        sed -n '/ERROR\|runtime error\|#[0-9]/p' "$a.report" | head -25
    fi
done
echo "fuzz.store: $ncases cases, $internal crashes inside HDF5 on raw-mutated inputs (not failing), $bad failures"
[ $bad = 0 ] || fail "$bad inputs crashed, hung or tripped a sanitizer in tern (artifacts in $w/art)"
echo "PASS"
