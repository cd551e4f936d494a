# common.sh: sourced by the drivers in tests/protocol.
#
# proto_work NAME: the launcher ($MPIEXEC: TERN_MPIEXEC, else mpirun), Open
# MPI allowed to run as root (CI and these VMs are root), and a fresh work
# directory $work (/tmp/tern-NAME.XXXXXX) removed when the driver exits.
proto_work() {
  MPIEXEC=${TERN_MPIEXEC:-mpirun}
  export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
  work=$(mktemp -d "/tmp/tern-$1.XXXXXX") || exit 2
  trap 'rm -rf "$work"' EXIT
}
