#!/bin/bash
# jobs.netns_failover: a 6-rank job on 3 "nodes" (network namespaces) takes a
# checkpoint (`tern checkpoint`), one node fails (everything in its namespace
# is killed), and `tern restart --exclude` brings the job back on the two
# remaining nodes. The answer must be bit-identical to an uninterrupted run.
# With TJ_SPARE=1 (jobs.netns_spare) a fourth node is a spare: the restart
# uses `--hostfile` (n1, n2, n4): ranks of n1 and n2 stay, those of n3 move
# to n4, nobody is oversubscribed.
here=$(cd "$(dirname "$0")" && pwd)
source "$here/common.sh"
source "$here/netns.sh"
need TERN TERN_APPS_DIR
APP=$TERN_APPS_DIR/${TJ_APP:-cg}
need APP
netns_up $(( ${TJ_SPARE:-0} ? 4 : 3 )) || exit $?
netns_job_start
say "tern checkpoint"
ck=$(head timeout 60 "$TERN" checkpoint --timeout 50 "$W/ck") || { cat run.err; fail "tern checkpoint"; }
say "committed: $ck"
say "node ${P}n3 fails: kill -9 everything in its namespace"
netns_kill ${P}n3
t_fail=$(date +%s.%N)
wait $runpid
st=$?
say "tern run ended with status $st"
[ $st != 0 ] || { cat run.out run.err; fail "the job did not notice the node failure"; }
grep -q '^RESULT' run.out && fail "the failed run printed a RESULT"

if [ -n "${TJ_SPARE:-}" ]; then
  printf '%s slots=2\n' ${P}n1 ${P}n2 ${P}n4 > hosts.spare
  say "tern restart --hostfile (${P}n1 ${P}n2 ${P}n4: the spare replaces ${P}n3)"
  head timeout 120 "$TERN" restart --dir "$W/ck" --hostfile hosts.spare > restart.out 2> restart.err ||
    { cat restart.out restart.err; fail "tern restart"; }
  want=$(printf 'rank 0=%sn1 slot=0;rank 1=%sn1 slot=1;rank 2=%sn2 slot=0;rank 3=%sn2 slot=1;rank 4=%sn4 slot=0;rank 5=%sn4 slot=1;' $P $P $P $P $P $P)
  [ "$(tr '\n' ';' < ck/rankfile)" = "$want" ] || { cat ck/rankfile; fail "unexpected placement"; }
else
  say "tern restart --exclude ${P}n3"
  head timeout 120 "$TERN" restart --dir "$W/ck" --exclude ${P}n3 > restart.out 2> restart.err ||
    { cat restart.out restart.err; fail "tern restart"; }
fi
t_back=$(date +%s.%N)
cat restart.err
grep -q "${P}n3" ck/rankfile && fail "the rankfile still names ${P}n3"
got=$(result_of restart.out)
grep '^RESUMED' restart.out || fail "the restarted run did not resume from the checkpoint"
[ "$got" = "$ref" ] || fail "RESULT $got after restart, reference $ref"
say "RESULT $got: identical to the uninterrupted run"
say "placement after the failure: $(tr '\n' ';' < ck/rankfile)"
say "PASSED"
