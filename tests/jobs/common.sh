#!/bin/bash
# Shared by the tests of tests/jobs. Environment from CTest:
#   TERN       the tern command            TERN_APPS_DIR  folder of the workloads
#   TERN_LIB   libtern.so                  MKCKPT         tests/jobs/mkckpt
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_rmaps_base_oversubscribe=1
# what the tests make by hand must pass tern's checks (no group/other write)
umask 022
SKIP=77
T0=$(date +%s.%N)
say() { printf '[%6.2f] %s\n' "$(awk -v a="$(date +%s.%N)" -v b="$T0" 'BEGIN{print a-b}')" "$*"; }
fail() { say "FAILED: $*"; exit 1; }
skip() { say "SKIPPED: $*"; exit $SKIP; }
need() { # VAR...: skip when the build did not provide them
  local v
  for v in "$@"; do
    [ -n "${!v:-}" ] && [ -e "${!v}" ] || skip "$v not available (${!v:-unset})"
  done
}
result_of() { grep -m1 '^RESULT ' "$1" | awk '{print $2}'; }
# reference_run LABEL CMD...: the uninterrupted run every test compares with;
# its output goes to ref.out and its RESULT into $ref.
reference_run() {
  local label=$1
  shift
  say "reference: $label"
  "$@" > ref.out 2>&1 || { cat ref.out; fail "reference run"; }
  ref=$(result_of ref.out)
  [ -n "$ref" ] || fail "no RESULT in the reference run"
  say "reference RESULT $ref"
}
# expect_err "EXPECTED STDERR LINE" EXPECTED_STATUS CMD...
expect_err() {
  local want=$1 wst=$2 out st
  shift 2
  out=$("$@" 2>&1 >/dev/null)
  st=$?
  if [ "$out" != "$want" ] || [ "$st" != "$wst" ]; then
    say "command: $*"
    say "  want ($wst): $want"
    say "  got  ($st): $out"
    return 1
  fi
  say "ok ($st): $want"
}
