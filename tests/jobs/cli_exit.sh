#!/bin/bash
# jobs.cli_exit: the one exit-status rule of the verbs that read a job
# directory or a checkpoint (docs/usage.md "Exit status"):
#   2  usage error, or the path / job named does not exist;
#   1  it exists but the verb's work failed (info/verify: no checkpoint to
#      read, a bad one; checkpoint: the checkpoint failed);
#   0  done; a verb that lists (ls, status) lists nothing and exits 0.
here=$(cd "$(dirname "$0")" && pwd)
source "$here/common.sh"
need TERN
W=$(mktemp -d /tmp/tern-jobs-cli-exit.XXXXXX)
trap 'rm -rf "$W"' EXIT
cd "$W" || exit 1
bad=0
e() { expect_err "$@" || bad=$((bad + 1)); }
N=$W/nope
mkdir -p empty

# ---- a path that does not exist: 2 --------------------------------------------
e "tern ls: $N: no such directory" 2 "$TERN" ls "$N"
e "tern info: $N: no such file or directory" 2 "$TERN" info "$N"
e "tern verify: $N: no such file or directory" 2 "$TERN" verify "$N"
e "tern status: no such directory: $N" 2 "$TERN" status "$N"
e "tern checkpoint: no such job directory: $N" 2 "$TERN" checkpoint "$N"
e "tern restart: no such job directory: $N" 2 "$TERN" restart --dir "$N"
e "tern migrate: no such job directory: $N" 2 "$TERN" migrate --off x "$N"

# ---- a directory with nothing in it: listing 0, reading 1 ---------------------
out=$("$TERN" ls empty 2>&1); st=$?
[ $st = 0 ] && [ "$out" = "empty: no committed checkpoints" ] && say "ok (0): tern ls empty" ||
  { say "FAILED: tern ls empty: ($st) $out"; bad=$((bad + 1)); }
out=$("$TERN" status empty 2>&1); st=$?
[ $st = 0 ] && [ "$out" = "empty: no jobs" ] && say "ok (0): tern status empty" ||
  { say "FAILED: tern status empty: ($st) $out"; bad=$((bad + 1)); }
e "tern info: empty: no committed checkpoint" 1 "$TERN" info empty
e "tern verify: empty: no committed checkpoint" 1 "$TERN" verify empty

# ---- usage errors: 2 ------------------------------------------------------------
for v in ls info verify status checkpoint restart migrate run; do
  "$TERN" "$v" --no-such-option-at-all >/dev/null 2>&1
  st=$?
  [ $st = 2 ] && say "ok (2): tern $v --no-such-option-at-all" ||
    { say "FAILED: tern $v --no-such-option-at-all exits $st"; bad=$((bad + 1)); }
done

[ $bad = 0 ] || fail "$bad check(s) failed"
say "PASSED"
