// The scheduling policy's inputs and outputs: plain data, no I/O. The server's scheduler loop and
// the simulator both build these from their own state and call the same `plan` function.

import type { Node } from '../inventory.js';

/** One way a job could be satisfied, on one node (multi-node jobs are placed by engines, not here). */
export interface Demand {
  /** GPU type wanted (matched case-insensitively against Gpu.name); null = any type or no GPU. */
  gpuName: string | null;
  /** Whole GPUs wanted on one node. 0 = a CPU-only job. */
  gpus: number;
  cpus: number;
  memoryGb: number;
}

export interface PendingJob {
  id: number;
  priority: number;
  /** Epoch milliseconds. */
  submittedAt: number;
  /** Alternatives; when `ordered`, earlier ones are preferred, else the first that fits now wins. */
  demands: Demand[];
  ordered: boolean;
  /** How long the job may run (its max_runtime), used for reservations and backfill; null = unknown. */
  runtimeLimitMs: number | null;
  /** false: may use only its project's guaranteed quota, and is never preempted (default true). */
  preemptible?: boolean;
  /** Who and which project it is for (fair share); absent in traces without tenants. */
  user?: string;
  project?: string;
}

export interface RunningJob {
  id: number;
  node: string;
  gpuIndices: number[];
  cpus: number;
  memoryGb: number;
  /** When it must end at the latest (startedAt + max_runtime); null = unknown (may run forever). */
  endsBy: number | null;
}

export interface ClusterState {
  nodes: Node[];
  running: RunningJob[];
}

export interface Placement {
  jobId: number;
  node: string;
  gpuIndices: number[];
  cpus: number;
  memoryGb: number;
  /** Index into the job's `demands` that was chosen. */
  demandIndex: number;
  /** true when the job started ahead of a higher-ordered job that could not start. */
  backfilled: boolean;
}

export interface WaitInfo {
  /** A sentence for humans: "needs 2 × A100; 1 free; 3 jobs ahead". */
  reason: string;
  /** Estimated start (epoch ms) if it can be computed from runtime limits; else null. */
  estimatedStartAt: number | null;
  /** Jobs ahead of it in the queue. */
  position: number;
}

/** The head job's reservation (EASY backfill): where and when the first waiting job will start. */
export interface HeadReservation {
  jobId: number;
  node: string;
  /** The GPUs it will take there (some may still be busy now). */
  gpuIndices: number[];
  /** Index into the job's `demands` the reservation is for. */
  demandIndex: number;
  /** Shadow time (epoch ms); null when a job it waits for has no runtime limit. */
  startAt: number | null;
}

export interface Plan {
  placements: Placement[];
  waiting: Map<number, WaitInfo>;
  /** Set by `plan` (null when no job had to wait for resources in use); optional for other producers. */
  reservation?: HeadReservation | null;
}
