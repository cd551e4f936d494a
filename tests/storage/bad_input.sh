#!/bin/bash
# storage.bad.CASE: one bad input each. Every case leaves a good epoch 1 in
# place, damages or fails epoch 2, asserts the exact one-line error and exit
# status, and then checks that epoch 1 still verifies.
#   bad_input.sh CASE TERN STORE_TEST MPIEXEC...
# The cases after kill9 (issue 14, "readers that survive any file") damage
# one value of a small checkpoint (small_ckpt) with ckpt_edit, as a flipped
# bit or a hostile writer would; both tools sit next to STORE_TEST. Each of
# them crashed, hung, printed HDF5's stack or said "ok" before the fix.
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
bin=$(dirname "$st")
edit=$bin/ckpt_edit

# small EPOCH [api]: epoch 1 as usual (once), then EPOCH a small checkpoint
# of 2 ranks, now $e2; its pristine bytes are kept in $work/pristine.h5 for
# damage to start from.
small() {
    [ -e "$dir/ckpt-000001.h5" ] || good 1 1048576
    e2=$dir/ckpt-00000$1.h5
    "${mpiexec[@]}" -n 2 "$bin/small_ckpt" "$dir" "$@" >/dev/null || fail "small_ckpt"
    cp "$e2" "$work/pristine.h5"
}
# damage EDIT-ARGS...: epoch 2 is pristine again, then ckpt_edit changes it
damage() {
    cp "$work/pristine.h5" "$e2"
    "$edit" "$1" "$e2" "${@:2}" || fail "ckpt_edit $*"
}
# quick: the same as expect, within 20 s (a hang fails, it does not block)
quick() {
    local st=$1 want=$2
    shift 3
    expect "$st" "$want" -- timeout 20 "$@"
}

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
    # a path that does not exist is 2, as a usage error (docs/usage.md, "Exit status")
    expect 2 "tern verify: $work/nope: no such file or directory" -- "$tern" verify "$work/nope"
    expect 2 "tern ls: $work/nope: no such directory" -- "$tern" ls "$work/nope"
    expect 2 "tern info: $work/nope/ckpt-000001.h5: no such file or directory" -- "$tern" info "$work/nope/ckpt-000001.h5"
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
elem-size)   # array elements: elem_size 0 divided by zero, 4 overflowed the heap
    small 2
    for es in 0 4 16; do
        damage attr /arrays/u elem_size 0 $es
        expect 1 "tern verify: $e2: array 'u': elem_size $es, but its elements are 8 bytes" -- "$tern" verify "$e2"
        grep -q '^  arrays: FAILED: ' "$work/out" || fail "arrays not reported"
    done
    previous_ok ;;
header)   # damaged object headers: HDF5 1.10 crashed in H5Aexists, H5Aread, H5Dopen
    small 2
    # attribute message of the root: name, datatype and dataspace sizes
    for at in 2 4 6; do
        damage msg / 12 nranks $at 2 0xffff
        expect 1 "~tern verify: $e2: /: damaged object header \(attribute (name|parts) outside its message\)" -- "$tern" verify "$e2"
    done
    # nranks' integer precision (at 8 + 8 + 10: header, padded name, type)
    damage msg / 12 nranks 26 2 0xff
    expect 1 "tern info: $e2: /: damaged object header (integer datatype of 4 bytes, precision 255 at bit 0)" -- "$tern" info "$e2"
    damage msg /nodes/000000 12 host 4 2 0xffff
    expect 1 "tern verify: $e2: /nodes/000000: damaged object header (attribute parts outside its message)" -- "$tern" verify "$e2"
    damage msg /arrays/u 12 elem_size 6 2 0xffff
    expect 1 "tern verify: $e2: array 'u': damaged object header (attribute parts outside its message)" -- "$tern" verify "$e2"
    # a layout made chunked, a dataspace of 2^59 + 1 rows
    damage msg /ranks/000000/segments 8 - 1 1 2
    expect 1 "tern verify: $e2: rank 0: segment table: damaged object header (layout class 2 (chunked or virtual), which tern never reads)" -- "$tern" verify "$e2"
    damage msg /ranks/000001/chunks 1 - 8 8 0x800000000000001
    expect 1 "tern verify: $e2: rank 1: chunk index: not a contiguous 1-D data set filling its bytes" -- "$tern" verify "$e2"
    previous_ok ;;
