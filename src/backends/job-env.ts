// The environment every attempt gets, on every backend: the submitter's exported environment
// (--export-env), the task's envs and secrets, stint's variables, and SkyPilot's names for the same
// so SkyPilot tasks run unchanged. Backends add what only they know (GPU visibility, node IPs).
// Invariant, lowest first: exported env < task envs (with --env) < secrets < the scheduler's env <
// stint's variables. A backend puts the account's login environment (HOME, PATH...) under all of
// this, so an exported PATH (conda's, a venv's) wins over the login PATH.

import type { LaunchRequest } from './backend.js';

export interface NodeLayout {
  rank: number;
  numNodes: number;
  nodeIps: string[];
  gpusPerNode: number;
}

export function jobEnvironment(request: LaunchRequest, layout: NodeLayout): Record<string, string> {
  const ips = layout.nodeIps.join('\n');
  return {
    ...request.exportedEnv,
    ...request.spec.envs,
    ...request.secrets,
    ...request.env,
    STINT_JOB_ID: String(request.jobId),
    STINT_JOB_NAME: request.name ?? '',
    STINT_ATTEMPT: String(request.attempt),
    STINT_RESTART_COUNT: String(request.attempt - 1),
    STINT_NODE_RANK: String(layout.rank),
    STINT_NUM_NODES: String(layout.numNodes),
    STINT_NUM_GPUS_PER_NODE: String(layout.gpusPerNode),
    STINT_NODE_IPS: ips,
    SKYPILOT_NODE_RANK: String(layout.rank),
    SKYPILOT_NUM_NODES: String(layout.numNodes),
    SKYPILOT_NUM_GPUS_PER_NODE: String(layout.gpusPerNode),
    SKYPILOT_NODE_IPS: ips,
    SKYPILOT_TASK_ID: `stint-job-${request.jobId}`,
  };
}

/** GPU visibility variables for the vendors' runtimes. */
export function gpuVisibility(gpus: readonly number[], vendor: string): Record<string, string> {
  const list = gpus.join(',');
  const env: Record<string, string> = { CUDA_VISIBLE_DEVICES: list };
  if (vendor === 'amd') {
    env.ROCR_VISIBLE_DEVICES = list;
    env.HIP_VISIBLE_DEVICES = list;
  }
  return env;
}
