#!/bin/bash
# Started by srun on every node of the job (one task per node).
umask 077
exec >>"$STINT_SLURM_ATTEMPT_DIR/output.log" 2>&1 </dev/null
base_dir=$(dirname "$0")
# The job's environment came with the job (STINT_E_<NAME>, see translate.ts): restore the names.
declare -A stint_env=()
for v in ${!STINT_E_@}; do stint_env[${v#STINT_E_}]=${!v}; unset "$v"; done
for v in "${!stint_env[@]}"; do export "$v=${stint_env[$v]}"; done
unset stint_env v
export STINT_ATTEMPT=$STINT_SLURM_ATTEMPT STINT_RESTART_COUNT=$((STINT_SLURM_ATTEMPT - 1))
export STINT_NODE_RANK=$SLURM_NODEID SKYPILOT_NODE_RANK=$SLURM_NODEID
export STINT_NODE_IPS=$STINT_SLURM_IPS SKYPILOT_NODE_IPS=$STINT_SLURM_IPS STINT_NODE_NAMES=$STINT_SLURM_HOSTS
export STINT_NUM_GPUS_PER_NODE=4 SKYPILOT_NUM_GPUS_PER_NODE=4
export STINT_SLURM_JOB_ID=$SLURM_JOB_ID
# One folder per job on the shared filesystem that every attempt (and every node) sees.
export STINT_CHECKPOINT_DIR="$(cd "$base_dir/.." && pwd)/checkpoints"
mkdir -p "$STINT_CHECKPOINT_DIR"
unset STINT_SLURM_ATTEMPT STINT_SLURM_ATTEMPT_DIR STINT_SLURM_IPS STINT_SLURM_HOSTS
cd "$base_dir/../work" || exit 97
# The tasks get TERM themselves (Slurm signals the whole step); this wrapper waits for their status.
trap 'true' TERM
if [ -s "$base_dir/setup.sh" ]; then
  bash "$base_dir/setup.sh"
  code=$?
  if [ $code -ne 0 ]; then echo "stint: setup failed with exit code $code" >&2; exit $code; fi
fi
bash "$base_dir/run.sh"
