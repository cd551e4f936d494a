#!/bin/bash
# storage.fail.*: a checkpoint that fails never stops the job (issue 14).
# Every case runs the cg workload under `tern run`, takes checkpoints with
# `tern checkpoint`, makes some of them fail, and asserts: each failure is
# one line naming the step and the cause, no .partial file is left, the
# latest committed checkpoint still verifies, a later checkpoint commits,
# and the job ends with the answer of an uninterrupted run.
#
#   fail.sh CASE NP TERN CG CKPT_PAGES STORE_TEST MPIEXEC...
# CASE:
#   points   the store's test hook (TERN_STORE_TEST_FAIL) fails one step on
#            one rank per checkpoint: layout, data, index, reserve, close,
#            fsync, rename
#   layout, data, index, close
#            a real full disk: a small tmpfs is filled (a filler file) so
#            that the next checkpoint runs out of room in that phase; the
#            room is computed from the pages the first checkpoint's phases
#            wrote (ckpt_pages)
#   fits     the room left is what the checkpoint needs plus the stated
#            reservation margin: it must commit (issue 14: it was refused)
#   notwritable
#            the directory becomes unwritable for the job's user (nobody):
#            "DIR: not writable (permission denied)", for the store alone
#            and for interval checkpoints of a running job; a read-only
#            file system says "(read-only file system)"
set -u
case_=$1 np=$2 tern=$3 cg=$4 pages=$5 st=$6
shift 6
mpiexec=("$@")
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
work=$(mktemp -d /tmp/tern-storage-fail.XXXXXX)
mnt="" runner=""
# The job runs in a session of its own (setsid), so that a job left
# hanging (the defect this tests) goes with its whole process group.
cleanup() {
    if [ -n "$runner" ]; then
        kill -TERM -- "-$runner" 2>/dev/null
        wait "$runner" 2>/dev/null
    fi
    # the job's last processes may still hold files there for a moment
    for _ in $(seq 50); do [ -z "$mnt" ] || umount "$mnt" 2>/dev/null && break; sleep 0.1; done
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP PIPE
fail() {
    echo "FAIL ($case_): $*" >&2
    for f in "$work/run.out" "${dir:-/nonexistent}/events"; do
        [ -s "$f" ] && { echo "--- $f" >&2; tail -20 "$f" >&2; }
    done
    exit 1
}
say() { echo "ok: $*"; }
PAGE=4096
MARGIN_PAGES=4      # the reservation's margin, write_close.c (16 KiB)

# The same cg run without tern's checkpoints: the answer every case must get.
reference() {
    "${mpiexec[@]}" -np "$np" "$cg" "${args[@]}" --sleep-us 0 >"$work/ref.out" 2>&1 ||
        { cat "$work/ref.out"; fail "reference run"; }
    ref=$(grep '^RESULT' "$work/ref.out")
    [ -n "$ref" ] || fail "no RESULT in the reference run"
}

# Starts the job in the background. No compression: whether deflate pays is
# measured at run time, and the disk cases need each checkpoint's pages to
# be those of the first one.
start_job() {
    setsid timeout -k 5 100 "$tern" run --compress 0 --dir "$dir" -- "${mpiexec[@]}" -np "$np" \
        "$cg" "${args[@]}" >"$work/run.out" 2>&1 &
    runner=$!
    for _ in $(seq 200); do grep -qs '^started' "$dir/events" && return; sleep 0.05; done
    fail "the job did not start"
}

finish_job() {
    wait "$runner"; local s=$?
    runner=""
    [ "$s" = 0 ] || fail "the job exited $s"
    local got; got=$(grep '^RESULT' "$work/run.out")
    [ "$got" = "$ref" ] || fail "answer '$got', want '$ref'"
    say "the job finished with the reference answer ($ref)"
}

checkpoint_ok() {   # EPOCH
    local out
    out=$("$tern" checkpoint --timeout 60 "$dir" 2>"$work/ck.err") ||
        { cat "$work/ck.err" >&2; fail "checkpoint $1 failed"; }
    [ "$out" = "$dir/ckpt-$(printf %06d "$1").h5" ] || fail "checkpoint printed '$out'"
    "$tern" verify "$out" >/dev/null || fail "epoch $1 does not verify"
    say "epoch $1 committed and verifies"
}

# checkpoint_fails EPOCH REGEX: exit 1, one line, naming the .partial file
# and then matching REGEX; no .partial left; the latest committed (LAST)
# checkpoint still verifies and is still the latest.
checkpoint_fails() {
    local e=$1 want=$2 s
    "$tern" checkpoint --timeout 60 "$dir" >/dev/null 2>"$work/ck.err"; s=$?
    [ "$s" = 1 ] || { cat "$work/ck.err" >&2; fail "epoch $e: tern checkpoint exit $s, want 1"; }
    [ "$(wc -l <"$work/ck.err")" = 1 ] || { cat "$work/ck.err" >&2; fail "epoch $e: not one line"; }
    local p; p="$dir/ckpt-$(printf %06d "$e").h5.partial"
    local line; line=$(cat "$work/ck.err")
    [[ "$line" =~ ^"tern checkpoint: $dir: checkpoint failed: $p: "${want}$ ]] ||
        fail "epoch $e: '$line' does not match '$want'"
    ls "$dir" | grep -q 'partial' && fail "epoch $e: a partial file is left: $(ls "$dir")"
    "$tern" verify "$dir" >/dev/null || fail "epoch $e: the latest committed checkpoint does not verify"
    [ "$("$tern" ls "$dir" | awk 'NR > 1 {e = $1} END {print e}')" = "$LAST" ] ||
        fail "epoch $e: latest committed is not $LAST"
    say "epoch $e failed: ${line#*checkpoint failed: }"
}

# --- the test hook: every step on some rank -------------------------------
points() {
    local last=$((np - 1))
    # epoch: rank:step; fsync and rename happen on rank 0 only (the node's
    # leader, the committing rank)
    local plan="2:$last:layout 3:0:data 4:1:index 5:0:reserve 6:$last:close 7:0:fsync 8:0:rename"
    local hook="" p e r s
    for p in $plan; do
        IFS=: read -r e r s <<<"$p"
        hook="$hook${hook:+,}$r:$e:$s"
    done
    export TERN_STORE_TEST_FAIL=$hook
    args=(--size 4096 --iters 2500 --sleep-us 4000)
    reference
    start_job
    checkpoint_ok 1
    LAST=1
    local R='rank [0-9]+: '
    checkpoint_fails 2 "${R}writing [^:]+: No space left on device"
    checkpoint_fails 3 "${R}writing chunk data: No space left on device"
    checkpoint_fails 4 "${R}writing segment table: No space left on device"
    checkpoint_fails 5 "reserving [0-9]+ bytes: No space left on device"
    checkpoint_fails 6 "rank $last: close: No space left on device"
    checkpoint_fails 7 "fsync: No space left on device"
    checkpoint_fails 8 "rename: No space left on device"
    checkpoint_ok 9
    finish_job
    [ "$(grep -c '^failed ' "$dir/events")" = 7 ] || fail "events: $(grep -c '^failed ' "$dir/events") failures, want 7"
}

# --- a real full disk -----------------------------------------------------
mount_small() {
    mnt=$work/mnt
    mkdir -p "$mnt"
    mount -t tmpfs -o size=64m tmpfs "$mnt" || { mnt=""; fail "cannot mount a tmpfs"; }
    dir=$mnt/job
}

free_pages() { stat -f -c %a "$mnt"; }

# leave FREE pages free (plus one for the request file `tern checkpoint`
# writes into the job directory before the attempt)
fill_to() {
    rm -f "$mnt/filler"
    local n=$(( $(free_pages) - $1 - 1 ))
    [ "$n" -gt 0 ] || fail "cannot leave $1 pages free"
    fallocate -l $((n * PAGE)) "$mnt/filler" || fail "fallocate filler"
}

disk() {
    mount_small
    args=(--size 65536 --iters 1250 --sleep-us 4000)
    reference
    start_job
    checkpoint_ok 1
    LAST=1
    local L D T M P
    read -r _ L _ D _ T _ M _ P <<<"$("$pages" "$dir/ckpt-000001.h5")" || fail "ckpt_pages"
    echo "epoch 1 writes: layout $L, data $D, index $T pages; the rest $M (file $P pages)"
    local R='rank [0-9]+: '
    case $case_ in
    layout) fill_to $((L / 2))
            checkpoint_fails 2 "${R}writing [^:]+: No space left on device" ;;
    data)   [ "$D" -ge 2 ] || fail "too few data pages ($D) to fail in the middle"
            fill_to $((L + D / 2))
            checkpoint_fails 2 "${R}writing chunk data: No space left on device" ;;
    index)  # Room for all data and all but one page of the tables. A rank
            # writes its tables as soon as its own last data round is out
            # (that failure is agreed on in the tables' exchange), so which
            # write meets the full disk first is a race between ranks: a
            # chunk write of a slow rank can lose it, and is then the root
            # cause reported. The points case fails the index exactly.
            [ "$T" -ge 1 ] || fail "no index pages of their own"
            fill_to $((L + D + T - 1))
            checkpoint_fails 2 "${R}writing (segment table|chunk index|chunk data): No space left on device" ;;
    close)  fill_to $((L + D + T))
            checkpoint_fails 2 "reserving [0-9]+ bytes: No space left on device" ;;
    fits)   # everything the checkpoint writes, its reservation margin, and
            # two pages for the MANIFEST rewrite and the answer file
            fill_to $((P + MARGIN_PAGES + 2))
            checkpoint_ok 2
            "$tern" verify "$dir/ckpt-000001.h5" >/dev/null || fail "epoch 1 no longer verifies"
            rm -f "$mnt/filler"
            finish_job
            return ;;
    esac
    rm -f "$mnt/filler"
    checkpoint_ok 3
    local again; again=$("$pages" "$dir/ckpt-000003.h5" | awk '{print $2, $4, $6}')
    [ "$again" = "$L $D $T" ] || echo "note: epoch 3 writes layout/data/index $again pages, epoch 1 $L $D $T"
    finish_job
}

