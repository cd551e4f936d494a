#!/bin/bash
# Bad command lines of the dumper's verbs: each is one line from tern (never
# getopt's own message, never a non-number taken as 0) and exit status 2.
#   cli_case.sh TERN CASE
set -u
TERN=$1 CASE=$2
. "$(dirname "$0")/common.sh"
dmp_setup cli
trap 'rm -rf "$W"' EXIT
cd "$W" || exit 1
export TERN_EXEC_DIR=$W/run

expect() { # LINE ARGS...: `tern ARGS` exits 2 with exactly LINE on stderr, nothing written
  local line=$1
  shift
  "$TERN" "$@" > out.txt 2> err.txt < /dev/null
  local rc=$?
  [ $rc = 2 ] || { echo "FAIL: tern $*: exit $rc, expected 2 ($(cat err.txt))"; exit 1; }
  [ "$(cat err.txt)" = "$line" ] || { echo "FAIL: tern $*: got '$(cat err.txt)', expected '$line'"; exit 1; }
  [ ! -s out.txt ] && [ -z "$(ls -A | grep -v -x -e out.txt -e err.txt)" ] ||
    { echo "FAIL: tern $*: wrote something: $(ls -A)"; exit 1; }
  echo "ok: tern $* -> $line"
}

case $CASE in
  restore.rank)      expect "tern restore: --rank: expected an integer 0..2147483647, got 'abc'" restore --rank abc img.h5
                     expect "tern restore: --rank: expected an integer 0..2147483647, got '-1'" restore --rank=-1 img.h5
                     expect "tern restore: --rank: expected an integer 0..2147483647, got '1x'" restore -r 1x img.h5 ;;
  restore.novalue)   expect "tern restore: --rank needs a value" restore --rank ;;
  restore.unknown)   expect "tern restore: unknown option '-x' (see 'tern restore --help')" restore -x img.h5
                     expect "tern restore: unknown option '--bogus' (see 'tern restore --help')" restore --bogus img.h5 ;;
  dump.unknown)      expect "tern dump: unknown option '-1' (see 'tern dump --help')" dump -1
                     expect "tern dump: unknown option '--stop=1' (see 'tern dump --help')" dump 2147483646 -o img.h5 --stop=1 ;;
  dump.novalue)      expect "tern dump: -o needs a value" dump 2147483646 -o ;;
  dump.compress)     expect "tern dump: --compress: expected an integer 0..9, got 'x'" dump 2147483646 -o img.h5 --compress x
                     expect "tern dump: --compress: expected an integer 0..9, got '12'" dump 2147483646 -o img.h5 -z 12 ;;
  exec.unknown)      expect "tern exec: unknown option '--jobs' (see 'tern exec --help')" exec --jobs sim -- /bin/true
                     expect "tern exec: unknown option '-j' (see 'tern exec --help')" exec -j sim /bin/true ;;
  *) echo "FAIL: unknown case $CASE"; exit 1 ;;
esac
echo PASS
