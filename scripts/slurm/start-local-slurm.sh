#!/usr/bin/env bash
# start-local-slurm.sh - start a REAL Slurm cluster (Debian 12 packages: slurm-wlm 22.05, munge)
# on one machine, as root, without systemd. Fake GPUs, N emulated nodes, optional slurmdbd.
# stint's own copy (adapted from the research in ../shared/slurm). Defaults: 3 nodes with typed
# fake GPUs gpu:a100:4 (n1, n2 in the default partition "debug", n3 alone in "second"), state in
# /tmp/stint-slurm. The Slurm tests and bench/slurm.ts start it this way. Memory: with a cgroup v1
# memory controller, task/cgroup confines each job to its --mem and Slurm reports OUT_OF_MEMORY;
# otherwise jobacct_gather/linux kills steps over their limit (reported as FAILED).
#
#   start-local-slurm.sh [options]
#     -d, --dir DIR            state/config directory              (SLURM_LOCAL_DIR, /tmp/stint-slurm)
#     -n, --nodes N            number of emulated nodes             (SLURM_LOCAL_NODES, 3)
#                              with 3+, the last node is only in partition "second"
#     -g, --gpus N             fake GPUs per node                   (SLURM_LOCAL_GPUS, 4)
#         --gpu-type T         typed GRES, e.g. a100 (gpu:a100:N)   (SLURM_LOCAL_GPU_TYPE, a100; '-': untyped)
#     -c, --cpus N             CPUs per node (may exceed real ones) (SLURM_LOCAL_CPUS, 8)
#     -m, --mem MB             RealMemory per node                  (SLURM_LOCAL_MEM, 16000)
#         --mode multi|netns   multi: N slurmd on 127.0.0.1 with distinct ports (default)
#                              netns: one network namespace + veth per node (own IP, same port)
#         --accounting none|slurmdbd
#                              none: no slurmdbd; finished jobs via `sacct -c` (jobcomp/filetxt)
#                              slurmdbd: private MariaDB + slurmdbd -> full sacct / sacct --json
#                                                                   (SLURM_LOCAL_ACCOUNTING, none)
#         --ctld-port P        slurmctld port                       (6817)
#         --slurmd-port P      multi: first slurmd port (node i = P+i-1); netns: port of all (6818)
#         --dbd-port P         slurmdbd port                        (6819)
#         --db-port P          private MariaDB TCP port on 127.0.0.1 (3307)
#         --subnet A.B.C       netns mode: /24 used for the bridge  (10.199.0)
#         --proctrack pgid|linuxproc  process tracking without cgroups (pgid)
#                              pgid: kills whole process group (no orphans after node failure);
#                              linuxproc: follows the process tree (orphans survive an abort)
#         --sched FAST|DEFAULT scheduler/timer tuning for tests     (FAST)
#         --cred-expire S      AuthInfo cred_expire; also the delay before a requeued job may
#                              start again (Slurm default 120)      (FAST: 10, DEFAULT: 120)
#         --fresh              stop + wipe state (job ids restart at 1) before starting
#         --link-etc           also symlink /etc/slurm/slurm.conf -> DIR/slurm.conf
#         --no-install         never call apt-get
#         --no-oci             no oci.conf (default: one for runc when runc is installed, so
#                              `--container=<bundle>` runs an OCI bundle)  (SLURM_LOCAL_OCI=0)
#         --timeout S          seconds to wait for nodes idle       (60)
#
# Afterwards:   source DIR/env.sh   (exports SLURM_CONF=DIR/slurm.conf)
# Stop:         stop-local-slurm.sh --dir DIR   [--purge]
set -euo pipefail

