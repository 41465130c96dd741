// The head job's reservation for EASY backfill: the earliest time ("shadow time") at which one of
// its demands fits on one node as holds end, the node and GPUs it would take then, and what a
// long backfill job may still use on that node without delaying it.
// Always: a job placed through `fitOutside` leaves the reserved GPUs free and keeps the reserved
// node's CPUs and memory at the shadow time at least what the head needs; only jobs that end by the
// shadow time (`endsInTime`) may use anything else.

import { typeOfGpu, type Fit, type FreeCapacity, type Hold, type NodeFree } from './free-capacity.js';
import type { Demand, PendingJob } from './types.js';

export interface Reservation {
  jobId: number;
  demandIndex: number;
  demand: Demand;
  node: number;
  gpuType: number | null;
  /** The GPUs the head will take, ascending. */
  gpuIndices: number[];
  reserved: ReadonlySet<number>;
  /** Shadow time (epoch ms); Infinity when a hold it needs has no end. */
  startAt: number;
  /** CPUs and memory of the reserved node left over at the shadow time once the head has its share. */
  extraCpus: number;
  extraMemoryGb: number;
}

interface Candidate extends Fit {
  at: number;
  demandIndex: number;
}

function holdsByNode(holds: readonly Hold[]): Map<number, Hold[]> {
  const byNode = new Map<number, Hold[]>();
  for (const hold of holds) {
    const list = byNode.get(hold.node);
    if (list) list.push(hold);
    else byNode.set(hold.node, [hold]);
  }
  for (const list of byNode.values()) list.sort((a, b) => (a.endsAt === b.endsAt ? 0 : a.endsAt < b.endsAt ? -1 : 1));
  return byNode;
}

function couldHost(node: NodeFree, demand: Demand, types: readonly number[]): boolean {
  if (node.totalCpus < demand.cpus || node.totalMemoryGb < demand.memoryGb) return false;
  return demand.gpus <= 0 || types.some((type) => node.healthyCount[type]! >= demand.gpus);
}

/** The type (fewest free first) a demand fits with these free counts per type, or undefined. */
function fitCounts(counts: readonly number[], demand: Demand, types: readonly number[]) {
  if (demand.gpus <= 0) return { gpuType: null, k: counts.reduce((a, b) => a + b, 0) };
  let best: { gpuType: number; k: number } | undefined;
  for (const type of types) {
    const k = counts[type]!;
    if (k >= demand.gpus && (best === undefined || k < best.k)) best = { gpuType: type, k };
  }
  return best;
}

/** When the demand first fits on this node as its holds end (sorted by end), or null. */
function earliestOnNode(node: NodeFree, holds: readonly Hold[], demand: Demand, types: readonly number[]) {
  const counts = node.free.map((list) => list.length);
  let cpus = node.cpus;
  let memoryGb = node.memoryGb;
  for (let i = 0; i < holds.length; ) {
    const at = holds[i]!.endsAt;
    for (; i < holds.length && holds[i]!.endsAt === at; i++) {
      const hold = holds[i]!;
      cpus += hold.cpus;
      memoryGb += hold.memoryGb;
      for (const index of hold.gpuIndices) {
        const type = typeOfGpu(node, index);
        if (type >= 0) counts[type]!++;
      }
    }
    if (cpus < demand.cpus || memoryGb < demand.memoryGb) continue;
    const fit = fitCounts(counts, demand, types);
    if (fit) return { at, gpuType: fit.gpuType, k: fit.k };
  }
  return null;
}

function better(a: Candidate, b: Candidate | null): boolean {
  if (b === null) return true;
  if (a.at !== b.at) return a.at < b.at;
  if (a.demandIndex !== b.demandIndex) return a.demandIndex < b.demandIndex;
  return a.k !== b.k ? a.k < b.k : a.node < b.node;
}

function bestCandidate(job: PendingJob, capacity: FreeCapacity, byNode: Map<number, Hold[]>): Candidate | null {
  let best: Candidate | null = null;
  job.demands.forEach((demand, demandIndex) => {
    const types = capacity.typeIdsFor(demand);
    for (const [nodeIndex, holds] of byNode) {
      const node = capacity.nodes[nodeIndex]!;
      if (!couldHost(node, demand, types)) continue;
      const hit = earliestOnNode(node, holds, demand, types);
      if (hit === null) continue;
      const candidate = { at: hit.at, gpuType: hit.gpuType, k: hit.k, node: nodeIndex, demandIndex };
      if (better(candidate, best)) best = candidate;
    }
  });
  return best;
}

