# common.sh: the start every dumper test script shares (source it).
# dmp_setup NAME: closes the fds inherited from ctest (a dumped program would
# take them along: pipes are refused, other fds restored pointlessly), sets
# umask 022 (restore takes only images no one else can write, docs/dumper.md)
# and makes the work directory $W, /tmp/tern-dumper-NAME.XXXXXX.
dmp_setup() {
  local fd
  for fd in $(ls /proc/$$/fd); do
    [ "$fd" -gt 2 ] 2>/dev/null && eval "exec $fd>&-" 2>/dev/null
  done
  umask 022
  W=$(mktemp -d "/tmp/tern-dumper-$1.XXXXXX")
}
