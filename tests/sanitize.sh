#!/bin/bash
# tests/sanitize.sh: tern built with AddressSanitizer and UBSan, and a
# subset of the tests run on that build (CI runs it after the main suite).
#   tests/sanitize.sh [CTEST-ARGS...]     (e.g. -R storage, instead of the subset)
# Configures build-san (TERN_SANITIZE_BUILD to change it) with
# -DTERN_SANITIZE=ON (every target but the freestanding restorer gets
# -fsanitize=address,undefined -fno-omit-frame-pointer), builds it and runs
# the subset there. Exit status: 0 when every test passed and no sanitizer
# reported anything; 1 when a test failed or a report was written; 2 when
# the build failed.
#
# The subset (about 3 minutes of tests on 2 cores, on top of the build) is
# where tern's own code parses and computes most: storage.* (the store, its
# readers on hostile files, full disks), dumper.* that run no capture,
# channel.*, and the API examples (protocol.api_example: the C and Fortran
# listings of docs/api.md, fortran.api_example). Not run:
#   - label nosanitize: fuzz.store (a campaign with sanitizers of its own)
#     and the dumper's captures and restores: `tern restore` becomes another
#     process image (the restorer blob unmaps everything), which cannot
#     carry ASan's shadow memory, and a program built with ASan is dumped
#     with its shadow mappings;
#   - the 4-rank storage.fail.* (their 2-rank twins take the same paths);
#   - the rest of the suite (protocol, transparent, fortran, jobs, model):
#     minutes more, and run plain in the main suite; namespaces and Slurm
#     (netns, slurm) never run here.
#
# A report fails the run even when the test that met it passed (a test
# that expects a failure may take a sanitizer's exit for its own):
#   - ASan writes its reports to files in $build/sanitizer-logs
#     (world-writable: some tests run as nobody), which must stay empty;
#   - UBSan (GCC 12, built in with ASan) ignores log_path and writes to
#     stderr, as does ASan once UBSan has reported in that process: every
#     test's output in ctest's LastTest.log must hold no report, and a
#     program that tests run with its stderr kept elsewhere is told by its
#     exit status and extra lines, which those tests check.
# Both stop at their first report with exit status 86 (halt_on_error=1,
# exitcode=86), which no test expects. Open MPI and HDF5 leak at exit
# (detect_leaks=0); LD_PRELOAD of libtern or the shim puts them before
# libasan in the library list of programs that are themselves built with
# ASan (verify_asan_link_order=0).
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
build=${TERN_SANITIZE_BUILD:-$top/build-san}
jobs=${JOBS:-2}
logs=$build/sanitizer-logs
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export ASAN_OPTIONS=detect_leaks=0:verify_asan_link_order=0:exitcode=86:log_path=$logs/asan${ASAN_OPTIONS:+:$ASAN_OPTIONS}
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:exitcode=86${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}
report='runtime error:|ERROR: (Address|Leak|UndefinedBehavior)Sanitizer|SUMMARY: (Address|UndefinedBehavior)Sanitizer'
subset='^(storage|dumper|channel)\.|^(protocol|fortran)\.api_example$'
skip='^storage\.fail\..*\.np4$|netns|slurm'

start=$(date +%s)
mkdir -p "$build"
cmake -S "$top" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTERN_SANITIZE=ON \
      >"$build/sanitize-cmake.log" 2>&1 || { cat "$build/sanitize-cmake.log"; exit 2; }
cmake --build "$build" -j"$jobs" >"$build/sanitize-build.log" 2>&1 ||
    { tail -40 "$build/sanitize-build.log"; exit 2; }
built=$(date +%s)
echo "sanitize: built $build in $((built - start)) s"
rm -rf "$logs"
mkdir -p "$logs" && chmod 1777 "$logs"
ctest --test-dir "$build" -j"$jobs" -R "$subset" -LE nosanitize -E "$skip" --timeout 180 \
      --output-on-failure "$@"
st=$(($? ? 1 : 0))
reports=$(find "$logs" -type f | sort)
if [ -n "$reports" ]; then
    for f in $reports; do echo "=== $f"; cat "$f"; done
    echo "sanitize: $(echo "$reports" | wc -l) ASan report(s) in $logs"
    st=1
fi
# ctest's log holds every test's output, passed or not; a test's section
# starts with "N/M Testing: NAME"
log=$build/Testing/Temporary/LastTest.log
if [ -f "$log" ] && grep -Eq "$report" "$log"; then
    awk -v re="$report" '/^[0-9]+\/[0-9]+ Testing: / {t = $3}
                         $0 ~ re {print "sanitize: " t ": " $0}' "$log" | head -50
    echo "sanitize: sanitizer reports in the tests' output ($log)"
    st=1
fi
echo "sanitize: tests $(($(date +%s) - built)) s, $(($(date +%s) - start)) s in all, exit $st"
exit $st
