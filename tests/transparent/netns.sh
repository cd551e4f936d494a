#!/bin/bash
# netns.sh APP: a transparent job over TCP across three "nodes" (network
# namespaces, tests/jobs/netns.sh): 6 ranks of APP (a plain MPI workload) on
# n1..n3, natively and under tern-proxy, must print the same RESULT.
here=$(cd "$(dirname "$0")" && pwd)
# names and addresses of our own: the jobs tests' nodes may exist meanwhile
TJ_PREFIX=tm TJ_NET=198.18.78
source "$here/../jobs/common.sh"
source "$here/../jobs/netns.sh"
APP=$1
need APP TERN_PROXY
netns_up 3 || exit $?
W=$TJ_WORK/run
mkdir -p "$W" && cd "$W" || fail "no work dir"
P=$TJ_PREFIX
MPI=(--oversubscribe "${TJ_MCA[@]}" --host ${P}n1:2,${P}n2:2,${P}n3:2 -np 6)
head() { netns_exec ${P}head "$@"; }
reference_run "6 ranks on ${P}n1..3, natively" head timeout 120 mpirun "${MPI[@]}" "$APP" --iters 100
say "the same in transparent mode (mpirun tern-proxy -- APP)"
head timeout 120 mpirun "${MPI[@]}" "$TERN_PROXY" -- "$APP" --iters 100 > tm.out 2>&1 || { cat tm.out; fail "the transparent run failed"; }
got=$(result_of tm.out)
[ "$got" = "$ref" ] || { cat tm.out; fail "RESULT $got in transparent mode, $ref natively"; }
say "RESULT $got: the native answer, over TCP between namespaces"
say "PASSED"
