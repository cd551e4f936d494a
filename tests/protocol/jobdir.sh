#!/bin/bash
# jobdir.sh CASE TERN APP LIBTERN: the job directory as the ranks see it (issue 14,
# section 3; docs/security.md, "Job directories"). Rank 0 uses it only when
# it is the user's and no one else can write it, follows no link in it, and
# ignores the files in it that are not the user's. Each case sets up what
# another user (nobody) could have done, runs APP (the ring workload, 3
# ranks) with TERN_DIR there -- under plain mpirun, as the tern command
# refuses such a directory before it starts anything -- and checks every
# "tern:" line on stderr exactly, that nothing was written through a link
# or into a directory another user could steer, and that the job's answer
# is the reference.
#   other     the job directory is nobody's       } refused at MPI_Init; a
#   open      root's, mode 0777                   } checkpoint asked for by a
#   link      a symbolic link to root's directory } signal fails; the job goes on
#   links     events and a request answer are symbolic links, and so is the
#             temporary name answers were once written under (.tmp-done-ID)
#   requests  request files of nobody's, group-writable, a FIFO: each ignored
#             with one line, once; no checkpoint taken, no answer written
#   umask     under umask 002 neither tern run nor the job (nor a job under
#             plain mpirun that makes its TERN_DIR) makes anything
#             group-writable, a request is answered, tern verify accepts the
#             checkpoint
#   umask.restart  ... and tern restart of that checkpoint gives the answer
#   nobody    the job run by nobody: a job directory of root's is refused, and
#             in one of nobody's a request of root's is ignored
# Needs root, to act as nobody.
set -u
case=$1 tern=$2 app=$3 lib=$4
source "$(dirname "$0")/common.sh"
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root, to act as another user"; exit 0; }
id nobody >/dev/null 2>&1 && getent group nogroup >/dev/null ||
    { echo "SKIP: no user nobody / group nogroup"; exit 0; }
proto_work jobdir
chmod 755 "$work"
cd "$work" || exit 2
umask 022
NB=$(id -u nobody)
ARGS=(--iters 2000 --sleep-us 1000)
die() { echo "FAIL: $*" >&2; for f in "$work"/*.err; do [ -s "$f" ] && { echo "--- $f" >&2; tail -20 "$f" >&2; }; done; exit 1; }
AS=() XENV=()   # the job's user (nobody: setpriv) and what it needs passed on
mpi() { "${AS[@]}" "$MPIEXEC" --oversubscribe --bind-to none -np 3 "${XENV[@]}" "$@"; }
result() { grep '^RESULT' "$1"; }
printf "root's data\n" > victim
chmod 600 victim
intact() { [ "$(cat victim)" = "root's data" ] || die "written through a link: $(cat victim)"; }
is_link() { [ "$(readlink "$1")" = "$work/victim" ] || die "$1 is no longer the link planted"; }
# the "tern:" lines of FILE are exactly the lines given (in any order)
lines() {
    local f=$1
    shift
    diff <(grep '^tern:' "$f" | sort) <(printf '%s\n' "$@" | sort) >/dev/null ||
        die "$f: got $(grep '^tern:' "$f" | sed 's/.*/[&]/' | tr '\n' ' '), expected $(printf '[%s] ' "$@")"
}
# until FILE holds LINE (10 s at most)
await() { for _ in $(seq 1 500); do grep -qxF "$2" "$1" 2>/dev/null && return 0; sleep 0.02; done; return 1; }

mpi "$app" "${ARGS[@]}" > ref.out 2> ref.err || die "reference run failed"
ref=$(result ref.out)
[ -n "$ref" ] || die "the reference run printed no RESULT"

# DIR WHY: the job directory DIR is refused at MPI_Init with one line,
# a checkpoint a signal asks for fails naming it, nothing is read from it
# or written into it, the job ends with the reference answer
refused_dir() {
    local d=$1 why="$1: $2: refusing to use it" before
    before=$(ls -lA --time-style=+%s "$d/")
    (exec "${AS[@]}" "$MPIEXEC" --oversubscribe --bind-to none -np 3 "${XENV[@]}" -x TERN_DIR="$d" \
        "$app" "${ARGS[@]}" > run.out 2> run.err) &
    local pid=$!
    await run.err "tern: rank 0: $why; no checkpoint will be taken" || die "no refusal at MPI_Init"
    kill -USR1 $pid
    await run.err "tern: rank 0: checkpoint epoch 1 failed: $why" || die "the checkpoint did not fail"
    wait $pid || die "the job failed: status $?"
    lines run.err "tern: rank 0: $why; no checkpoint will be taken" \
        "tern: rank 0: checkpoint epoch 1 failed: $why"
    [ "$(ls -lA --time-style=+%s "$d/")" = "$before" ] || die "$d changed: $(ls -A "$d")"
    [ "$(result run.out)" = "$ref" ] || die "answer $(result run.out), not $ref"
    echo "ok: $why"
}

