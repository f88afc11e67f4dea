#!/usr/bin/env bash
# A one-node Slurm cluster on this host, for tests: munged, slurmctld and slurmd, all on
# 127.0.0.1, every file (key, sockets, state, logs, slurm.conf) under DIR, nothing in /etc.
#
#   slurm_cluster.sh start DIR   starts it; prints "up" once the node takes jobs (exit 0), or the
#                                daemons' logs (exit 1). Then: export SLURM_CONF=DIR/slurm.conf
#   slurm_cluster.sh stop DIR    cancels its jobs and stops its daemons (waits for them to end)
#
# Needs root (slurmd starts jobs as their user) and Debian's slurm-wlm and munge. Ports:
# SLURM_TEST_CTLD_PORT (16817) and SLURM_TEST_D_PORT (16818).
set -euo pipefail
cmd=${1:?usage: slurm_cluster.sh start|stop DIR}
dir=$(realpath -m "${2:?usage: slurm_cluster.sh start|stop DIR}")
host=$(hostname -s)
export SLURM_CONF="$dir/slurm.conf"

pids() {
  for f in slurmd.pid slurmctld.pid munge/munged.pid; do
    [ -s "$dir/$f" ] && cat "$dir/$f"
  done
  return 0
}

start() {
  mkdir -p "$dir"/{state,spool,log,munge}
  chmod 700 "$dir" "$dir/munge"
  # The cluster's own key: a host's /etc/munge is neither needed nor touched.
  mungekey --create --keyfile="$dir/munge/munge.key" --force
  chmod 600 "$dir/munge/munge.key"
  munged --force --socket="$dir/munge/munge.socket" --pid-file="$dir/munge/munged.pid" \
    --log-file="$dir/log/munged.log" --seed-file="$dir/munge/seed" \
    --key-file="$dir/munge/munge.key"
  local cpus mem
  cpus=$(nproc)
  mem=$(($(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 / 2))
  cat >"$SLURM_CONF" <<CONF
ClusterName=medsafe-test
SlurmctldHost=$host(127.0.0.1)
SlurmUser=root
AuthType=auth/munge
AuthInfo=socket=$dir/munge/munge.socket
CredType=cred/munge
SlurmctldPort=${SLURM_TEST_CTLD_PORT:-16817}
SlurmdPort=${SLURM_TEST_D_PORT:-16818}
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SwitchType=switch/none
MpiDefault=none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=medsafe Nodes=$host Default=YES MaxTime=30 State=UP OverSubscribe=FORCE:4
CONF
  # -i: a fresh state, whatever an earlier cluster in DIR left.
  slurmctld -i -f "$SLURM_CONF"
  slurmd -f "$SLURM_CONF"
  for _ in $(seq 1 60); do
    if sinfo -h -o %t 2>/dev/null | grep -qE '^(idle|mix|alloc)'; then
      echo up
      return 0
    fi
    sleep 0.5
  done
  echo "slurm did not come up within 30 s:" >&2
  tail -n 20 "$dir"/log/*.log >&2 || true
  return 1
}

stop() {
  [ -f "$SLURM_CONF" ] && timeout 10 scancel --quiet --full --user=root 2>/dev/null || true
  local list
  list=$(pids)
  [ -n "$list" ] || return 0
  # shellcheck disable=SC2086
  kill $list 2>/dev/null || true
  for _ in $(seq 1 50); do
    local alive=0
    for p in $list; do kill -0 "$p" 2>/dev/null && alive=1; done
    [ "$alive" = 0 ] && return 0
    sleep 0.2
  done
  # shellcheck disable=SC2086
  kill -9 $list 2>/dev/null || true
}

case $cmd in
start) start ;;
stop) stop ;;
*)
  echo "usage: slurm_cluster.sh start|stop DIR" >&2
  exit 2
  ;;
esac
