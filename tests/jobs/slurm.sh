#!/bin/bash
# A real Slurm (Debian's slurm-wlm) on localhost for tests: munged with a
# generated key, one slurmctld and one slurmd, the node named after
# `hostname`, every file under a temporary folder. Source it, then:
#   slurm_up      start it (returns 77, the SKIP code, when it cannot)
#   slurm_down    stop it (also from the EXIT trap)
# Client commands (sbatch, squeue, scontrol...) find it through SLURM_CONF,
# which slurm_up exports.
TS_WORK=${TS_WORK:-$(mktemp -d /tmp/tern-slurm.XXXXXX)}
TS_PIDS=()

slurm_can() {
  [ "$(id -u)" = 0 ] || { echo "SKIPPED: not root, cannot run slurmd"; return 77; }
  local b
  for b in munged slurmctld slurmd sbatch squeue scontrol; do
    command -v "$b" >/dev/null || [ -x "/usr/sbin/$b" ] ||
      { echo "SKIPPED: $b missing (jobs/install-deps.sh installs slurm-wlm and munge)"; return 77; }
  done
  return 0
}

_free_port() { # a free TCP port on loopback, from $1 upwards
  local p=$1
  while ss -ltn 2>/dev/null | awk '{print $4}' | grep -q ":$p\$"; do p=$((p + 1)); done
  echo $p
}

slurm_up() {
  slurm_can || return $?
  PATH=$PATH:/usr/sbin
  local host cpus port1 port2
  host=$(hostname -s)
  cpus=$(nproc)
  port1=$(_free_port $((16800 + RANDOM % 400)))
  port2=$(_free_port $((port1 + 1)))
  trap slurm_down EXIT
  trap 'exit 130' INT TERM
  mkdir -p "$TS_WORK"/{state,spool,munge}
  chmod 700 "$TS_WORK/munge"
  dd if=/dev/urandom of="$TS_WORK/munge/munge.key" bs=1024 count=1 status=none
  chmod 400 "$TS_WORK/munge/munge.key"
  munged --force --key-file="$TS_WORK/munge/munge.key" \
         --socket="$TS_WORK/munge/munge.sock" --pid-file="$TS_WORK/munge/munged.pid" \
         --log-file="$TS_WORK/munge/munged.log" --seed-file="$TS_WORK/munge/seed" ||
    { echo "SKIPPED: munged does not start"; return 77; }
  TS_PIDS+=("$(cat "$TS_WORK/munge/munged.pid")")
  cat > "$TS_WORK/slurm.conf" <<CONF
ClusterName=terntest
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
SlurmctldPort=$port1
SlurmdPort=$port2
AuthType=auth/munge
AuthInfo=socket=$TS_WORK/munge/munge.sock
CredType=cred/munge
StateSaveLocation=$TS_WORK/state
SlurmdSpoolDir=$TS_WORK/spool
SlurmctldPidFile=$TS_WORK/slurmctld.pid
SlurmdPidFile=$TS_WORK/slurmd.pid
SlurmctldLogFile=$TS_WORK/slurmctld.log
SlurmdLogFile=$TS_WORK/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=none
SchedulerType=sched/builtin
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
ReturnToService=2
JobRequeue=1
KillWait=5
MinJobAge=300
SlurmctldTimeout=30
SlurmdTimeout=30
InactiveLimit=0
NodeName=$host CPUs=$cpus State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP OverSubscribe=YES
CONF
  export SLURM_CONF=$TS_WORK/slurm.conf
  slurmctld -i -f "$SLURM_CONF" || { echo "SKIPPED: slurmctld does not start"; return 77; }
  slurmd -f "$SLURM_CONF" || { echo "SKIPPED: slurmd does not start"; return 77; }
  local i
  for ((i = 0; i < 60; i++)); do
    sinfo -h -o %T 2>/dev/null | grep -qE '^(idle|mixed|allocated)' && return 0
    sleep 0.5
  done
  echo "SKIPPED: slurm node did not come up"; sinfo 2>&1 | tail -3
  tail -5 "$TS_WORK/slurmctld.log" "$TS_WORK/slurmd.log" 2>/dev/null
  return 77
}

slurm_down() {
  local f p
  for f in slurmd slurmctld; do
    [ -f "$TS_WORK/$f.pid" ] && p=$(cat "$TS_WORK/$f.pid") && kill "$p" 2>/dev/null
  done
  sleep 0.5
  for f in slurmd slurmctld; do
    [ -f "$TS_WORK/$f.pid" ] && p=$(cat "$TS_WORK/$f.pid") && kill -9 "$p" 2>/dev/null
  done
  # slurmstepd and job processes left behind
  for p in $(pgrep -f "slurmstepd.*" 2>/dev/null); do
    grep -q "$TS_WORK" "/proc/$p/cmdline" "/proc/$p/environ" 2>/dev/null && kill -9 "$p" 2>/dev/null
  done
  for p in "${TS_PIDS[@]}"; do kill "$p" 2>/dev/null; done
  [ -n "${TS_KEEP_WORK:-}" ] || rm -rf "$TS_WORK"
  return 0
}

# slurm_test_begin: what every Slurm test needs before its first sbatch:
# the app ($APP) and the sbatch script ($SBATCH_FILE), a running Slurm, and
# the work directory $W as the current directory.
slurm_test_begin() {
  need TERN TERN_APPS_DIR
  APP=$TERN_APPS_DIR/${TJ_APP:-cg}
  need APP
  SBATCH_FILE=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/jobs/slurm/tern.sbatch
  [ -f "$SBATCH_FILE" ] || fail "no $SBATCH_FILE"
  slurm_up || exit $?
  W=$TS_WORK/run
  mkdir -p "$W" && cd "$W" || fail "no work dir"
}