counts)   # counts and sizes from the file: overflow-checked, bounded by the file
    small 2
    damage field /ranks/000000/segments 0 nchunks 0x800000000000001
    expect 1 "tern verify: $e2: rank 0: segment 'raw': 576460752303423489 chunks for 40000 bytes (chunk_bytes 16384)" -- "$tern" verify "$e2"
    damage field /ranks/000001/chunks 3 raw 0xffffffff
    expect 1 "tern verify: $e2: rank 1: segment 'zero': chunk 0: bad sizes in chunk index" -- "$tern" verify "$e2"
    damage field /ranks/000000/segments 1 stored 0xffffffff
    expect 1 "tern verify: $e2: rank 0: segment 'zero': its chunks store 0 bytes, the table says 4294967295" -- "$tern" verify "$e2"
    damage field /ranks/000000/chunks 5 offset 0
    expect 1 "tern verify: $e2: rank 0: chunk index rows 0 and 5: stored bytes overlap in data.0" -- "$tern" verify "$e2"
    damage field /arrays_crc/u 0 count 0x100000000
    expect 1 "tern verify: $e2: array 'u': CRC table damaged (row 0)" -- /usr/bin/time -o "$work/rss" -f %M "$tern" verify "$e2"
    rss=$(tail -1 "$work/rss")
    [ "$rss" -lt 200000 ] || fail "verify used $rss KiB"
    damage attr / chunk_bytes 0 0
    expect 1 "tern verify: $e2: damaged checkpoint: chunk_bytes 0 out of range" -- "$tern" verify "$e2"
    previous_ok ;;
nranks)   # nranks is bounded by the node records: no walk over 2^31 ranks
    small 2
    damage attr / nranks 0 2147483647
    quick 1 "tern verify: $e2: damaged checkpoint: the node records do not list ranks 0..2147483646 once each (nranks 2147483647)" -- "$tern" verify "$e2"
    quick 1 "tern info: $e2: damaged checkpoint: the node records do not list ranks 0..2147483646 once each (nranks 2147483647)" -- "$tern" info "$e2"
    damage attr / nranks 0 100000
    quick 2 "tern restart: $e2: damaged checkpoint: the node records do not list ranks 0..99999 once each (nranks 100000)" -- "$tern" restart --dir "$dir" --dry-run
    damage attr /nodes/000000 ranks 1 0
    quick 1 "tern ls: $e2: damaged checkpoint: the node records do not list ranks 0..1 once each (nranks 2)" -- "$tern" ls "$dir"
    previous_ok ;;
restart-needs)   # verify checks what a restart reads, not only the CRCs
    small 2 api
    damage name-byte /ranks/000000/segments 3 7 X
    expect 1 "tern verify: $e2: rank 0: segment '_tern_comms': not in checkpoint (an API-mode checkpoint needs it)" -- "$tern" verify "$e2"
    damage empty /ranks/000001/segments
    expect 1 "tern verify: $e2: rank 1: chunk index has 14 rows, the segments use 0" -- "$tern" verify "$e2"
    grep -q '^  rank 0: ok$' "$work/out" || fail "rank 0 not reported ok"
    small 3
    damage name-byte /ranks/000000/segments 0 1 X
    expect 1 "tern verify: $e2: rank 0: view 'raw' has no segment of that name" -- "$tern" verify "$e2"
    damage name-byte /ranks/000000/segments 0 1 /
    expect 1 "tern verify: $e2: rank 0: segment table: entry 0: bad name" -- "$tern" verify "$e2"
    damage name-byte /ranks/000001/segments 1 0 r
    "$edit" name-byte "$e2" /ranks/000001/segments 1 1 a && "$edit" name-byte "$e2" /ranks/000001/segments 1 2 w &&
        "$edit" name-byte "$e2" /ranks/000001/segments 1 3 "" || fail "renaming"
    expect 1 "tern verify: $e2: rank 1: segment 'raw': twice in the segment table" -- "$tern" verify "$e2"
    previous_ok ;;