/** The head's reservation, or null when no demand fits on any node even once everything ends. */
export function reserve(
  job: PendingJob,
  capacity: FreeCapacity,
  holds: readonly Hold[],
  now: number,
): Reservation | null {
  const byNode = holdsByNode(holds);
  const best = bestCandidate(job, capacity, byNode);
  if (best === null) return null;
  const demand = job.demands[best.demandIndex]!;
  const node = capacity.nodes[best.node]!;
  const released = (byNode.get(best.node) ?? []).filter((hold) => hold.endsAt <= best.at);
  const gpuIndices = best.gpuType === null ? [] : gpusAt(node, released, best.gpuType, demand.gpus);
  const sum = (pick: (hold: Hold) => number) => released.reduce((total, hold) => total + pick(hold), 0);
  return {
    jobId: job.id,
    demandIndex: best.demandIndex,
    demand,
    node: best.node,
    gpuType: best.gpuType,
    gpuIndices,
    reserved: new Set(gpuIndices),
    startAt: Math.max(best.at, now),
    extraCpus: node.cpus + sum((hold) => hold.cpus) - demand.cpus,
    extraMemoryGb: node.memoryGb + sum((hold) => hold.memoryGb) - demand.memoryGb,
  };
}

/** The lowest `count` GPUs of the type free once `released` have ended. */
function gpusAt(node: NodeFree, released: readonly Hold[], type: number, count: number): number[] {
  const free = new Set(node.free[type]!);
  for (const hold of released) {
    for (const index of hold.gpuIndices) if (typeOfGpu(node, index) === type) free.add(index);
  }
  return [...free].sort((a, b) => a - b).slice(0, count);
}

/** Whether a job started now surely ends by the shadow time (never, when that time is unknown). */
export function endsInTime(job: PendingJob, reservation: Reservation, now: number): boolean {
  if (job.runtimeLimitMs === null || !Number.isFinite(reservation.startAt)) return false;
  return now + job.runtimeLimitMs <= reservation.startAt;
}

/** Best fit for the demand using only what the reservation does not need, or null. */
export function fitOutside(reservation: Reservation, capacity: FreeCapacity, demand: Demand): Fit | null {
  const elsewhere = capacity.findBest(demand, reservation.node);
  const onNode = fitOnReservedNode(reservation, capacity, demand);
  if (elsewhere === null || onNode === null) return elsewhere ?? onNode;
  const onNodeWins = onNode.k < elsewhere.k || (onNode.k === elsewhere.k && onNode.node < elsewhere.node);
  return onNodeWins ? onNode : elsewhere;
}

function fitOnReservedNode(reservation: Reservation, capacity: FreeCapacity, demand: Demand): Fit | null {
  const node = capacity.nodes[reservation.node]!;
  if (Math.min(node.cpus, reservation.extraCpus) < demand.cpus) return null;
  if (Math.min(node.memoryGb, reservation.extraMemoryGb) < demand.memoryGb) return null;
  const unreserved = (type: number) => node.free[type]!.filter((i) => !reservation.reserved.has(i)).length;
  if (demand.gpus <= 0) {
    const k = node.free.reduce((total, _, type) => total + unreserved(type), 0);
    return { node: reservation.node, gpuType: null, k };
  }
  let best: Fit | null = null;
  for (const gpuType of capacity.typeIdsFor(demand)) {
    const k = unreserved(gpuType);
    if (k >= demand.gpus && (best === null || k < best.k)) best = { node: reservation.node, gpuType, k };
  }
  return best;
}

/** Records that a job placed by `fitOutside` on the reserved node uses part of its leftover. */
export function useLeftover(reservation: Reservation, fit: Fit, demand: Demand): void {
  if (fit.node !== reservation.node) return;
  reservation.extraCpus -= demand.cpus;
  reservation.extraMemoryGb -= demand.memoryGb;
}