DIR=${SLURM_LOCAL_DIR:-/tmp/stint-slurm}
NODES=${SLURM_LOCAL_NODES:-3}
GPUS=${SLURM_LOCAL_GPUS:-4}
GPU_TYPE=${SLURM_LOCAL_GPU_TYPE:-a100}
CPUS=${SLURM_LOCAL_CPUS:-8}
MEM=${SLURM_LOCAL_MEM:-16000}
MODE=${SLURM_LOCAL_MODE:-multi}
ACCOUNTING=${SLURM_LOCAL_ACCOUNTING:-none}
CTLD_PORT=${SLURM_LOCAL_CTLD_PORT:-6817}
SLURMD_PORT=${SLURM_LOCAL_SLURMD_PORT:-}
DBD_PORT=${SLURM_LOCAL_DBD_PORT:-6819}
DB_PORT=${SLURM_LOCAL_DB_PORT:-3307}
SUBNET=${SLURM_LOCAL_SUBNET:-10.199.0}
SCHED=${SLURM_LOCAL_SCHED:-FAST}
CRED_EXPIRE=${SLURM_LOCAL_CRED_EXPIRE:-}
PROCTRACK=${SLURM_LOCAL_PROCTRACK:-pgid}
FRESH=0; LINK_ETC=0; INSTALL=1; TIMEOUT=60; OCI=${SLURM_LOCAL_OCI:-1}

while [ $# -gt 0 ]; do
  case "$1" in
    -d|--dir) DIR=$2; shift ;;
    -n|--nodes) NODES=$2; shift ;;
    -g|--gpus) GPUS=$2; shift ;;
    --gpu-type) GPU_TYPE=$2; shift ;;
    -c|--cpus) CPUS=$2; shift ;;
    -m|--mem) MEM=$2; shift ;;
    --mode) MODE=$2; shift ;;
    --accounting) ACCOUNTING=$2; shift ;;
    --ctld-port) CTLD_PORT=$2; shift ;;
    --slurmd-port) SLURMD_PORT=$2; shift ;;
    --dbd-port) DBD_PORT=$2; shift ;;
    --db-port) DB_PORT=$2; shift ;;
    --subnet) SUBNET=$2; shift ;;
    --sched) SCHED=$2; shift ;;
    --cred-expire) CRED_EXPIRE=$2; shift ;;
    --proctrack) PROCTRACK=$2; shift ;;
    --fresh) FRESH=1 ;;
    --link-etc) LINK_ETC=1 ;;
    --no-install) INSTALL=0 ;;
    --no-oci) OCI=0 ;;
    --timeout) TIMEOUT=$2; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d'; exit 0 ;;
    *) echo "unknown option: $1" >&2; exit 2 ;;
  esac
  shift
done

# Never hand a descriptor inherited from the caller (e.g. the lock of `flock FILE start-local-slurm.sh`)
# to the daemons started below: they would hold it for as long as they live.
for fd in 3 4 5 6 7 8 9; do eval "exec $fd>&-"; done 2>/dev/null

case "$MODE" in multi|netns) ;; *) echo "--mode must be multi or netns" >&2; exit 2 ;; esac
case "$PROCTRACK" in pgid|linuxproc) ;; *) echo "--proctrack must be pgid or linuxproc" >&2; exit 2 ;; esac
case "$ACCOUNTING" in none|slurmdbd) ;; *) echo "--accounting must be none or slurmdbd" >&2; exit 2 ;; esac
[ "$(id -u)" = 0 ] || { echo "must run as root" >&2; exit 1; }
[ "$NODES" -ge 1 ] && [ "$NODES" -le 200 ] || { echo "--nodes must be 1..200" >&2; exit 2; }
if [ -z "$SLURMD_PORT" ]; then
  if [ "$MODE" = multi ]; then SLURMD_PORT=17001; else SLURMD_PORT=6818; fi
fi
mkdir -p "$DIR"; DIR=$(cd "$DIR" && pwd)
SELF_DIR=$(cd "$(dirname "$0")" && pwd)
T_START=$(date +%s.%N)
log() { printf '[start-local-slurm %6.2fs] %s\n' "$(awk -v a="$(date +%s.%N)" -v b="$T_START" 'BEGIN{print a-b}')" "$*"; }

