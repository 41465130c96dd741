// Turns one launch request into the files of one Slurm batch job: the sbatch script, the per-node
// wrapper that srun starts on every node, the task's setup and run as separate files, and the
// job's environment as shell text that the submission reads on stdin (client.ts `submit`). Pure:
// it returns file contents and touches nothing.
// Invariants: user-supplied text (name, envs, secrets, setup, run) never appears inside the sbatch
// script or a command line — names are reduced to [A-Za-z0-9._-], scripts are written verbatim to
// their own files, and environment values are single-quoted in the environment text; the values
// that do appear in `#SBATCH` lines (partition, account, qos, GPU type, paths) are checked against
// conservative patterns and refused otherwise.
// Secrets never lie in a file on the shared filesystem: the environment text is sourced by the
// unprivileged shell that runs sbatch (as the job's account), every name prefixed with STINT_E_
// so that nothing of the job's (PATH, LD_PRELOAD) steers sbatch, the batch script or srun; Slurm
// keeps that environment with the job (readable by the job's account and Slurm's operators only),
// so every node (srun --export=ALL) and every requeued run gets it again, and it goes when the job
// goes. The per-node wrapper turns STINT_E_<NAME> back into <NAME> just before setup and run.
// A restarted job (Slurm requeue) logs to attempt-<n>/restart-<k>/, so each restart has its own log
// in a folder the job's account owns (the job folder itself is the server's, see job-files.ts).
// With `image_id`, only the srun step runs in the image (containers.ts): the batch script stays
// on the node, and node.sh, setup and run run inside; node.sh is the same in every mode.

import { StintError } from '../../core/errors.js';
import type { ResourceChoice, TaskSpec } from '../../core/spec/types.js';
import type { LaunchRequest } from '../backend.js';
import { jobEnvironment } from '../job-env.js';
import { type ContainerLaunch, type ContainerSupport, containerLaunch } from './containers.js';

/** Where the job's files live and what the project maps to. */
export interface BatchTarget {
  /** The job's folder on the shared filesystem: <workdir>/jobs/<jobId>. */
  jobDir: string;
  partition: string | null;
  account: string | null;
  qos: string | null;
  /** The cluster's own spelling of a GPU type (gres types are case-sensitive); null: as requested, lower-cased. */
  gresType: (requested: string) => string | null;
  /** Seconds of warning (SIGTERM to the tasks) before the time limit. */
  warnSeconds: number;
  /** The cluster's container mechanism (containers.ts); absent: none. */
  containers?: ContainerSupport;
}

export interface BatchFiles {
  /** The attempt's folder (scripts, log); restarts log to restart-<k>/ inside it. */
  attemptDir: string;
  scriptPath: string;
  files: Array<{ path: string; content: string; mode: number }>;
  /** The job's environment as `export STINT_E_<NAME>='value'` lines, for the submission's stdin only. */
  environment: string;
}

/** Where a job's environment names are kept until the per-node wrapper restores them. */
export const ENV_PREFIX = 'STINT_E_';

/** The log of attempt `attempt` of a Slurm job submitted as attempt `base` (later ones are Slurm restarts). */
export function attemptLogPath(jobDir: string, base: number, attempt: number): string {
  const restart = attempt - base;
  return restart > 0 ? `${jobDir}/attempt-${base}/restart-${restart}/output.log` : `${jobDir}/attempt-${attempt}/output.log`;
}

const SLURM_WORD = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
export const SAFE_PATH = /^\/[A-Za-z0-9._/+-]*$/;

export function slurmJobName(jobId: number, attempt: number, name: string | null): string {
  const tail = (name ?? '').replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 40);
  return `stint-${jobId}.${attempt}${tail ? `-${tail}` : ''}`;
}

export function checkWord(field: string, value: string): string {
  if (!SLURM_WORD.test(value)) {
    throw new StintError('INVALID_REQUEST', `${field} ${JSON.stringify(value)} is not a valid Slurm name (letters, digits, . _ -)`, { field, value });
  }
  return value;
}

/** The resources choice a Slurm job is submitted with: the first one meant for Slurm or for anywhere. */
export function slurmChoice(spec: TaskSpec): ResourceChoice {
  const choice = spec.resources.find((r) => r.infra === null || r.infra.startsWith('slurm')) ?? spec.resources[0];
  if (!choice) throw new StintError('INVALID_REQUEST', 'the task has no resources choice', {});
  return choice;
}

