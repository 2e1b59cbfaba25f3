#!/usr/bin/env bash
# Starts a single-node Slurm cluster on loopback for the Slurm provider's tests:
# munged, slurmctld and slurmd from Debian's slurm-wlm and munge (scripts/install-deps.sh).
# Partitions: `debug` (default, PriorityTier 10) and `lowpri` (PriorityTier 1), which jobs
# of `debug` preempt (preempt/partition_prio, the preempted job is cancelled: SIGTERM,
# then SIGKILL after KillWait). Idempotent: does nothing when the node already answers.
# Runs as root; works in a container without systemd or cgroups.
set -euo pipefail

node_ready() {
  sinfo -h -N -o '%T' 2>/dev/null | grep -Eq '^(idle|mixed|allocated)'
}

if node_ready; then
  echo "start-slurm: node already up"
  exit 0
fi

HOST="$(hostname -s)"
CPUS="$(nproc)"
# Leave 512 MiB to the host; Slurm counts memory in MiB.
MEM_MB=$(( $(awk '/MemTotal/ {print int($2 / 1024)}' /proc/meminfo) - 512 ))

# munge: one key, the daemon as the munge user.
install -d -o munge -g munge -m 0700 /etc/munge /var/lib/munge /var/log/munge
install -d -o munge -g munge -m 0755 /run/munge
if [ ! -s /etc/munge/munge.key ]; then
  dd if=/dev/urandom of=/etc/munge/munge.key bs=1 count=1024 status=none
fi
chown munge:munge /etc/munge/munge.key
chmod 0400 /etc/munge/munge.key
if ! munge -n </dev/null >/dev/null 2>&1; then
  runuser -u munge -- /usr/sbin/munged
fi
for _ in $(seq 50); do munge -n </dev/null >/dev/null 2>&1 && break; sleep 0.1; done

install -d -o slurm -g slurm -m 0755 /var/spool/slurmctld /var/log/slurm
install -d -m 0755 /var/spool/slurmd /etc/slurm
cat >/etc/slurm/slurm.conf <<EOF
# Written by .ci/start-slurm.sh: one node on loopback.
ClusterName=sweepci
SlurmctldHost=${HOST}(127.0.0.1)
SlurmUser=slurm
AuthType=auth/munge
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
# No systemd, no cgroups in a container: track a job's processes by parentage (trials
# run in their own process groups, which proctrack/pgid would miss).
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
ReturnToService=2
# Short timers so tests see cancellations and preemption quickly.
KillWait=10
MinJobAge=30
SchedulerParameters=sched_interval=2
PreemptType=preempt/partition_prio
PreemptMode=CANCEL
NodeName=${HOST} NodeAddr=127.0.0.1 CPUs=${CPUS} RealMemory=${MEM_MB} State=UNKNOWN
PartitionName=debug Nodes=${HOST} Default=YES MaxTime=INFINITE State=UP PriorityTier=10 PreemptMode=OFF
PartitionName=lowpri Nodes=${HOST} MaxTime=INFINITE State=UP PriorityTier=1 PreemptMode=CANCEL
EOF
: >/etc/slurm/cgroup.conf

if ! pgrep -x slurmctld >/dev/null; then /usr/sbin/slurmctld; fi
if ! pgrep -x slurmd >/dev/null; then /usr/sbin/slurmd; fi

for _ in $(seq 120); do
  if node_ready; then
    sinfo
    exit 0
  fi
  # A node that was down (e.g. after a restart) returns once slurmd answers.
  scontrol update NodeName="${HOST}" State=RESUME >/dev/null 2>&1 || true
  sleep 0.5
done
echo "start-slurm: node did not become idle; see /var/log/slurm/*.log" >&2
sinfo >&2 || true
exit 1
