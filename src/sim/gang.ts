// Jobs wider than one node in a core-policy pass (core-policies.ts). plan() places single-node
// demands only, so a gang job is handled here in its priority turn: before plan(), the jobs at the
// very top of the order that are gangs start if whole nodes are free; the first that cannot becomes
// the pass's head: the nodes that free up soonest are reserved for it (handed to plan() as held
// until that time, so no job is placed on them). During plan(), gang jobs met in the order are
// passed over and, if nothing before them had to wait, started after plan() if nodes are left.
// Always: a gang job starts only on an allocation the cluster found free; at most one gang head.

import type { QueueOrder } from '../core/policy/plan.js';
import type { PendingJob, RunningJob } from '../core/policy/types.js';
import type { PassContext, SimJob } from './job.js';
import type { RuntimeLimits, SimPending } from './core-policies.js';

export class GangStep {
  private reserved: { nodes: number[]; until: number | null } | null = null;
  private readonly clear: SimPending[] = [];

  constructor(
    private readonly ctx: PassContext,
    private readonly limits: RuntimeLimits,
  ) {}

  private isGang(job: PendingJob): boolean {
    return (job.demands[0]?.gpus ?? 0) > this.ctx.cluster.gpusPerNode;
  }

  /** Starts the gang jobs at the top of the order; returns the first single-node job pulled, if any. */
  before(order: QueueOrder, started: (job: SimJob) => void): PendingJob | undefined {
    for (let job = order.next() as SimPending | undefined; job !== undefined; job = order.next() as SimPending | undefined) {
      if (!this.isGang(job)) return job;
      const allocation = this.ctx.cluster.find(job.gpus);
      if (allocation === null) {
        this.reserve(job.gpus);
        return undefined;
      }
      this.ctx.start(job.sim, allocation);
      started(job.sim);
      order.placed(job);
    }
    return undefined;
  }

  /** The order plan() walks: `first`, then the rest without gang jobs (noted for `after`). */
  wrap(order: QueueOrder, first: PendingJob | undefined): QueueOrder {
    let pushed = first;
    let last: PendingJob | undefined;
    let lastPlaced = true;
    let waited = this.reserved !== null;
    return {
      next: () => {
        if (last !== undefined && !lastPlaced) waited = true;
        let job = pushed;
        pushed = undefined;
        job ??= order.next();
        while (job !== undefined && this.isGang(job)) {
          if (!waited) this.clear.push(job as SimPending);
          job = order.next();
        }
        last = job;
        lastPlaced = false;
        return job;
      },
      placed: (job) => {
        lastPlaced = true;
        order.placed(job);
      },
    };
  }

  /** Starts the gang jobs that met no waiting job before them, while whole nodes are free. */
  after(order: QueueOrder, started: (job: SimJob) => void): void {
    for (const job of this.clear) {
      const allocation = this.ctx.cluster.find(job.gpus);
      if (allocation === null) return;
      this.ctx.start(job.sim, allocation);
      started(job.sim);
      order.placed(job);
    }
  }

  /** The reserved nodes' free GPUs as holds until the reservation's time. */
  withheld(): RunningJob[] {
    if (!this.reserved) return [];
    const { cluster } = this.ctx;
    const busy = new Map<number, Set<number>>();
    for (const job of this.ctx.running) for (const p of job.allocation!) {
      if (!busy.has(p.node)) busy.set(p.node, new Set());
      for (const g of p.gpuIndices) busy.get(p.node)!.add(g);
    }
    return this.reserved.nodes.map((node, i) => ({
      id: -1 - i,
      node: cluster.nodeName(node),
      gpuIndices: Array.from({ length: cluster.gpusPerNode }, (_, g) => g).filter((g) => !busy.get(node)?.has(g)),
      cpus: 0,
      memoryGb: 0,
      endsBy: this.reserved!.until,
    }));
  }

  /** Reserves the ⌈gpus/G⌉ nodes that become wholly free soonest (by running jobs' limits). */
  private reserve(gpus: number): void {
    const { cluster, running } = this.ctx;
    const freeAt = new Array<number>(cluster.nodeCount).fill(this.ctx.now);
    const held = new Array<number>(cluster.nodeCount).fill(0);
    for (const job of running) {
      const end = this.limits === 'oracle' ? job.startedAt + job.remaining : Infinity;
      for (const p of job.allocation!) {
        freeAt[p.node] = Math.max(freeAt[p.node]!, end);
        held[p.node]! += p.gpuIndices.length;
      }
    }
    const count = Math.ceil(gpus / cluster.gpusPerNode);
    const nodes = freeAt.map((_, n) => n).sort((a, b) => freeAt[a]! - freeAt[b]! || held[a]! - held[b]! || a - b).slice(0, count);
    const until = Math.max(...nodes.map((n) => freeAt[n]!));
    this.reserved = { nodes, until: Number.isFinite(until) ? until * 1000 : null };
  }
}