export function sbatchOptions(request: LaunchRequest, target: BatchTarget): string[] {
  const spec = request.spec;
  const choice = slurmChoice(spec);
  const opts = [
    `--job-name=${slurmJobName(request.jobId, request.attempt, request.name)}`,
    `--nodes=${spec.numNodes}`,
    '--ntasks-per-node=1',
    `--chdir=${target.jobDir}`,
    `--output=${target.jobDir}/attempt-${request.attempt}/batch.out`,
    // sbatch runs with a login-like environment only (see client.ts); --export=NONE would make slurmd
    // load the user's login environment with `su -`, which costs seconds per job.
    '--export=ALL',
    '--open-mode=append',
  ];
  if (target.partition) opts.push(`--partition=${checkWord('partition', target.partition)}`);
  if (target.account) opts.push(`--account=${checkWord('account', target.account)}`);
  if (target.qos) opts.push(`--qos=${checkWord('qos', target.qos)}`);
  const gpu = choice.accelerator;
  if (gpu) {
    if (!Number.isInteger(gpu.count)) throw new StintError('UNSUPPORTED_FEATURE', `Slurm allocates whole GPUs; ${gpu.name}:${gpu.count} is fractional`, { field: 'resources.accelerators' });
    const type = target.gresType(gpu.name) ?? gpu.name.toLowerCase();
    opts.push(`--gpus-per-node=${checkWord('GPU type', type)}:${gpu.count}`);
  }
  if (choice.cpus) opts.push(`--cpus-per-task=${Math.ceil(choice.cpus.value)}`);
  if (choice.memoryGb) opts.push(`--mem=${Math.ceil(choice.memoryGb.value * 1024)}M`);
  if (spec.maxRuntimeSeconds !== null) {
    opts.push(`--time=${Math.max(1, Math.ceil(spec.maxRuntimeSeconds / 60))}`);
    opts.push(`--signal=TERM@${target.warnSeconds}`);
  }
  const requeue = spec.retries.max > 0 && (spec.retries.on.includes('node_failure') || spec.retries.on.includes('preemption'));
  opts.push(requeue ? '--requeue' : '--no-requeue');
  if (spec.priority < 0) opts.push(`--nice=${Math.min(-spec.priority, 1000) * 1000}`);
  for (const o of opts) if (!/^--[a-z-]+(=[A-Za-z0-9._/:@+,-]*)?$/.test(o)) throw new StintError('INVALID_REQUEST', `refusing sbatch option ${JSON.stringify(o)}`, {});
  return opts;
}

