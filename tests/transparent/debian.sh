#!/bin/bash
# debian.sh hpcc|netpipe: real programs no one here wrote, from Debian's
# archive, unmodified, in transparent mode; each passes its own checks.
#   hpcc     the HPC Challenge suite (HPL, PTRANS, RandomAccess, STREAM,
#            FFT, DGEMM, latency and bandwidth) on 2 ranks: every residual
#            check passes, RandomAccess finds 0 errors, STREAM validates
#   netpipe  NPopenmpi -i: NetPIPE's data integrity check, 1 B to 1 MiB
# The package is installed when missing (apt-get). Prints PASS or "FAIL: ".
set -u
. "$(dirname "$0")/common.sh"
what=$1
need() {   # need PROGRAM PACKAGE
    command -v "$1" >/dev/null && return 0
    echo "installing $2 (apt-get)"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$2" >"$work/apt.log" 2>&1 ||
        { apt-get update -q >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$2" >"$work/apt.log" 2>&1; } ||
        { echo "FAIL: cannot install $2:"; tail -5 "$work/apt.log"; exit 1; }
}
cd "$work" || exit 2
case "$what" in
hpcc)
    need hpcc hpcc
    # Debian's example input, on a 1 x 2 process grid
    sed -e 's/^2            Ps/1            Ps/' /usr/share/doc/hpcc/examples/_hpccinf.txt >hpccinf.txt
    TM_TIMEOUT=200 tm_mpirun 2 "$TERN_PROXY" -- hpcc >hpcc.log 2>&1 || { echo "FAIL: hpcc exited $?"; tail -20 hpcc.log; exit 1; }
    out=hpccoutf.txt
    grep -q "End of HPC Challenge tests" $out || { echo "FAIL: hpcc did not finish"; tail -20 $out; exit 1; }
    bad=$(grep -E "[1-9][0-9]* tests completed and failed residual checks|Found [1-9][0-9]* errors|Node\(s\) with error [1-9]|FAILED" $out)
    [ -z "$bad" ] || { echo "FAIL: hpcc's checks failed:"; echo "$bad"; exit 1; }
    grep -q "Solution Validates" $out || { echo "FAIL: STREAM did not validate"; exit 1; }
    echo "hpcc: $(grep -c PASSED $out) residual checks passed, $(grep -c 'Found 0 errors' $out) RandomAccess runs without errors"
    grep -E "^(HPL_Tflops|MPIRandomAccess_GUPs|AvgPingPongLatency_usec|MPIFFT_Gflops)=" $out
    ;;
netpipe)
    need NPopenmpi netpipe-openmpi
    tm_mpirun 2 "$TERN_PROXY" -- NPopenmpi -i -u 1048576 -o np.out >np.log 2>&1 || { echo "FAIL: NPopenmpi exited $?"; tail np.log; exit 1; }
    ok=$(grep -c "Integrity check passed" np.log)
    if grep -qi "integrity check failed\|error" np.log || [ "$ok" -lt 30 ]; then
        echo "FAIL: NetPIPE's integrity check: $ok passed"
        grep -v passed np.log | head
        exit 1
    fi
    echo "netpipe: $ok message sizes up to 1 MiB passed the integrity check"
    ;;
*) echo "FAIL: usage: debian.sh hpcc|netpipe"; exit 2 ;;
esac
echo "PASS"
