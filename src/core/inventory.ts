// What a backend offers: nodes, their GPUs, CPUs and memory. Pure data shared by backends, the
// policy and the API. A GPU is identified by (backend, node, index).

export type GpuVendor = 'nvidia' | 'amd' | 'apple' | 'fake';

export interface Gpu {
  index: number;
  /** Normalised model name used for matching task requests, e.g. `A100`, `H100`, `M2-Max`. */
  name: string;
  /** The full name the tool reported, e.g. `NVIDIA A100-SXM4-80GB`. */
  model: string;
  memoryMb: number;
  vendor: GpuVendor;
  uuid?: string;
  healthy: boolean;
  /** The device node a job opens to use it (`/dev/nvidia0`, `/dev/dri/renderD128`, a fake node); absent when unknown. */
  devicePath?: string;
}

/**
 * Whether the node enforces a job's limits (its own cgroup: memory, CPUs, pids, GPU devices; a
 * private /tmp). When not, jobs still run and `reason` says why, for `stint gpus` and the UI.
 */
export interface Confinement {
  enforced: boolean;
  reason?: string;
  cgroup: 'v1' | 'v2' | null;
  /** Each job's /tmp is its own (a mount namespace); otherwise only TMPDIR is. */
  privateTmp: boolean;
  /** What is enforced only in part (e.g. why /tmp is not private), one sentence each. */
  notes?: string[];
}

export interface Node {
  name: string;
  gpus: Gpu[];
  cpus: number;
  memoryGb: number;
  /** The engine's word for the node (Slurm: idle, mixed, allocated, drained, down); absent for local. */
  state?: string;
  /** The engine's partitions (queues) the node is in; absent for local. */
  partitions?: string[];
  /** How jobs are confined on this node (local backend); absent where the engine confines (Slurm). */
  confinement?: Confinement;
}

export interface Inventory {
  backend: string;
  nodes: Node[];
}
