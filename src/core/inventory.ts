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
}

export interface Inventory {
  backend: string;
  nodes: Node[];
}