# ---------------------------------------------------------------- packages
need_pkgs=(slurmctld slurmd slurm-client munge tini procps)   # procps: pgrep/ps for the stop script
[ "$MODE" = netns ] && need_pkgs+=(iproute2)
[ "$ACCOUNTING" = slurmdbd ] && need_pkgs+=(slurmdbd mariadb-server-core mariadb-client-core)
missing=()
for p in "${need_pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  [ "$INSTALL" = 1 ] || { echo "missing packages: ${missing[*]} (and --no-install given)" >&2; exit 1; }
  log "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # policy-rc.d / no systemd: package postinst scripts must not start the system services
  # SLURM_LOCAL_APT_OPTS: extra apt-get options (e.g. -o Dir::State::Lists=... for a fresh-machine test)
  APT=(apt-get ${SLURM_LOCAL_APT_OPTS:-})
  if ! "${APT[@]}" install -y --no-install-recommends "${missing[@]}" >"$DIR/apt.log" 2>&1; then
    "${APT[@]}" update >>"$DIR/apt.log" 2>&1
    "${APT[@]}" install -y --no-install-recommends "${missing[@]}" >>"$DIR/apt.log" 2>&1 \
      || { tail -20 "$DIR/apt.log" >&2; exit 1; }
  fi
  log "packages installed"
fi

# ---------------------------------------------------------------- helpers
H=$(hostname -s)
NODE_NAMES=(); for i in $(seq 1 "$NODES"); do NODE_NAMES+=("n$i"); done
if [ "$MODE" = netns ]; then CTLD_ADDR=$SUBNET.1; else CTLD_ADDR=127.0.0.1; fi
export SLURM_CONF=$DIR/slurm.conf

