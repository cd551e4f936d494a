#!/bin/bash
# jobs.netns_migrate: `tern migrate --off NODE` moves a running 6-rank job off
# a healthy node of 3 (network namespaces): checkpoint-and-stop, restart on the
# other two. The answer must be bit-identical to an uninterrupted run; the
# downtime (request -> restarted job's MPI_Init) is printed.
here=$(cd "$(dirname "$0")" && pwd)
source "$here/common.sh"
source "$here/netns.sh"
need TERN TERN_APPS_DIR
APP=$TERN_APPS_DIR/${TJ_APP:-cg}
need APP
netns_up 3 || exit $?
netns_job_start
say "tern migrate --off ${P}n2"
head timeout 120 "$TERN" migrate --off ${P}n2 "$W/ck" > mig.out 2> mig.err
st=$?
grep -v setpgid mig.err
[ $st = 0 ] || { cat mig.out run.err; fail "tern migrate ended with status $st"; }
wait $runpid
st=$?
grep -v setpgid run.err
[ $st = 0 ] || fail "the first run ended with status $st, not 0 (checkpoint-and-stop)"
grep -q '^RESULT' run.out && fail "the first run went on to the end: it was not stopped"
grep -q "${P}n2" ck/rankfile && fail "the rankfile still names ${P}n2"
grep -q '^RESUMED' mig.out || fail "the migrated run did not resume from the checkpoint"
got=$(result_of mig.out)
[ "$got" = "$ref" ] || fail "RESULT $got after migration, reference $ref"
down=$(grep -o 'downtime [0-9.]* s.*' mig.err)
[ -n "$down" ] || fail "tern migrate printed no downtime"
say "RESULT $got: identical to the uninterrupted run"
say "placement after migration: $(tr '\n' ';' < ck/rankfile)"
say "MIGRATION $down"
say "PASSED"