/** How the step runs in the task's image (containers.ts), or null without `image_id`; refused when the cluster cannot. */
export function stepContainer(request: LaunchRequest, target: BatchTarget): ContainerLaunch | null {
  const choice = slurmChoice(request.spec);
  if (choice.imageId === null) return null;
  const support = target.containers ?? { mode: 'none', how: 'no container support was detected', apptainer: 'apptainer' };
  const launch = containerLaunch(choice.imageId, support, target.jobDir, choice.accelerator?.count ?? 0);
  for (const word of [...launch.srunOptions, ...launch.prefix]) {
    if (!/^[A-Za-z0-9._/:@#+=,-]+$/.test(word)) throw new StintError('INVALID_REQUEST', `refusing container argument ${JSON.stringify(word)}`, { field: 'resources.image_id' });
  }
  return launch;
}

/** The batch script: runs on the first node, starts the per-node wrapper on every node with srun (inside the image, if any). */
export function batchScript(request: LaunchRequest, target: BatchTarget): string {
  if (!SAFE_PATH.test(target.jobDir)) throw new StintError('INVALID_REQUEST', `workdir path ${JSON.stringify(target.jobDir)} has characters stint does not put in scripts`, {});
  const header = sbatchOptions(request, target).map((o) => `#SBATCH ${o}`);
  const container = stepContainer(request, target);
  const step = container ? [...container.srunOptions, ...container.prefix, ''].join(' ') : '';
  const where = container ? `# The per-node wrapper runs inside the task's image (${target.containers!.mode}); this script stays on the node.\n` : '';
  return `#!/bin/bash
${header.join('\n')}
# Generated by stint for job ${request.jobId}, attempt ${request.attempt}. Slurm places it; stint reads
# its state from squeue/sacct. A requeue (node failure, preemption) restarts this script with
# SLURM_RESTART_COUNT+1, and that run logs to its own restart folder.
umask 077
export PATH=\${PATH:-/usr/local/bin:/usr/bin:/bin}
job_dir=${target.jobDir}
base_dir=$job_dir/attempt-${request.attempt}
restart=\${SLURM_RESTART_COUNT:-0}
attempt=$((${request.attempt} + restart))
attempt_dir=$base_dir
if [ "$restart" -gt 0 ]; then attempt_dir=$base_dir/restart-$restart; fi
mkdir -p "$attempt_dir"
if [ -f "$job_dir/work.tar.gz" ] && [ ! -d "$job_dir/work" ]; then
  mkdir -p "$job_dir/work.tmp" && tar -xzf "$job_dir/work.tar.gz" -C "$job_dir/work.tmp" --no-same-owner --no-same-permissions &&
    mv "$job_dir/work.tmp" "$job_dir/work" || { echo "stint: cannot unpack the workdir" >>"$attempt_dir/output.log"; exit 97; }
fi
mkdir -p "$job_dir/work" "$job_dir/checkpoints"
hosts=$(scontrol show hostnames "$SLURM_JOB_NODELIST")
addrs=$(scontrol show node -o "$SLURM_JOB_NODELIST" 2>/dev/null | tr ' ' '\\n' | awk -F= '$1=="NodeName"{n=$2} $1=="NodeAddr"{print n, $2}')
ips=
for h in $hosts; do
  ip=$(printf '%s\\n' "$addrs" | awk -v h="$h" '$1==h{print $2; exit}')
  ips="$ips\${ips:+
}\${ip:-$h}"
done
export STINT_SLURM_ATTEMPT=$attempt STINT_SLURM_ATTEMPT_DIR=$attempt_dir STINT_SLURM_IPS=$ips
export STINT_SLURM_HOSTS=$(printf '%s\\n' $hosts)
# TERM reaches the tasks directly (scancel --signal, --signal=TERM@N); this shell only waits.
trap 'true' TERM
${where}srun --export=ALL --ntasks-per-node=1 --kill-on-bad-exit=0 --quiet ${step}bash "$base_dir/node.sh"
exit $?
`;
}

/** Runs on every node: the job's environment, per-node rank, then setup and run in the job's workdir. */
export function nodeScript(request: LaunchRequest): string {
  const gpusPerNode = slurmChoice(request.spec).accelerator?.count ?? 0;
  return `#!/bin/bash
# Started by srun on every node of the job (one task per node).
umask 077
exec >>"$STINT_SLURM_ATTEMPT_DIR/output.log" 2>&1 </dev/null
base_dir=$(dirname "$0")
# The job's environment came with the job (${ENV_PREFIX}<NAME>, see translate.ts): restore the names.
declare -A stint_env=()
for v in \${!${ENV_PREFIX}@}; do stint_env[\${v#${ENV_PREFIX}}]=\${!v}; unset "$v"; done
for v in "\${!stint_env[@]}"; do export "$v=\${stint_env[$v]}"; done
unset stint_env v
export STINT_ATTEMPT=$STINT_SLURM_ATTEMPT STINT_RESTART_COUNT=$((STINT_SLURM_ATTEMPT - 1))
export STINT_NODE_RANK=$SLURM_NODEID SKYPILOT_NODE_RANK=$SLURM_NODEID
export STINT_NODE_IPS=$STINT_SLURM_IPS SKYPILOT_NODE_IPS=$STINT_SLURM_IPS STINT_NODE_NAMES=$STINT_SLURM_HOSTS
export STINT_NUM_GPUS_PER_NODE=${gpusPerNode} SKYPILOT_NUM_GPUS_PER_NODE=${gpusPerNode}
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
`;
}

/** `export <prefix>KEY='value'` lines; a key that is not a shell name is refused. */
export function envFile(env: Record<string, string>, prefix = ''): string {
  return Object.entries(env).map(([key, value]) => {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) throw new StintError('INVALID_REQUEST', `environment variable name ${JSON.stringify(key)} is not valid in a shell`, { field: 'envs', key });
    return `export ${prefix}${key}='${value.replaceAll("'", "'\\''")}'`;
  }).join('\n') + '\n';
}

export function batchFiles(request: LaunchRequest, target: BatchTarget): BatchFiles {
  const attemptDir = `${target.jobDir}/attempt-${request.attempt}`;
  const gpusPerNode = slurmChoice(request.spec).accelerator?.count ?? 0;
  const env = {
    ...jobEnvironment(request, { rank: 0, numNodes: request.spec.numNodes, nodeIps: [], gpusPerNode }),
    STINT_CHECKPOINT_DIR: `${target.jobDir}/checkpoints`,
  };
  const scriptPath = `${attemptDir}/job.sbatch`;
  return {
    attemptDir,
    scriptPath,
    environment: envFile(env, ENV_PREFIX),
    files: [
      { path: `${attemptDir}/setup.sh`, content: request.spec.setup ?? '', mode: 0o600 },
      { path: `${attemptDir}/run.sh`, content: request.spec.run ?? '', mode: 0o600 },
      { path: `${attemptDir}/node.sh`, content: nodeScript(request), mode: 0o700 },
      { path: scriptPath, content: batchScript(request, target), mode: 0o600 },
    ],
  };
}
