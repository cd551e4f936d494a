#!/bin/bash
# storage.bad.CASE: one bad input each. Every case leaves a good epoch 1 in
# place, damages or fails epoch 2, asserts the exact one-line error and exit
# status, and then checks that epoch 1 still verifies.
#   bad_input.sh CASE TERN STORE_TEST MPIEXEC...
set -u
case_=$1 tern=$2 st=$3
shift 3
# Each MPI run gets its own timeout below the CTest one, so that a hang is
# reported by this script and its trap still unmounts and cleans up.
mpiexec=(timeout -k 5 60 "$@")
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
work=$(mktemp -d /tmp/tern-storage-bad.XXXXXX)
mnt=""
cleanup() {
    [ -n "$mnt" ] && umount "$mnt" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT
dir=$work/ckpt
fail() { echo "FAIL ($case_): $*" >&2; exit 1; }

# expect STATUS EXACT_STDERR_LINE_OR_REGEX -- command...
# The message must be exactly one line; '~' before it means a regex.
expect() {
    local want_status=$1 want=$2
    shift 3
    "$@" >"$work/out" 2>"$work/err"
    local status=$?
    [ "$status" = "$want_status" ] || { cat "$work/out" "$work/err" >&2; fail "exit $status, want $want_status: $*"; }
    [ "$(wc -l <"$work/err")" = 1 ] || { cat "$work/err" >&2; fail "stderr is not one line"; }
    local got; got=$(cat "$work/err")
    if [ "${want:0:1}" = "~" ]; then
        [[ "$got" =~ ^${want:1}$ ]] || fail "stderr '$got' does not match '${want:1}'"
    else
        [ "$got" = "$want" ] || fail "stderr '$got', want '$want'"
    fi
    echo "ok: $* -> $status: $got"
}

good() {   # write epoch $1 of $2 bytes per rank on 2 ranks
    "${mpiexec[@]}" -n 2 "$st" write "$dir" "$1" "$2" >/dev/null || fail "writing epoch $1"
}

previous_ok() {
    "$tern" verify "$dir/ckpt-000001.h5" >"$work/v" 2>&1 || { cat "$work/v"; fail "epoch 1 no longer verifies"; }
    "$tern" ls "$dir" | grep -q '^1 ' || fail "epoch 1 not listed"
    echo "ok: epoch 1 still verifies"
}

e2=$dir/ckpt-000002.h5
case $case_ in
truncated)
    good 1 1048576; good 2 3000000
    size=$(stat -c %s "$e2"); truncate -s $((size / 2)) "$e2"
    expect 1 "tern verify: $e2: truncated file ($((size / 2)) bytes on disk)" -- "$tern" verify "$dir"
    previous_ok ;;
flipped)
    good 1 1048576; good 2 3000000
    off=$("$st" data-offset "$e2" 1) || fail "data-offset"
    off=$((off + 1234567))
    byte=$(od -An -tu1 -j "$off" -N1 "$e2" | tr -d ' ')
    printf "$(printf '\\%03o' $(( (byte ^ 0x5a) & 255 )))" | dd of="$e2" bs=1 seek="$off" conv=notrunc status=none
    expect 1 "~tern verify: $e2: rank 1: segment 'a': chunk 1: CRC mismatch \(stored [0-9a-f]{8}, computed [0-9a-f]{8}\)" -- "$tern" verify "$e2"
    grep -q '^  rank 0: ok$' "$work/out" || fail "rank 0 not reported ok"
    grep -q '^  rank 1: FAILED: ' "$work/out" || fail "rank 1 not reported failed"
    previous_ok ;;
missing-rank)
    good 1 1048576; good 2 1048576
    "$st" drop-rank "$e2" 1 || fail "drop-rank"
    expect 1 "tern verify: $e2: rank 1: missing from checkpoint" -- "$tern" verify "$e2"
    grep -q '^  rank 1: FAILED: ' "$work/out" || fail "rank 1 not reported"
    previous_ok ;;