case $case in
other)
    mkdir -m 755 theirs
    printf 'checkpoint\n' > theirs/request.theirs   # never read: no answer
    chown -R nobody:nogroup theirs
    refused_dir "$work/theirs" "owned by uid $NB, not by you (uid 0)" ;;
open)
    mkdir open
    chmod 777 open
    printf 'checkpoint\n' > open/request.1
    refused_dir "$work/open" "writable by group and others (mode 0777)" ;;
link)
    mkdir -m 755 real
    ln -s real link
    refused_dir "$work/link" "is a symbolic link"
    [ -z "$(ls -A real)" ] || die "written through the link: $(ls -A real)" ;;
links)
    d=$work/job
    mkdir -m 755 "$d"
    ln -s "$work/victim" "$d/events"
    printf 'checkpoint\n' > "$d/request.r1"
    ln -s "$work/victim" "$d/.tmp-done-r1"     # the name its answer was once written under first
    printf 'checkpoint\n' > "$d/request.r2"
    ln -s "$work/victim" "$d/request.r2.done"  # an answer planted as a link: r2 is not served
    mpi -x TERN_DIR="$d" "$app" "${ARGS[@]}" > run.out 2> run.err || die "the job failed: status $?"
    lines run.err "tern: rank 0: $d/events: is a symbolic link: refusing to use it" \
        "tern: rank 0: $d/request.r2.done: is a symbolic link: refusing to use it"
    intact
    is_link "$d/events"; is_link "$d/.tmp-done-r1"; is_link "$d/request.r2.done"
    [ -f "$d/request.r1.done" ] && [ ! -L "$d/request.r1.done" ] || die "request.r1 not answered"
    [ "$(stat -c %a "$d/request.r1.done")" = 644 ] || die "request.r1.done: mode $(stat -c %a "$d/request.r1.done")"
    grep -q "^committed 1 $d/ckpt-000001.h5\$" "$d/request.r1.done" || die "request.r1.done: $(cat "$d/request.r1.done")"
    [ -z "$(ls -A "$d" | grep '^\.tmp-' | grep -vx '\.tmp-done-r1')" ] || die "leftovers: $(ls -A "$d")"
    [ "$(result run.out)" = "$ref" ] || die "answer $(result run.out), not $ref"
    echo "ok: links refused, not followed; request.r1 answered" ;;