# --- a directory that is not writable -------------------------------------
notwritable() {
    local nobody=(setpriv --reuid=nobody --regid=nogroup --clear-groups)
    chmod 755 "$work"
    # the store alone, as nobody, on a directory of root's
    mkdir "$work/roots"
    "${nobody[@]}" "${mpiexec[@]}" -np "$np" "$st" write "$work/roots" 1 1000 >/dev/null 2>"$work/err" &&
        fail "nobody wrote into root's directory"
    expect_line "$work/roots: not writable (permission denied)"
    # a read-only file system, as root
    mount_small
    mkdir "$dir"
    mount -o remount,ro "$mnt" || fail "remount ro"
    "${mpiexec[@]}" -np "$np" "$st" write "$dir" 1 1000 >/dev/null 2>"$work/err" && fail "wrote on a read-only fs"
    expect_line "$dir: not writable (read-only file system)"
    umount "$mnt" && mnt=""
    # a running job (nobody's) whose directory stops being writable: its
    # interval checkpoints fail with that line, the job goes on
    dir=$work/job
    mkdir "$dir" && chown nobody:nogroup "$dir"
    args=(--size 4096 --iters 1500 --sleep-us 4000)
    reference
    setsid "${nobody[@]}" timeout -k 5 100 "$tern" run --interval 0.3 --dir "$dir" -- \
        "${mpiexec[@]}" -np "$np" "$cg" "${args[@]}" >"$work/run.out" 2>&1 &
    runner=$!
    wait_event '^committed epoch=' "a first checkpoint"
    chmod 555 "$dir"
    wait_event '^failed epoch=' "a failed checkpoint"
    chmod 755 "$dir"
    local n; n=$(grep -c '^committed' "$dir/events")
    wait_event "^committed epoch=" "a checkpoint after the failure" $((n + 1))
    local line="$dir: not writable (permission denied)"
    grep -q "^failed epoch=[0-9]* reason=$line$" "$dir/events" || fail "events: $(grep failed "$dir/events")"
    grep -q "^tern: checkpoint epoch [0-9]* failed: $line\$" "$work/run.out" || fail "no failure line in the job's output"
    # told once: by tern run from the event, not also by rank 0
    grep -q "^tern: rank 0: checkpoint epoch [0-9]* failed" "$work/run.out" && fail "the failure was told twice: $(grep 'failed:' "$work/run.out" | head -4)"
    say "job: $(grep -m1 'failed:' "$work/run.out")"
    finish_job
}

# expect_line LINE: store_test's message (its rank 0 prints it; mpirun's own
# report of the exit status follows)
expect_line() {
    grep -qFx "$1" "$work/err" || { cat "$work/err" >&2; fail "no line '$1'"; }
    say "$1"
}

# wait_event REGEX WHAT [COUNT]: until the events file has COUNT (1) such lines
wait_event() {
    for _ in $(seq 400); do
        local n; n=$(grep -cs "$1" "$dir/events")
        [ "${n:-0}" -ge "${3:-1}" ] && return
        sleep 0.05
    done
    fail "no $2"
}

case $case_ in
points) dir=$work/job; points ;;
layout|data|index|close|fits) disk ;;
notwritable) notwritable ;;
*) fail "unknown case" ;;
esac
echo "PASS $case_ np$np"
