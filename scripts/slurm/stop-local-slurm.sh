#!/usr/bin/env bash
# stop-local-slurm.sh - stop a cluster started by start-local-slurm.sh. Kills only the PIDs named
# in DIR/run/*.pid (after checking the process name), slurmstepd processes with files open under
# DIR plus their descendants, and orphaned job scripts under DIR/spool; then removes the network
# namespaces/bridge of --mode netns and the --link-etc symlink.
#
#   stop-local-slurm.sh [--dir DIR] [--purge] [--keep-jobs]
#     --dir DIR     as given to start-local-slurm.sh   (SLURM_LOCAL_DIR, /tmp/stint-slurm)
#     --purge       also delete DIR afterwards
#     --keep-jobs   do not scancel running jobs first (their slurmstepd are still killed)
set -uo pipefail
DIR=${SLURM_LOCAL_DIR:-/tmp/stint-slurm}; PURGE=0; KEEP_JOBS=0
while [ $# -gt 0 ]; do
  case "$1" in
    -d|--dir) DIR=$2; shift ;;
    --purge) PURGE=1 ;;
    --keep-jobs) KEEP_JOBS=1 ;;
    -h|--help) sed -n '2,/^set -uo/p' "$0" | sed '$d'; exit 0 ;;
    *) echo "unknown option: $1" >&2; exit 2 ;;
  esac; shift
done
[ -d "$DIR" ] || { echo "no such dir: $DIR (nothing to stop)"; exit 0; }
DIR=$(cd "$DIR" && pwd)
export SLURM_CONF=$DIR/slurm.conf

# a zombie counts as gone: PID 1 in some sandboxes reaps orphans only every second or two
running() { [ -r "/proc/$1/stat" ] && [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" != Z ]; }
pid_of() { # pid_of NAME PIDFILE -> prints pid if alive and comm matches
  local pid; [ -s "$2" ] || return 1; pid=$(cat "$2" 2>/dev/null) || return 1
  [ -n "$pid" ] && running "$pid" && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$1" ] && echo "$pid"; }
stop_pids() { # stop_pids SECONDS "pid:name ..." : SIGTERM all, wait, then SIGKILL stragglers
  local secs=$1 pn end; shift
  for pn in "$@"; do kill -TERM "${pn%%:*}" 2>/dev/null; done
  end=$(( $(date +%s) + secs ))
  for pn in "$@"; do
    while running "${pn%%:*}" && [ "$(date +%s)" -lt "$end" ]; do sleep 0.05; done
    if running "${pn%%:*}"; then kill -KILL "${pn%%:*}" 2>/dev/null; echo "killed ${pn#*:} (pid ${pn%%:*})"
    else echo "stopped ${pn#*:} (pid ${pn%%:*})"; fi
  done; }
stepd_pids() { # slurmstepd processes whose open files (spool, log) are under DIR
  local p
  for p in $(pgrep -x slurmstepd 2>/dev/null); do
    ls -l "/proc/$p/fd" 2>/dev/null | grep -q -- "$DIR/" && echo "$p"
  done; }
job_pids() { # slurmstepd of DIR + all their descendants + job scripts under DIR/spool (orphans)
  local roots p
  roots=$(stepd_pids)
  for p in $(pgrep -f -- "$DIR/spool/" 2>/dev/null); do
    [ "$p" != "$$" ] && tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | grep -q -- "$DIR/spool/[^ ]*/slurm_script" && roots="$roots $p"
  done
  [ -n "${roots// /}" ] || return 0
  ps -e -o pid=,ppid= | awk -v roots="$roots" '
    { parent[$1] = $2 }
    END { n = split(roots, r, " "); for (i = 1; i <= n; i++) keep[r[i]] = 1
          changed = 1; while (changed) { changed = 0
            for (p in parent) if (!(p in keep) && (parent[p] in keep)) { keep[p] = 1; changed = 1 } }
          for (p in keep) print p }'; }

# 1. cancel jobs so that their processes die cleanly (needs slurmctld + slurmd alive)
if [ "$KEEP_JOBS" = 0 ] && pid_of slurmctld "$DIR/run/slurmctld.pid" >/dev/null; then
  jobs=$(timeout 5 squeue -h -t PD,R,CG,S -o %i 2>/dev/null | paste -sd' ' -)
  if [ -n "$jobs" ]; then
    timeout 5 scancel $jobs 2>/dev/null
    for i in $(seq 1 50); do [ -z "$(job_pids)" ] && break; sleep 0.1; done
  fi
fi
# 2. daemons, compute side first
list=()
for f in "$DIR"/run/slurmd-*.pid; do
  [ -e "$f" ] || continue
  pid=$(pid_of slurmd "$f") && list+=("$pid:slurmd-$(basename "$f" .pid | sed 's/^slurmd-//')")
done
[ ${#list[@]} -gt 0 ] && stop_pids 10 "${list[@]}"
# slurmstepd ignores SIGTERM; kill leftover job processes of this cluster outright
for p in $(job_pids); do
  running "$p" && kill -KILL "$p" 2>/dev/null && echo "killed job process $p ($(cat /proc/$p/comm 2>/dev/null))"
done
# runc state of container steps (oci.conf: one --root per step under DIR/run/oci) left by killed jobs
if command -v runc >/dev/null && [ -d "$DIR/run/oci" ]; then
  for d in "$DIR"/run/oci/*/; do
    [ -d "$d" ] || continue
    for c in $(runc --root "$d" list -q 2>/dev/null); do runc --root "$d" delete --force "$c" 2>/dev/null && echo "deleted container $c"; done
  done
fi
list=()
pid=$(pid_of slurmctld "$DIR/run/slurmctld.pid") && list+=("$pid:slurmctld")
pid=$(pid_of slurmdbd "$DIR/run/slurmdbd.pid") && list+=("$pid:slurmdbd")
[ ${#list[@]} -gt 0 ] && stop_pids 10 "${list[@]}"
pid=$(pid_of mariadbd "$DIR/run/mariadbd.pid") && stop_pids 30 "$pid:mariadbd"
pid=$(pid_of munged "$DIR/run/munged.pid") && stop_pids 10 "$pid:munged"
rm -f "$DIR"/run/*.pid

# 3. network namespaces of --mode netns (only if this DIR's config used them)
if grep -q '^NodeName=.* NodeAddr=' "$DIR/slurm.conf" 2>/dev/null && grep -q 'mode=netns' "$DIR/slurm.conf"; then
  for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep -E '^slurm-n[0-9]+$'); do
    i=${ns#slurm-n}
    ip link del "vh-n$i" 2>/dev/null
    ip netns del "$ns" && echo "deleted netns $ns"
  done
  ip link del slurmbr0 2>/dev/null && echo "deleted bridge slurmbr0"
fi

# 4. /etc/slurm/slurm.conf symlink made by --link-etc
if [ -L /etc/slurm/slurm.conf ] && [ "$(readlink /etc/slurm/slurm.conf)" = "$DIR/slurm.conf" ]; then
  rm -f /etc/slurm/slurm.conf && echo "removed /etc/slurm/slurm.conf symlink"
fi

if [ "$PURGE" = 1 ]; then rm -rf "$DIR" && echo "removed $DIR"; fi
exit 0