# alive NAME PIDFILE: true if PIDFILE names a live process whose comm is NAME
# (a zombie does not count: PID 1 of some sandboxes reaps orphans only every second or two)
alive() { local pid; [ -s "$2" ] || return 1; pid=$(cat "$2" 2>/dev/null) || return 1
  [ -n "$pid" ] && [ -r "/proc/$pid/stat" ] && [ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" != Z ] &&
  [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$1" ]; }
wait_for() { # wait_for SECONDS DESCRIPTION CMD...
  local t=$1 what=$2; shift 2; local end=$(( $(date +%s) + t ))
  until "$@" >/dev/null 2>&1; do
    [ "$(date +%s)" -lt "$end" ] || { echo "timeout waiting for $what" >&2; return 1; }
    sleep 0.1
  done; }
any_running() {
  alive munged "$DIR/run/munged.pid" || alive slurmctld "$DIR/run/slurmctld.pid" || \
  alive slurmdbd "$DIR/run/slurmdbd.pid" || alive mariadbd "$DIR/run/mariadbd.pid" && return 0
  for n in "$DIR"/run/slurmd-*.pid; do [ -e "$n" ] && alive slurmd "$n" && return 0; done
  return 1; }
stop_all() { "$SELF_DIR/stop-local-slurm.sh" --dir "$DIR" "$@"; }

if [ "$FRESH" = 1 ]; then
  if any_running; then log "--fresh: stopping running cluster"; stop_all; fi
  rm -rf "$DIR/state" "$DIR/spool" "$DIR/log" "$DIR/db" "$DIR/run"
fi
mkdir -p "$DIR"/{state,spool,log,run,dev,munge,etc,bin} "$DIR/run/oci"
chmod 755 "$DIR"; chmod 711 "$DIR/munge"; chmod 1777 "$DIR/run/oci"

# ---------------------------------------------------------------- configs
[ "$GPU_TYPE" = - ] && GPU_TYPE=
GRES_SPEC="gpu:$GPUS"; GRES_TYPE_KV=""
if [ -n "$GPU_TYPE" ]; then GRES_SPEC="gpu:$GPU_TYPE:$GPUS"; GRES_TYPE_KV=" Type=$GPU_TYPE"; fi
if [ "$SCHED" = FAST ]; then
  # react to submits/completions immediately; bf as a safety net every 5 s
  SCHED_PARAMS="SchedulerParameters=batch_sched_delay=0,sched_min_interval=0,sched_interval=5,bf_interval=5,default_queue_depth=1000"
  TIMERS=$'KillWait=5\nSlurmdTimeout=10\nMessageTimeout=5\nInactiveLimit=0\nMinJobAge=300\nUnkillableStepTimeout=30'
else
  SCHED_PARAMS="#SchedulerParameters=(defaults)"
  TIMERS=$'#timers left at Slurm defaults'
fi
[ -n "$CRED_EXPIRE" ] || { [ "$SCHED" = FAST ] && CRED_EXPIRE=10 || CRED_EXPIRE=120; }
# Memory limits: with a cgroup v1 memory controller mounted, task/cgroup confines each job to its
# --mem and the kernel's OOM killer fires inside it, which Slurm reports as OUT_OF_MEMORY (or, for a
# step, DerivedExitCode 0:125). Without one, jobacct_gather/linux kills steps over their limit by
# polling (the job then ends FAILED, not OUT_OF_MEMORY).
if [ -e /sys/fs/cgroup/memory/memory.limit_in_bytes ] && [ "$MODE" = multi ]; then
  TASK_PLUGIN=task/cgroup; MEM_ENFORCE=cgroup
  MEM_ACCT=$'JobAcctGatherType=jobacct_gather/none'
  CGROUP_EXTRA=$'ConstrainRAMSpace=yes\nConstrainSwapSpace=yes\nAllowedSwapSpace=0'
else
  TASK_PLUGIN=task/none; MEM_ENFORCE=poll
  MEM_ACCT=$'JobAcctGatherType=jobacct_gather/linux\nJobAcctGatherParams=OverMemoryKill\nJobAcctGatherFrequency=task=1'
  CGROUP_EXTRA=''
fi
[ "$ACCOUNTING" = slurmdbd ] && MEM_ACCT=''

if [ "$ACCOUNTING" = slurmdbd ]; then
  ACCT=$(cat <<EOF
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=127.0.0.1
AccountingStoragePort=$DBD_PORT
# for slurmdbd this is the munge socket used to talk to slurmdbd (default /run/munge/munge.socket.2)
AccountingStoragePass=$DIR/munge/munge.socket
AccountingStorageTRES=gres/gpu
JobAcctGatherType=jobacct_gather/linux
JobAcctGatherFrequency=30
EOF
)
else
  ACCT=$(cat <<EOF
# no slurmdbd: sacct only works as 'sacct -c' (reads JobCompLoc); AccountingStorageTRES=gres/gpu
# would be fatal here ("slurmdbd is required to run with TRES gres/gpu")
AccountingStorageType=accounting_storage/none
$MEM_ACCT
EOF
)
fi

# With 3+ nodes the last one is only in partition "second", so tests can take it down (or fill
# it) without touching jobs in the default partition.
if [ "$NODES" -ge 3 ]; then MAIN_NODES=n[1-$((NODES - 1))]; else MAIN_NODES=ALL; fi
NODE_LINES=""; GRES_LINES=""
for i in $(seq 1 "$NODES"); do
  n=n$i
  if [ "$MODE" = multi ]; then
    NODE_LINES+="NodeName=$n NodeHostname=$H NodeAddr=127.0.0.1 Port=$((SLURMD_PORT + i - 1)) CPUs=$CPUS RealMemory=$MEM Gres=$GRES_SPEC State=UNKNOWN"$'\n'
  else
    NODE_LINES+="NodeName=$n NodeAddr=$SUBNET.$((10 + i)) CPUs=$CPUS RealMemory=$MEM Gres=$GRES_SPEC State=UNKNOWN"$'\n'
  fi
  last=$((GPUS - 1))
  if [ "$GPUS" -gt 0 ]; then
    GRES_LINES+="NodeName=$n Name=gpu$GRES_TYPE_KV File=$DIR/dev/$n/nvidia[0-$last]"$'\n'
  fi
done

cat >"$DIR/etc/slurm.conf.new" <<EOF
# generated by start-local-slurm.sh (mode=$MODE accounting=$ACCOUNTING nodes=$NODES gpus=$GPUS)
ClusterName=local
SlurmctldHost=$H($CTLD_ADDR)
SlurmctldPort=$CTLD_PORT
SlurmdPort=$SLURMD_PORT
AuthType=auth/munge
AuthInfo=socket=$DIR/munge/munge.socket,cred_expire=$CRED_EXPIRE
CredType=cred/munge
SlurmUser=root
SlurmdUser=root
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool/%n
SlurmctldPidFile=$DIR/run/slurmctld.pid
SlurmdPidFile=$DIR/run/slurmd-%n.pid
SlurmctldLogFile=$DIR/log/slurmctld.log
SlurmdLogFile=$DIR/log/slurmd-%n.log
SlurmctldDebug=info
SlurmdDebug=info
# no cgroups needed: works with cgroup v1, v2 or no /sys/fs/cgroup at all (see cgroup.conf)
ProctrackType=proctrack/$PROCTRACK
TaskPlugin=$TASK_PLUGIN
MpiDefault=none
SwitchType=switch/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=256
# nodes may advertise more CPUs/memory than the machine has
SlurmdParameters=config_overrides
# 1: a node set DOWN by an admin stays DOWN until "scontrol update state=resume";
# a node that was DOWN because slurmd stopped responding returns when slurmd registers again
ReturnToService=1
GresTypes=gpu
MailProg=/bin/true
JobCompType=jobcomp/filetxt
JobCompLoc=$DIR/log/jobcomp.txt
$ACCT
$SCHED_PARAMS
$TIMERS
$NODE_LINES
PartitionName=debug Nodes=$MAIN_NODES Default=YES MaxTime=INFINITE State=UP
PartitionName=second Nodes=${NODE_NAMES[-1]} MaxTime=INFINITE State=UP
EOF

printf '%s' "$GRES_LINES" >"$DIR/etc/gres.conf.new"
cat >"$DIR/etc/cgroup.conf.new" <<EOF
# Slurm 22.05 slurmd always initialises a cgroup plugin. 'autodetect' aborts slurmd when
# /sys/fs/cgroup is absent (e.g. under \`ip netns exec\`) and cgroup/v2 aborts on hybrid hosts.
# cgroup/v1 is initialised lazily; with task/cgroup it confines each job's memory (see above).
CgroupPlugin=cgroup/v1
$CGROUP_EXTRA
EOF

if [ "$ACCOUNTING" = slurmdbd ]; then
  cat >"$DIR/etc/slurmdbd.conf.new" <<EOF
AuthType=auth/munge
AuthInfo=socket=$DIR/munge/munge.socket
DbdHost=$H
DbdAddr=127.0.0.1
DbdPort=$DBD_PORT
SlurmUser=root
PidFile=$DIR/run/slurmdbd.pid
LogFile=$DIR/log/slurmdbd.log
DebugLevel=info
StorageType=accounting_storage/mysql
StorageHost=127.0.0.1
StoragePort=$DB_PORT
StorageUser=slurm
StoragePass=slurm
StorageLoc=slurm_acct_db
EOF
fi

# oci.conf: Slurm's native containers (`sbatch/srun --container=<bundle>`) run through runc,
# rootless as the job's user: slurmstepd runs RunTimeRun as that user, but RunTimeQuery as root
# (measured on 22.05), and runc creates its --root folder when missing; so each step gets its own
# state folder under DIR/run/oci (sticky, like /tmp), never one that root may have made first.
# runc 1.1 needs the container's uid 0 mapped: a bundle maps it to the job's uid (see docs).
# --no-oci leaves it out.
RUNC=$(command -v runc || true)
if [ "$OCI" = 1 ] && [ -n "$RUNC" ]; then
  R="$RUNC --rootless=true --root=$DIR/run/oci/%n.%u.%j.%s.%t"
  ID='%n.%u.%j.%s.%t'
  cat >"$DIR/etc/oci.conf.new" <<EOF
# generated by start-local-slurm.sh: Slurm 22.05 OCI runtime patterns for runc. "run", not
# create + start: a created container keeps the create command's stdout open, and slurmstepd
# waits for its end forever (measured here). 22.05 knows %u (user name) but not %U.
RunTimeQuery="$R state $ID"
RunTimeRun="$R run --bundle %b $ID"
RunTimeKill="$R kill -a $ID"
RunTimeDelete="$R delete --force $ID"
EOF
fi

changed=0
for f in slurm.conf gres.conf cgroup.conf slurmdbd.conf oci.conf; do
  [ -e "$DIR/etc/$f.new" ] || { rm -f "$DIR/$f"; continue; }
  if ! cmp -s "$DIR/etc/$f.new" "$DIR/$f"; then changed=1; fi
done
if [ "$changed" = 1 ] && any_running; then
  log "configuration changed: stopping the running cluster first"
  stop_all
fi
for f in slurm.conf gres.conf cgroup.conf slurmdbd.conf oci.conf; do
  [ -e "$DIR/etc/$f.new" ] && mv -f "$DIR/etc/$f.new" "$DIR/$f"
done
[ -e "$DIR/slurmdbd.conf" ] && chmod 600 "$DIR/slurmdbd.conf"
if [ "$LINK_ETC" = 1 ]; then
  mkdir -p /etc/slurm
  if [ -e /etc/slurm/slurm.conf ] && [ ! -L /etc/slurm/slurm.conf ]; then
    echo "warning: /etc/slurm/slurm.conf exists and is not a symlink; not touching it" >&2
  else
    ln -sfn "$DIR/slurm.conf" /etc/slurm/slurm.conf
  fi
fi
cat >"$DIR/env.sh" <<EOF
export SLURM_CONF=$DIR/slurm.conf
# how memory limits are enforced: cgroup (OUT_OF_MEMORY reported) or poll (FAILED)
export SLURM_LOCAL_MEM_ENFORCE=$MEM_ENFORCE
EOF

# fake GPU device files: character devices 195:N (the NVIDIA major), never opened by Slurm with
# task/none. Regular files are rejected by slurmd ("is not a valid character or block device"),
# which silently drops CUDA_VISIBLE_DEVICES / SLURM_JOB_GPUS.
for n in "${NODE_NAMES[@]}"; do
  mkdir -p "$DIR/dev/$n" "$DIR/spool/$n"
  for g in $(seq 0 $((GPUS - 1))); do
    f=$DIR/dev/$n/nvidia$g
    [ -c "$f" ] && continue
    rm -f "$f"
    mknod -m 666 "$f" c 195 "$g" 2>/dev/null || ln -sfn /dev/null "$f"   # nodev fs fallback
  done
done

# ---------------------------------------------------------------- munge
if ! alive munged "$DIR/run/munged.pid"; then
  if [ ! -s "$DIR/munge/munge.key" ]; then
    if [ -r /etc/munge/munge.key ]; then cp /etc/munge/munge.key "$DIR/munge/munge.key"
    else dd if=/dev/urandom of="$DIR/munge/munge.key" bs=1024 count=1 status=none; fi
  fi
  chmod 400 "$DIR/munge/munge.key"
  rm -f "$DIR/munge/munge.socket" "$DIR/munge/munge.socket.lock"
  munged --force --socket="$DIR/munge/munge.socket" --key-file="$DIR/munge/munge.key" \
    --log-file="$DIR/log/munged.log" --pid-file="$DIR/run/munged.pid" \
    --seed-file="$DIR/munge/munged.seed" --num-threads=4
  wait_for 10 munged bash -c "munge -n -S '$DIR/munge/munge.socket' | unmunge -S '$DIR/munge/munge.socket'"
  log "munged up"
fi

# ---------------------------------------------------------------- netns
if [ "$MODE" = netns ]; then
  BR=slurmbr0
  if ! ip link show "$BR" >/dev/null 2>&1; then
    ip link add "$BR" type bridge
    ip addr add "$SUBNET.1/24" dev "$BR"
    ip link set "$BR" up
  fi
  for i in $(seq 1 "$NODES"); do
    ns=slurm-n$i
    [ -e "/run/netns/$ns" ] || ip netns add "$ns"
    if ! ip link show "vh-n$i" >/dev/null 2>&1; then
      ip link add "vh-n$i" type veth peer name "vn-n$i"
      ip link set "vh-n$i" master "$BR"; ip link set "vh-n$i" up
      ip link set "vn-n$i" netns "$ns"
      ip -n "$ns" addr add "$SUBNET.$((10 + i))/24" dev "vn-n$i"
      ip -n "$ns" link set "vn-n$i" up
      ip -n "$ns" link set lo up
    fi
  done
  log "network namespaces ready"
fi

# ---------------------------------------------------------------- mariadb + slurmdbd
if [ "$ACCOUNTING" = slurmdbd ]; then
  DB="$DIR/db"; SOCK="$DB/mysqld.sock"
  mysql_root() { mariadb --no-defaults --socket="$SOCK" -uroot "$@"; }
  if ! alive mariadbd "$DIR/run/mariadbd.pid"; then
    if [ ! -d "$DB/data/mysql" ]; then
      mkdir -p "$DB"
      mariadb-install-db --no-defaults --datadir="$DB/data" --user=root \
        --auth-root-authentication-method=normal --skip-test-db >"$DIR/log/mariadb-install.log" 2>&1
      log "mariadb datadir initialised"
    fi
    setsid mariadbd --no-defaults --datadir="$DB/data" --socket="$SOCK" --port="$DB_PORT" \
      --bind-address=127.0.0.1 --user=root --pid-file="$DIR/run/mariadbd.pid" \
      --log-error="$DIR/log/mariadb.log" --skip-name-resolve \
      --innodb-buffer-pool-size=512M --innodb-log-file-size=64M --innodb-lock-wait-timeout=900 \
      </dev/null >/dev/null 2>&1 &
    wait_for 60 mariadbd mysql_root -e 'select 1'
    mysql_root -e "CREATE USER IF NOT EXISTS 'slurm'@'127.0.0.1' IDENTIFIED BY 'slurm';
                   CREATE USER IF NOT EXISTS 'slurm'@'localhost' IDENTIFIED BY 'slurm';
                   GRANT ALL ON slurm_acct_db.* TO 'slurm'@'127.0.0.1';
                   GRANT ALL ON slurm_acct_db.* TO 'slurm'@'localhost'; FLUSH PRIVILEGES;"
    log "mariadbd up (127.0.0.1:$DB_PORT)"
  fi
  if ! alive slurmdbd "$DIR/run/slurmdbd.pid"; then
    slurmdbd   # reads slurmdbd.conf from dirname($SLURM_CONF)
    wait_for 60 slurmdbd bash -c "exec 3<>/dev/tcp/127.0.0.1/$DBD_PORT"
    log "slurmdbd up (127.0.0.1:$DBD_PORT)"
  fi
fi

# ---------------------------------------------------------------- slurmctld
CTLD_STARTED=0
if ! alive slurmctld "$DIR/run/slurmctld.pid"; then
  CTLD_LOG_OFFSET=$(stat -c %s "$DIR/log/slurmctld.log" 2>/dev/null || echo 0)
  CTLD_STARTED=1
  slurmctld -f "$SLURM_CONF"
  wait_for 30 slurmctld scontrol ping
  log "slurmctld up ($CTLD_ADDR:$CTLD_PORT)"
fi

# ---------------------------------------------------------------- slurmd(s)
# DIR/bin/start-slurmd NODE (re)starts one node's slurmd; tests use it after killing a slurmd.
# With tini available, slurmd runs in the foreground under `tini -s` (a child subreaper), so that
# job processes orphaned by a kill are reaped at once. Without it they are reaped by PID 1, which in
# some sandboxes takes 1-2 s, and proctrack/pgid then waits ~3.5 s per scancel (killpg(pgid,0)
# keeps succeeding while zombies of the group exist).
# netns mode: own network namespace (nsenter, not 'ip netns exec', which remounts /sys and hides
# /sys/fs/cgroup) plus own UTS namespace, so that `hostname` inside jobs prints the node name.
if [ "$MODE" = netns ]; then
  WRAP='nsenter --net=/run/netns/slurm-$n unshare --uts sh -c '"'"'hostname "$0" && exec "$@"'"'"' "$n"'
else
  WRAP=''
fi
cat >"$DIR/bin/start-slurmd" <<EOF
#!/bin/bash
# start-slurmd NODE: (re)start the slurmd of one emulated node (generated by start-local-slurm.sh)
set -eu
n=\$1
export SLURM_CONF=$DIR/slurm.conf
pidf=$DIR/run/slurmd-\$n.pid
p=
if [ -s "\$pidf" ] && p=\$(cat "\$pidf") && [ -r /proc/\$p/stat ] &&
   [ "\$(awk '{print \$3}' /proc/\$p/stat)" != Z ] && [ "\$(cat /proc/\$p/comm)" = slurmd ]; then
  exit 0   # already running
fi
if command -v tini >/dev/null; then
  setsid $WRAP tini -s -- slurmd -D -f "\$SLURM_CONF" -N "\$n" </dev/null >>$DIR/log/slurmd-\$n.stdout 2>&1 &
  for i in \$(seq 1 100); do [ -s "\$pidf" ] && [ "\$(cat "\$pidf")" != "\$p" ] && break; sleep 0.02; done
else
  $WRAP slurmd -f "\$SLURM_CONF" -N "\$n"
fi
EOF
chmod +x "$DIR/bin/start-slurmd"
started=0
for i in $(seq 1 "$NODES"); do
  n=n$i
  alive slurmd "$DIR/run/slurmd-$n.pid" && continue
  "$DIR/bin/start-slurmd" "$n"
  started=$((started + 1))
done
[ "$started" -gt 0 ] && log "started $started slurmd$(command -v tini >/dev/null && echo ' (under tini -s)')"

all_idle() { [ "$(sinfo -h -N -o '%N %T' 2>/dev/null | awk '$2=="idle"||$2=="mixed"||$2=="allocated"' | sort -u | wc -l)" -eq "$NODES" ]; }
end=$(( $(date +%s) + TIMEOUT )); resumed=0
until all_idle; do
  if [ "$resumed" = 0 ] && [ $(( end - $(date +%s) )) -lt $((TIMEOUT - 5)) ]; then
    # nodes left DOWN/DRAIN by an earlier run's tests: put them back into service once
    bad=$(sinfo -h -N -o '%N %T' | awk '$2 ~ /^(down|drain|drained|draining|fail)/ {print $1}' | sort -u | paste -sd, -)
    [ -n "$bad" ] && scontrol update nodename="$bad" state=resume 2>/dev/null || true
    resumed=1
  fi
  if [ "$(date +%s)" -ge "$end" ]; then
    echo "timeout: nodes not idle after ${TIMEOUT}s" >&2; sinfo -N >&2 || true
    tail -5 "$DIR/log/slurmctld.log" >&2 || true; exit 1
  fi
  sleep 0.1
done
if [ "$CTLD_STARTED" = 1 ]; then
  # slurmctld runs its first scheduling pass ~3 s after start; a job submitted before that waits
  # for it. Wait for the pass (it logs "SchedulerParameters=") so tests see steady-state latency.
  wait_for 15 "first scheduling pass" bash -c \
    "tail -c +$((CTLD_LOG_OFFSET + 1)) '$DIR/log/slurmctld.log' | grep -q 'SchedulerParameters='" \
    || echo "warning: no scheduling pass seen yet" >&2
fi
log "cluster ready: $NODES node(s) x $GPUS GPU(s)"

sinfo -N -o '%10N %8T %5c %8m %16G %o'
cat <<EOF

Slurm is up (mode=$MODE, accounting=$ACCOUNTING). Use it with:
  export SLURM_CONF=$DIR/slurm.conf          # or: source $DIR/env.sh
  sbatch --gres=gpu:2 --wrap 'echo \$CUDA_VISIBLE_DEVICES'
Logs: $DIR/log/   Finished jobs: $( [ "$ACCOUNTING" = slurmdbd ] && echo "sacct" || echo "sacct -c (jobcomp/filetxt)" )
Stop: $SELF_DIR/stop-local-slurm.sh --dir $DIR    (add --purge to delete $DIR)
EOF
