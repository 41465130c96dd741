// Best-effort start estimates for waiting jobs. Each GPU type is treated as one pool of GPUs
// (node boundaries ignored), each GPU known by the time it becomes free; waiting jobs, taken in
// queue order, take the earliest-free GPUs and hand them back at start + runtime limit. Cheap
// (O(jobs × GPUs per job × log GPUs)) and optimistic; the head's own estimate is its shadow time.
// Always: an estimate is never earlier than `now`, and null means unknown (a needed GPU is held
// by a job without a runtime limit, or the job needs no GPU).

import { typeOfGpu, type FreeCapacity, type Hold } from './free-capacity.js';
import type { Demand, PendingJob } from './types.js';

/** Binary min-heap of times (Infinity = never), counting its finite entries. */
class TimeHeap {
  private readonly items: number[] = [];
  finite = 0;

  push(value: number): void {
    if (value !== Infinity) this.finite++;
    const items = this.items;
    let i = items.push(value) - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (items[parent]! <= value) break;
      items[i] = items[parent]!;
      i = parent;
    }
    items[i] = value;
  }

  pop(): number {
    const items = this.items;
    const top = items[0]!;
    if (top !== Infinity) this.finite--;
    const last = items.pop()!;
    if (items.length > 0) this.siftDown(last);
    return top;
  }

  private siftDown(value: number): void {
    const items = this.items;
    let i = 0;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= items.length) break;
      if (child + 1 < items.length && items[child + 1]! < items[child]!) child++;
      if (items[child]! >= value) break;
      items[i] = items[child]!;
      i = child;
    }
    items[i] = value;
  }
}

interface Candidate {
  pool: TimeHeap;
  gpus: number;
}

export class StartEstimator {
  /** Per GPU type id. */
  private readonly pools: TimeHeap[];
  private readonly scratch: number[] = [];

  constructor(
    private readonly capacity: FreeCapacity,
    holds: readonly Hold[],
    private readonly now: number,
  ) {
    this.pools = capacity.typeNames.map(() => new TimeHeap());
    for (const node of capacity.nodes) {
      node.free.forEach((list, type) => list.forEach(() => this.pools[type]!.push(now)));
    }
    for (const hold of holds) {
      const node = capacity.nodes[hold.node]!;
      for (const index of hold.gpuIndices) {
        const type = typeOfGpu(node, index);
        if (type >= 0) this.pools[type]!.push(Math.max(hold.endsAt, now));
      }
    }
  }

  /** Books the GPUs of a job known to start at `startAt` (the head at its shadow time). */
  book(demand: Demand, gpuType: number | null, startAt: number, runtimeLimitMs: number | null): void {
    const pool = gpuType === null ? undefined : this.pools[gpuType];
    if (pool === undefined || !Number.isFinite(startAt) || pool.finite < demand.gpus) return;
    this.start({ pool, gpus: demand.gpus }, runtimeLimitMs, startAt);
  }

  /** The job's estimated start, booking its GPUs in the pool; null when unknown. */
  estimate(job: PendingJob): number | null {
    const only = this.onlyCandidate(job);
    if (only !== undefined) return only === null ? null : this.start(only, job.runtimeLimitMs);
    const candidates = this.candidates(job);
    if (candidates.length <= 1) return candidates[0] ? this.start(candidates[0], job.runtimeLimitMs) : null;
    let best: Candidate | null = null;
    let bestAt = Infinity;
    for (const candidate of candidates) {
      const at = this.nthFree(candidate);
      if (at < bestAt) [best, bestAt] = [candidate, at];
    }
    return this.start(best!, job.runtimeLimitMs);
  }

  /** The common case, one demand of one named type: its candidate (null: none); undefined otherwise. */
  private onlyCandidate(job: PendingJob): Candidate | null | undefined {
    const demand = job.demands[0];
    if (job.demands.length !== 1 || demand === undefined || demand.gpuName === null) return undefined;
    const types = this.capacity.typeIdsFor(demand);
    const pool = types.length === 1 ? this.pools[types[0]!]! : undefined;
    return demand.gpus > 0 && pool !== undefined && pool.finite >= demand.gpus ? { pool, gpus: demand.gpus } : null;
  }

  /** The pools the job could start from in finite time. */
  private candidates(job: PendingJob): Candidate[] {
    const candidates: Candidate[] = [];
    for (const demand of job.demands) {
      if (demand.gpus <= 0) continue;
      for (const type of this.capacity.typeIdsFor(demand)) {
        const pool = this.pools[type]!;
        if (pool.finite >= demand.gpus) candidates.push({ pool, gpus: demand.gpus });
      }
    }
    return candidates;
  }

  /** When the candidate's GPUs would all be free (the pool is left as it was). */
  private nthFree({ pool, gpus }: Candidate): number {
    const popped = this.scratch;
    for (let i = 0; i < gpus; i++) popped[i] = pool.pop();
    for (let i = 0; i < gpus; i++) pool.push(popped[i]!);
    return Math.max(popped[gpus - 1]!, this.now);
  }

  /** Takes the earliest-free GPUs from `startAt` (default: when they are free) until the limit. */
  private start({ pool, gpus }: Candidate, runtimeLimitMs: number | null, startAt?: number): number {
    let last = this.now;
    for (let i = 0; i < gpus; i++) last = pool.pop();
    const at = Math.max(startAt ?? last, last, this.now);
    const endsAt = runtimeLimitMs === null ? Infinity : at + runtimeLimitMs;
    for (let i = 0; i < gpus; i++) pool.push(endsAt);
    return at;
  }
}