not-regular)   # a FIFO or a device is refused without being opened for reading
    good 1 1048576
    mkfifo "$work/fifo"
    quick 1 "tern verify: $work/fifo: not a regular file" -- "$tern" verify "$work/fifo"
    quick 1 "tern info: /dev/null: not a regular file" -- "$tern" info /dev/null
    ln -s "$work/fifo" "$work/link.h5"
    quick 1 "tern info: $work/link.h5: not a regular file" -- "$tern" info "$work/link.h5"
    mkfifo "$e2"   # newer than MANIFEST's entries: the latest committed name
    quick 1 "tern verify: $e2: not a regular file" -- "$tern" verify "$dir"
    quick 1 "tern ls: $e2: not a regular file" -- "$tern" ls "$dir"
    rm -f "$e2"
    # MANIFEST a FIFO (tern ls DIR waited on it for ever), a device, a link
    m=$dir/MANIFEST
    mv "$m" "$work/MANIFEST"
    mkfifo "$m"
    quick 1 "tern ls: $m: not a regular file" -- "$tern" ls "$dir"
    quick 1 "tern verify: $m: not a regular file" -- "$tern" verify --all "$dir"
    quick 1 "tern info: $m: not a regular file" -- "$tern" info "$dir"
    # a writer refuses the directory, on every rank, and does not hang
    "${mpiexec[@]}" -n 2 "$st" write "$dir" 3 1000 >/dev/null 2>"$work/err" &&
        fail "writer succeeded"
    grep -qFx "$m: not a regular file" "$work/err" || { cat "$work/err"; fail "writer message"; }
    echo "ok: a writer refuses a FIFO named MANIFEST"
    rm -f "$m"
    ln -s /dev/zero "$m"
    quick 1 "tern ls: $m: not a regular file" -- "$tern" ls "$dir"
    rm -f "$m"
    ln -s "$work/MANIFEST" "$m"
    quick 1 "tern ls: $m: not a regular file" -- "$tern" ls "$dir"
    rm -f "$m"
    mv "$work/MANIFEST" "$m"
    previous_ok ;;
table-crc)   # the segment table's CRC (format 1.2): a byte no other check sees
    small 2
    read -r off _ <<<"$("$edit" where "$work/pristine.h5" /ranks/000001/segments)" || fail "where"
    # byte 1 of row 3's name (240-byte rows, the name first): 'text' becomes
    # 'tXxt', a valid name of a segment without a view, so only the CRC
    # tells; before it, verify said OK and a restart missed the segment
    damage byte $((off + 3 * 240 + 1)) 0x58
    crc="segment table: CRC mismatch \(stored [0-9a-f]{8}, computed [0-9a-f]{8}\)"
    expect 1 "~tern verify: $e2: rank 1: $crc" -- "$tern" verify "$e2"
    grep -q '^  rank 0: ok$' "$work/out" || fail "rank 0 not reported ok"
    expect 1 "~tern info: $e2: rank 1: $crc" -- "$tern" info "$e2"
    # a file of format 1.2 without the CRC is refused; an older one reads
    damage del-attr /ranks/000000/segments crc
    expect 1 "tern verify: $e2: rank 0: segment table: no CRC (format 1.2 writes one)" -- "$tern" verify "$e2"
    "$edit" attr "$e2" / tern_format_minor 0 1 || fail "set minor"
    "$tern" verify "$e2" >"$work/out" 2>&1 || { cat "$work/out"; fail "a 1.1 file without table CRCs does not verify"; }
    echo "ok: a format 1.1 file without table CRCs verifies"
    previous_ok ;;
one-line)   # HDF5's own stack never follows tern's line, even at exit
    small 2
    damage byte 42 0   # the superblock's end-of-file address
    expect 1 "~tern verify: $e2: damaged HDF5 file: addr overflow, addr = [0-9]+, size = [0-9]+, eoa = [0-9]+" -- "$tern" verify "$e2"
    a=$("$edit" header "$work/pristine.h5" /nodes/000000/topology) || fail "header"
    damage byte $((a + 10)) 0xff   # the topology's header size: read as ""
    "$tern" info "$e2" >"$work/out" 2>"$work/err" || fail "info exit $?"
    [ ! -s "$work/err" ] || { cat "$work/err"; fail "info printed on stderr"; }
    grep -q "(topology 0 bytes of hwloc XML)" "$work/out" || fail "topology not empty"
    echo "ok: a damaged topology reads as empty, nothing on stderr"
    previous_ok ;;
*) fail "unknown case" ;;
esac
echo "PASS $case_"
