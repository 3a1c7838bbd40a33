#!/usr/bin/env bash
# A single-node SLURM cluster on this machine (Debian's slurm-wlm and munge), for the tests'
# run through `snakemake --executor slurm` (tests/workflow/test_slurm.py). Needs root; installs
# the packages when apt-get can. Prints the partition name on success.
#   bash .ci/slurm_up.sh        # idempotent: a running cluster is left as it is
set -euo pipefail
STATE=${SLURM_STATE:-/tmp/saltseg-slurm}
if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q slurm-wlm munge >/dev/null
  else
    echo "slurm_up: slurm-wlm and munge are not installed and cannot be (needs root and apt-get)" >&2
    exit 3
  fi
fi
if sinfo -h -o %t 2>/dev/null | grep -qE "idle|mix|alloc"; then
  echo debug
  exit 0
fi
mkdir -p "$STATE"/{spool,state,log} /etc/slurm /etc/munge /run/munge /var/lib/munge /var/log/munge
[ -s /etc/munge/munge.key ] || { dd if=/dev/urandom bs=1 count=1024 of=/etc/munge/munge.key 2>/dev/null; }
chown -R munge:munge /etc/munge /run/munge /var/lib/munge /var/log/munge 2>/dev/null || true
chmod 400 /etc/munge/munge.key
pgrep -x munged >/dev/null || su -s /bin/sh munge -c munged 2>/dev/null || munged --force
CPUS=$(nproc)
MEM=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 - 1024 ))
HOST=$(hostname -s)
cat > /etc/slurm/slurm.conf <<CONF
ClusterName=saltseg
SlurmctldHost=$HOST
SlurmUser=root
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MpiDefault=none
ReturnToService=2
MinJobAge=3600
SlurmdSpoolDir=$STATE/spool
StateSaveLocation=$STATE/state
SlurmctldPidFile=$STATE/slurmctld.pid
SlurmdPidFile=$STATE/slurmd.pid
SlurmctldLogFile=$STATE/log/slurmctld.log
SlurmdLogFile=$STATE/log/slurmd.log
NodeName=$HOST CPUs=$CPUS RealMemory=$MEM State=UNKNOWN
PartitionName=debug Nodes=$HOST Default=YES MaxTime=INFINITE State=UP
CONF
pgrep -x slurmctld >/dev/null || slurmctld
pgrep -x slurmd >/dev/null || slurmd
for _ in $(seq 30); do
  if sinfo -h -o %t 2>/dev/null | grep -qE "idle|mix|alloc"; then echo debug; exit 0; fi
  sleep 1
done
echo "slurm_up: the node did not come up; see $STATE/log" >&2
exit 1