newer-version)
    good 1 1048576; good 2 1048576
    "$st" set-version "$e2" 2 || fail "set-version"
    expect 1 "tern verify: $e2: format version 2 is newer than this tern reads (1); use a newer tern" -- "$tern" verify "$dir"
    expect 1 "tern info: $e2: format version 2 is newer than this tern reads (1); use a newer tern" -- "$tern" info "$e2"
    previous_ok ;;
no-dir)
    good 1 1048576
    expect 1 "tern verify: $work/nope: no such file or directory" -- "$tern" verify "$work/nope"
    expect 1 "tern ls: $work/nope: no such directory" -- "$tern" ls "$work/nope"
    expect 1 "tern info: $work/nope/ckpt-000001.h5: no such file or directory" -- "$tern" info "$work/nope/ckpt-000001.h5"
    # a writer refuses a directory whose parent is missing, on every rank
    "${mpiexec[@]}" -n 2 "$st" write "$work/nope/deeper" 1 1000 >/dev/null 2>"$work/err" && fail "writer succeeded"
    grep -qFx "$work/nope/deeper: cannot create: No such file or directory" "$work/err" || { cat "$work/err"; fail "writer message"; }
    echo "ok: writer refuses a missing parent directory"
    previous_ok ;;
not-hdf5)
    good 1 1048576
    echo "this is not a checkpoint" > "$dir/ckpt-000002.h5"
    expect 1 "tern verify: $e2: not an HDF5 file" -- "$tern" verify "$dir"
    expect 1 "tern info: $e2: not an HDF5 file" -- "$tern" info "$e2"
    previous_ok ;;
full-disk)
    mnt=$work/small; mkdir -p "$mnt"
    if ! mount -t tmpfs -o size=8m tmpfs "$mnt" 2>/dev/null; then
        mnt=""; echo "SKIPPED: cannot mount a tmpfs here"; exit 77
    fi
    dir=$mnt/ckpt; e2=$dir/ckpt-000002.h5
    good 1 1048576
    "${mpiexec[@]}" -n 2 "$st" write "$dir" 2 6000000 >/dev/null 2>"$work/err" && fail "writer succeeded on a full disk"
    grep -Ex "$dir/ckpt-000002\.h5\.partial: rank [01]: writing chunk data: No space left on device" "$work/err" || { cat "$work/err"; fail "full-disk message"; }
    ls "$dir" | grep -q partial && fail "partial file left behind"
    previous_ok
    good 2 1048576   # the next writer succeeds once there is room
    echo "ok: epoch 2 written after the failure" ;;
kill9)
    good 1 1048576
    # rank 1 stalls in its second write round (after round 1 is on disk)
    TERN_STORE_ROUND_BYTES=4194304 TERN_TEST_STALL_AT=8388608 TERN_TEST_STALL_RANK=1 \
        "${mpiexec[@]}" -n 2 "$st" write "$dir" 2 16777216 >"$work/run.out" 2>&1 &
    runner=$!
    for _ in $(seq 300); do [ -s "$dir/stalled" ] && break; sleep 0.1; done
    [ -s "$dir/stalled" ] || { kill $runner; fail "writer never stalled"; }
    kill -9 "$(cat "$dir/stalled")"
    wait $runner && fail "killed job reported success"
    ls "$dir"/*.partial >/dev/null 2>&1 || fail "expected a partial file from the killed writer"
    size=$(stat -c %s "$dir"/ckpt-000002.h5.partial); echo "ok: killed mid-write, partial file has $size bytes"
    rm -f "$dir/stalled"
    "$tern" ls "$dir" | grep -q '^2 ' && fail "partial epoch listed"
    "$tern" verify "$dir" >/dev/null || fail "latest committed (epoch 1) does not verify"
    previous_ok
    good 2 1048576
    ls "$dir"/*.partial >/dev/null 2>&1 && fail "next writer did not remove the leftover"
    "$tern" verify "$dir" >/dev/null || fail "epoch 2 does not verify"
    echo "ok: next writer removed the leftover and committed epoch 2" ;;
*) fail "unknown case" ;;
esac
echo "PASS $case_"
