// Builders of policy inputs for tests and the scheduling benchmark: nodes, pending and running jobs,
// and a seeded pseudo-random generator, so that every generated case can be replayed exactly.
// Always: builders return fresh objects (callers may mutate them) and use no clock or global random.

import type { Gpu, Node } from '../inventory.js';
import type { Demand, PendingJob, RunningJob } from './types.js';

/** mulberry32: a small, fast, seeded generator of floats in [0, 1). */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function gpus(name: string, count: number, unhealthy: readonly number[] = [], firstIndex = 0): Gpu[] {
  return Array.from({ length: count }, (_, i) => ({
    index: firstIndex + i,
    name,
    model: `fake ${name}`,
    memoryMb: 81_920,
    vendor: 'fake' as const,
    healthy: !unhealthy.includes(firstIndex + i),
  }));
}

export function node(name: string, nodeGpus: Gpu[], cpus = 64, memoryGb = 512): Node {
  return { name, gpus: nodeGpus, cpus, memoryGb };
}

export function demand(fields: Partial<Demand> = {}): Demand {
  return { gpuName: null, gpus: 0, cpus: 0, memoryGb: 0, ...fields };
}

export interface JobFields {
  priority?: number;
  submittedAt?: number;
  ordered?: boolean;
  runtimeLimitMs?: number | null;
}

export function pendingJob(id: number, demands: Demand[], fields: JobFields = {}): PendingJob {
  return {
    id,
    priority: fields.priority ?? 0,
    submittedAt: fields.submittedAt ?? id,
    demands,
    ordered: fields.ordered ?? false,
    runtimeLimitMs: fields.runtimeLimitMs === undefined ? null : fields.runtimeLimitMs,
  };
}

export interface RunningFields {
  cpus?: number;
  memoryGb?: number;
  endsBy?: number | null;
}

export function runningJob(id: number, nodeName: string, gpuIndices: number[], fields: RunningFields = {}): RunningJob {
  const endsBy = fields.endsBy === undefined ? null : fields.endsBy;
  return { id, node: nodeName, gpuIndices, cpus: fields.cpus ?? 0, memoryGb: fields.memoryGb ?? 0, endsBy };
}