requests)
    d=$work/job
    mkdir -m 755 "$d"
    printf 'checkpoint\n' > "$d/request.theirs"
    chown nobody "$d/request.theirs"
    printf 'checkpoint-and-stop\n' > "$d/request.gw"
    chmod 664 "$d/request.gw"
    mkfifo "$d/request.fifo"                   # would block a reader for good
    mpi -x TERN_DIR="$d" "$app" "${ARGS[@]}" > run.out 2> run.err || die "the job failed: status $?"
    lines run.err "tern: rank 0: $d/request.theirs: owned by uid $NB, not by you (uid 0): refusing to use it" \
        "tern: rank 0: $d/request.gw: writable by group (mode 0664): refusing to use it" \
        "tern: rank 0: $d/request.fifo: not a regular file: refusing to use it"
    ls "$d"/*.done "$d"/ckpt-* > /dev/null 2>&1 && die "a request was served: $(ls -A "$d")"
    [ "$(cat "$d/events")" = "$(grep '^started ' "$d/events")" ] || die "events: $(cat "$d/events")"
    [ "$(result run.out)" = "$ref" ] || die "answer $(result run.out), not $ref"
    echo "ok: three requests ignored, each said once" ;;
umask|umask.restart)
    d=$work/made/job
    (umask 002 && exec "$tern" run --quiet --dir "$d" -- --oversubscribe --bind-to none -np 3 "$app" "${ARGS[@]}" > run.out 2> run.err) &
    pid=$!
    for _ in $(seq 1 500); do grep -q '^started ' "$d/events" 2>/dev/null && break; sleep 0.02; done
    (umask 002 && printf 'checkpoint\n' > "$d/.tmp-r1" && chmod 644 "$d/.tmp-r1" && mv "$d/.tmp-r1" "$d/request.r1")
    for _ in $(seq 1 500); do [ -s "$d/request.r1.done" ] && break; sleep 0.02; done
    wait $pid || die "tern run failed: status $?"
    grep -q '^committed 1 ' "$d/request.r1.done" || die "request.r1.done: $(cat "$d/request.r1.done" 2>/dev/null)"
    [ "$(result run.out)" = "$ref" ] || die "answer $(result run.out), not $ref"
    # what tern run and libtern made (the store's own files are storage/'s)
    modes=$(stat -c '%n %a' "$work/made" "$d" "$d/job" "$d/events" "$d/request.r1.done")
    [ "$modes" = "$(printf '%s 755\n%s 755\n%s 644\n%s 644\n%s 644' "$work/made" "$d" "$d/job" "$d/events" "$d/request.r1.done")" ] ||
        die "modes under umask 002: $(echo "$modes" | tr '\n' ' ')"
    "$tern" verify "$d/ckpt-000001.h5" > verify.out 2> verify.err || die "tern verify: $(cat verify.err)"
    # a TERN_DIR libtern makes itself, with its parents
    (umask 002 && exec "$MPIEXEC" --oversubscribe --bind-to none -np 3 -x TERN_DIR="$work/plain/job" "$app" \
        --iters 100 --sleep-us 1000 > plain.out 2> plain.err) || die "plain run: status $?"
    modes=$(stat -c '%n %a' "$work/plain" "$work/plain/job" "$work/plain/job/events")
    [ "$modes" = "$(printf '%s 755\n%s 755\n%s 644' "$work/plain" "$work/plain/job" "$work/plain/job/events")" ] ||
        die "modes under umask 002: $(echo "$modes" | tr '\n' ' ')"
    echo "ok: nothing group-writable under umask 002; tern verify accepts the checkpoint"
    if [ "$case" = umask.restart ]; then
        (umask 002 && exec "$tern" restart --quiet --dir "$d") > rst.out 2> rst.err || die "tern restart: $(cat rst.err)"
        grep -q '^RESUMED' rst.out || die "the restarted job did not resume"
        [ "$(result rst.out)" = "$ref" ] || die "restarted: $(result rst.out), not $ref"
        echo "ok: tern restart of it gives the reference answer"
    fi ;;
nobody)
    # the build tree need not be open to nobody: the job from copies
    mkdir -m 755 bin
    cp "$app" bin/app
    cp "$lib" "bin/$(readelf -d "$lib" | sed -n 's/.*SONAME.*\[\(.*\)\]/\1/p')"
    chmod -R a+rX bin
    app=$work/bin/app
    chown nobody "$work"
    AS=(setpriv --reuid=nobody --regid=nogroup --clear-groups env HOME="$work" LD_LIBRARY_PATH="$work/bin")
    XENV=(-x LD_LIBRARY_PATH)
    mkdir -m 755 roots
    refused_dir "$work/roots" "owned by uid 0, not by you (uid $NB)"
    d=$work/mine
    mkdir -m 755 "$d"
    chown nobody "$d"
    printf 'checkpoint\n' > "$d/request.root"     # root's, in nobody's directory
    mpi -x TERN_DIR="$d" "$app" "${ARGS[@]}" > run.out 2> run.err || die "the job failed: status $?"
    lines run.err "tern: rank 0: $d/request.root: owned by uid 0, not by you (uid $NB): refusing to use it"
    ls "$d"/*.done "$d"/ckpt-* > /dev/null 2>&1 && die "the request was served: $(ls -A "$d")"
    [ "$(stat -c %U "$d/events")" = nobody ] || die "events: $(ls -l "$d/events")"
    [ "$(result run.out)" = "$ref" ] || die "answer $(result run.out), not $ref"
    echo "ok: as nobody, root's directory refused and root's request ignored" ;;
*) die "unknown case $case" ;;
esac
echo PASS
