# common.sh: what the transparent-mode test drivers share (sourced).
#   TERN_PROXY    tern-proxy (CTest sets it)
#   TERN_MPIEXEC  mpirun (default: mpirun from PATH)
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
: "${TERN_MPIEXEC:=mpirun}"
: "${TERN_PROXY:?TERN_PROXY must name tern-proxy}"
work=$(mktemp -d "${TMPDIR:-/tmp}/tern-tm.XXXXXX") || exit 2
[ -n "${TERN_TM_KEEP:-}" ] || trap 'rm -rf "$work"' EXIT

# tm_mpirun NP CMD...: one job (a hang is a failure, not a stuck test)
tm_mpirun() {
    local np=$1; shift
    timeout -k 5 "${TM_TIMEOUT:-120}" "$TERN_MPIEXEC" --oversubscribe --bind-to none -np "$np" "$@" </dev/null
}

# tm_no_orphans PROGRAM: no live process of PROGRAM (or of a proxy running
# it) is left once its job has ended; waits up to 3 s for the last ones to go
tm_no_orphans() {
    local name; name=$(basename "$1")
    local i left
    for i in $(seq 30); do
        left=$(ps -eo pid=,stat=,comm=,args= | awk -v n="$name" '$2 !~ /^Z/ && ($3 == substr(n, 1, 15) || $0 ~ "tern-proxy -- .*" n) {print $1}')
        [ -z "$left" ] && return 0
        sleep 0.1
    done
    echo "FAIL: processes left after the job of $name: $(ps -o pid=,stat=,args= -p "$(echo $left | tr ' ' ,)")"
    return 1
}
