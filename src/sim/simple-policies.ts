// The baseline policies of the GPU-scheduling literature, as the Helios artifact runs them:
//  - fifo: submission order, strict — the first job that does not fit stops the pass (no backfill);
//  - sjf: shortest (oracle) duration first, strict and non-preemptive;
//  - srtf: shortest (oracle) remaining time first, preemptive: at each instant, pending and running
//    jobs are taken by remaining time while their GPUs fit in the cluster's total; running jobs
//    left out are suspended (checkpointed, no overhead) and resume later where they stopped.
// Placement is the cluster's consolidated gang placement for all three.
// Always: fifo and sjf never stop a job; srtf never runs more GPUs than the cluster has.

import type { PassContext, SimJob, SimPolicy } from './job.js';

type Compare = (a: SimJob, b: SimJob) => number;

/** A queue kept sorted by `compare` (binary insertion; the front is removed in one splice). */
class SortedQueue {
  readonly items: SimJob[] = [];
  constructor(private readonly compare: Compare) {}
  insert(job: SimJob): void {
    const a = this.items;
    let lo = 0;
    let hi = a.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.compare(a[mid]!, job) <= 0) lo = mid + 1;
      else hi = mid;
    }
    a.splice(lo, 0, job);
  }
  remove(job: SimJob): void {
    const at = this.items.indexOf(job);
    if (at >= 0) this.items.splice(at, 1);
  }
}

const bySubmit: Compare = (a, b) => a.trace.submit - b.trace.submit || a.trace.id - b.trace.id;
const byDuration: Compare = (a, b) => a.trace.duration - b.trace.duration || bySubmit(a, b);
const byRemaining: Compare = (a, b) => a.remaining - b.remaining || bySubmit(a, b);

/** Strict head-of-line order: start jobs from the front while they fit. */
class StrictPolicy implements SimPolicy {
  private readonly queue: SortedQueue;
  constructor(
    readonly name: string,
    compare: Compare,
  ) {
    this.queue = new SortedQueue(compare);
  }
  enqueue(job: SimJob): void {
    this.queue.insert(job);
  }
  finished(): void {}
  pendingCount(): number {
    return this.queue.items.length;
  }
  pass(ctx: PassContext): void {
    const items = this.queue.items;
    let started = 0;
    for (; started < items.length; started++) {
      const job = items[started]!;
      const allocation = ctx.cluster.find(job.trace.gpus);
      if (allocation === null) break;
      ctx.start(job, allocation);
    }
    if (started > 0) items.splice(0, started);
  }
}

export function fifoPolicy(): SimPolicy {
  return new StrictPolicy('fifo', bySubmit);
}

export function sjfPolicy(): SimPolicy {
  return new StrictPolicy('sjf', byDuration);
}

/** Running jobs sorted by end time (= by remaining time, since all run at the same rate). */
class SrtfPolicy implements SimPolicy {
  readonly name = 'srtf';
  private readonly pending = new SortedQueue(byRemaining);
  private readonly running = new SortedQueue((a, b) => a.startedAt + a.remaining - (b.startedAt + b.remaining) || bySubmit(a, b));

  enqueue(job: SimJob): void {
    this.pending.insert(job);
  }
  finished(job: SimJob): void {
    this.running.remove(job);
  }
  pendingCount(): number {
    return this.pending.items.length;
  }
  pass(ctx: PassContext): void {
    const { chosen, stopped } = this.select(ctx);
    for (const job of stopped) {
      this.running.remove(job);
      ctx.stop(job, true);
    }
    const started = new Set<SimJob>();
    for (const job of chosen) {
      const allocation = ctx.cluster.find(job.trace.gpus);
      if (allocation === null) continue;
      ctx.start(job, allocation);
      started.add(job);
      this.running.insert(job);
    }
    if (started.size > 0) this.pending.items.splice(0, this.pending.items.length, ...this.pending.items.filter((j) => !started.has(j)));
  }

  /** Helios' SRTF selection: by remaining time, while the GPUs fit in the cluster's total. */
  private select(ctx: PassContext): { chosen: SimJob[]; stopped: SimJob[] } {
    const now = ctx.now;
    const pending = this.pending.items;
    const running = this.running.items;
    const chosen: SimJob[] = [];
    const stopped: SimJob[] = [];
    let budget = ctx.cluster.totalGpus;
    let p = 0;
    let r = 0;
    while (p < pending.length || r < running.length) {
      const pj = pending[p];
      const rj = running[r];
      const runLeft = rj ? rj.remaining - (now - rj.startedAt) : Infinity;
      const takeRunning = rj !== undefined && (pj === undefined || runLeft < pj.remaining || (runLeft === pj.remaining && bySubmit(rj, pj) < 0));
      const job = takeRunning ? rj! : pj!;
      if (takeRunning) r++;
      else p++;
      if (job.trace.gpus <= budget) {
        budget -= job.trace.gpus;
        if (!takeRunning) chosen.push(job);
      } else if (takeRunning) stopped.push(job);
      if (budget === 0) {
        for (; r < running.length; r++) stopped.push(running[r]!);
        break;
      }
    }
    return { chosen, stopped };
  }
}

export function srtfPolicy(): SimPolicy {
  return new SrtfPolicy();
}
