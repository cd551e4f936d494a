#!/bin/bash
# Dumper benchmark (not a test): image size of a tiny program, dump and
# restore of a big random heap, against the physical limits measured in the
# same run on the same disk (dd with fdatasync, memcpy, reading the image).
#   bench/dump_bench.sh [TERN] [MiB]      defaults: build-dumper/jobs/tern 512
# Writes under $TMPDIR (default /tmp); needs ~3x MiB of free space.
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
TERN=$(readlink -f "${1:-$HERE/../build-dumper/jobs/tern}")
MIB=${2:-512}
W=$(mktemp -d "${TMPDIR:-/tmp}/tern-dump-bench.XXXXXX")
PIDS=""
trap 'for p in $PIDS; do kill -9 $p 2>/dev/null || true; done; rm -rf "$W"' EXIT
for fd in $(ls /proc/$$/fd); do
  [ "$fd" -gt 2 ] 2>/dev/null && eval "exec $fd>&-" 2>/dev/null || true
done
cd "$W"
cc -O2 -o heap "$HERE/dump_heap.c"
cc -O2 -o memcpy "$HERE/dump_memcpy.c"
cc -O2 -o tiny "$HERE/../tests/dumper/progs/counter.c"
now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.3f", b-a}'; }

# 1. a tiny C program
"$TERN" exec -- ./tiny 1000 10 > tiny.out < /dev/null &
pid=$!; PIDS="$PIDS $pid"
sleep 0.3
"$TERN" dump "$pid" -o tiny.h5 --stop -q
wait "$pid" 2>/dev/null || true
tiny_bytes=$(stat -c %s tiny.h5)

# 2. dump of a random heap
"$TERN" exec -- ./heap "$MIB" > heap.out < /dev/null &
pid=$!; PIDS="$PIDS $pid"
until grep -q ready heap.out 2>/dev/null; do sleep 0.05; done
sync
t0=$(now)
"$TERN" dump "$pid" -o big.h5 --stop 2> dump.log
t1=$(now)
wait "$pid" 2>/dev/null || true
dump_s=$(secs "$t0" "$t1")
img_bytes=$(stat -c %s big.h5)

# 3. physical limits on the same bytes
t0=$(now); dd if=big.h5 of=raw.bin bs=4M conv=fdatasync status=none; t1=$(now)
dd_s=$(secs "$t0" "$t1")
rm -f raw.bin
memcpy_s=$(./memcpy "$MIB" | awk '{print $1}')
# cold cache when we may drop it (root), the way a restart after a failure sees it
# (tern's own libraries - MPI, HDF5, hwloc - are warmed again: loading them
# is not part of reading an image)
cold() { [ "$(id -u)" = 0 ] && { sync; echo 3 > /proc/sys/vm/drop_caches; "$TERN" --help > /dev/null; } || true; }
cold
t0=$(now); dd if=big.h5 of=/dev/null bs=4M status=none; t1=$(now)
read_s=$(secs "$t0" "$t1")
t0=$(now); dd if=big.h5 of=/dev/null bs=4M status=none; t1=$(now)
readwarm_s=$(secs "$t0" "$t1")
t0=$(now); "$TERN" verify big.h5 > /dev/null; t1=$(now)
verify_s=$(secs "$t0" "$t1")

# 4. restore: from launching `tern restore` to the program running again
# (the restored program's stdout is heap.out again: restore reopens it)
restore_run() { # -> restore_s touched_s
  rm -f go
  local t0 rpid run_ns sum_ns
  t0=$(date +%s%N)
  "$TERN" restore big.h5 < /dev/null &
  rpid=$!; PIDS="$PIDS $rpid"
  touch go
  wait "$rpid"
  run_ns=$(awk '/^running/{v=$2} END{print v}' heap.out)
  sum_ns=$(awk '/^sum/{v=$3} END{print v}' heap.out)
  restore_s=$(awk -v a="$t0" -v b="$run_ns" 'BEGIN{printf "%.3f", (b-a)/1e9}')
  touched_s=$(awk -v a="$t0" -v b="$sum_ns" 'BEGIN{printf "%.3f", (b-a)/1e9}')
}
cold
restore_run
restore_cold_s=$restore_s touched_cold_s=$touched_s
restore_run

cat <<EOT
kernel $(uname -r), $(nproc) cpus, heap ${MIB} MiB random, image ${img_bytes} bytes
tiny C program image (uncompressed):   ${tiny_bytes} bytes (limit 1048576)
dump --stop:                           ${dump_s} s   ($(grep -o 'capture [0-9.]* s, write [0-9.]* s' dump.log))
raw disk write, dd conv=fdatasync:     ${dd_s} s   -> dump reaches $(awk -v a="$dd_s" -v b="$dump_s" 'BEGIN{printf "%.2f", a/b}') x raw write (goal >= 0.8)
memcpy of ${MIB} MiB:                   ${memcpy_s} s
read image back, cold cache (dd):      ${read_s} s
read image back, warm cache (dd):      ${readwarm_s} s
read image back through the store with CRC checks (tern verify, warm): ${verify_s} s
restore until running, cold cache:     ${restore_cold_s} s   -> $(awk -v a="$restore_cold_s" -v b="$read_s" 'BEGIN{printf "%.2f", a/b}') x cold read (goal <= 1.5)
restore until every page was read:     ${touched_cold_s} s (cold)
restore until running, warm cache:     ${restore_s} s   -> $(awk -v a="$restore_s" -v b="$verify_s" 'BEGIN{printf "%.2f", a/b}') x store read
restore until every page was read:     ${touched_s} s (warm)
EOT
