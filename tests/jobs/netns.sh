#!/bin/bash
# Several "nodes" on one machine: network namespaces on a bridge, each with
# its own address (198.18.77.0/24, the benchmarking test range, reached only
# by these namespaces) and its own host name (UTS namespace at exec time and a
# hosts file that `ip netns exec` bind-mounts over /etc/hosts).
#
# Source it, then:
#   netns_up N            make nodes ${TJ_PREFIX}n1..nN and a head node ${TJ_PREFIX}head
#   netns_exec NODE CMD.. run CMD on NODE (own netns, own hostname)
#   netns_kill NODE       "node failure": SIGKILL everything in NODE's namespace
#   netns_down            remove it all (also called from the EXIT trap)
#   TJ_AGENT              the mpirun launcher agent (plm_rsh_agent)
#   TJ_MCA                mpirun options for TCP over the namespaces' interface
# netns_can / netns_up return 77 (the SKIP code) when namespaces cannot be made.
TJ_PREFIX=${TJ_PREFIX:-tj}
TJ_NET=${TJ_NET:-198.18.77}
TJ_BR=${TJ_PREFIX}br0
TJ_IF=tern0
TJ_WORK=${TJ_WORK:-$(mktemp -d /tmp/tern-netns.XXXXXX)}
TJ_AGENT=$TJ_WORK/agent.sh
TJ_NODES=()
TJ_MCA=(--mca plm_rsh_agent "$TJ_AGENT" --mca btl tcp,self
        --mca btl_tcp_if_include "$TJ_IF" --mca oob_tcp_if_include "$TJ_IF"
        --mca plm_rsh_no_tree_spawn 1)

netns_can() {
  [ "$(id -u)" = 0 ] || { echo "SKIPPED: not root, cannot make network namespaces"; return 77; }
  command -v ip >/dev/null && command -v unshare >/dev/null ||
    { echo "SKIPPED: ip/unshare missing"; return 77; }
  ip netns add "${TJ_PREFIX}probe" 2>/dev/null ||
    { echo "SKIPPED: cannot create network namespaces here"; return 77; }
  ip netns del "${TJ_PREFIX}probe"
  return 0
}

_netns_node() { # NAME INDEX
  local n=$1 i=$2
  ip netns add "$n"
  ip link add "${TJ_PREFIX}v$i" type veth peer name "$TJ_IF" netns "$n"
  ip link set "${TJ_PREFIX}v$i" master "$TJ_BR" up
  ip -n "$n" addr add "$TJ_NET.$((10 + i))/24" dev "$TJ_IF"
  ip -n "$n" link set "$TJ_IF" up
  ip -n "$n" link set lo up
  mkdir -p "/etc/netns/$n"
  cp "$TJ_WORK/hosts" "/etc/netns/$n/hosts"
}

_netns_stale() { # leftovers of a run that was killed (e.g. by a CTest timeout)
  local n
  for n in $(ip netns list 2>/dev/null | awk '{print $1}' | grep -E "^${TJ_PREFIX}(head|n[0-9]+)\$"); do
    netns_kill "$n"
    ip netns del "$n" 2>/dev/null
    rm -rf "/etc/netns/$n"
  done
  ip link del "$TJ_BR" 2>/dev/null
  return 0
}

netns_up() { # N
  local nn=$1 i
  netns_can || return $?
  _netns_stale
  trap netns_down EXIT
  trap 'exit 130' INT TERM
  : > "$TJ_WORK/hosts"
  printf '127.0.0.1 localhost\n' >> "$TJ_WORK/hosts"
  printf '%s.%d %shead\n' "$TJ_NET" 10 "$TJ_PREFIX" >> "$TJ_WORK/hosts"
  for ((i = 1; i <= nn; i++)); do
    printf '%s.%d %sn%d\n' "$TJ_NET" $((10 + i)) "$TJ_PREFIX" "$i" >> "$TJ_WORK/hosts"
    TJ_NODES+=("${TJ_PREFIX}n$i")
  done
  ip link add "$TJ_BR" type bridge || return 77
  ip link set "$TJ_BR" up
  _netns_node "${TJ_PREFIX}head" 0
  for ((i = 1; i <= nn; i++)); do _netns_node "${TJ_PREFIX}n$i" "$i"; done
  cat > "$TJ_AGENT" <<AGENT
#!/bin/sh
# plm_rsh_agent: "ssh" into a namespace node. Usage: agent.sh HOST CMD...
h=\$1; shift
exec ip netns exec "\$h" unshare -u sh -c "hostname \$h; \$*"
AGENT
  chmod +x "$TJ_AGENT"
}

netns_exec() { # NODE CMD...
  local n=$1; shift
  ip netns exec "$n" unshare -u sh -c 'hostname "$0"; exec "$@"' "$n" "$@"
}

netns_kill() { # NODE
  local pids
  pids=$(ip netns pids "$1" 2>/dev/null)
  [ -n "$pids" ] && kill -9 $pids 2>/dev/null
  return 0
}

netns_down() {
  local n
  for n in "${TJ_PREFIX}head" "${TJ_NODES[@]}"; do
    netns_kill "$n"
  done
  sleep 0.2
  for n in "${TJ_PREFIX}head" "${TJ_NODES[@]}"; do
    ip netns del "$n" 2>/dev/null
    rm -rf "/etc/netns/$n"
  done
  ip link del "$TJ_BR" 2>/dev/null
  [ -n "${TJ_KEEP_WORK:-}" ] || rm -rf "$TJ_WORK"
  return 0
}

# The running job both node tests start from (after netns_up): in $W, 6 ranks
# of $APP on ${P}n1..n3 (options in MPI, program arguments in ARGS; `head`
# runs a command on the head node), an uninterrupted reference run, then
# `tern run` of the same at 20 ms per iteration in the background ($runpid),
# returned once the job has started (triggers earlier are ignored).
netns_job_start() {
  W=$TJ_WORK/run
  mkdir -p "$W" && cd "$W" || fail "no work dir"
  P=$TJ_PREFIX
  MPI=(--oversubscribe "${TJ_MCA[@]}" --host ${P}n1:2,${P}n2:2,${P}n3:2 -np 6)
  ARGS=(--iters ${TJ_ITERS:-150} --size ${TJ_SIZE:-512})
  head() { netns_exec ${P}head "$@"; }
  reference_run "6 ranks on ${P}n1..3, uninterrupted" head timeout 120 mpirun "${MPI[@]}" "$APP" "${ARGS[@]}"
  say "tern run (sleeping 20 ms per iteration)"
  head timeout 120 "$TERN" run --dir "$W/ck" -- "${MPI[@]}" "$APP" "${ARGS[@]}" --sleep-us 20000 \
    > run.out 2> run.err &
  runpid=$!
  local i
  for ((i = 0; i < 100; i++)); do grep -q '^started' ck/events 2>/dev/null && break; sleep 0.1; done
  sleep 1
}
