// One scheduling pass: order the queue, start every job that fits now (best fit, lowest GPU
// indices), and once the first job that cannot start (the head) is met, backfill EASY-style:
// later jobs start only if they end by the head's shadow time or use nothing its reservation needs.
// Pure: no I/O, no clock — `now` comes from the caller (the server or the simulator).
// Always: a GPU is given to at most one job (running or placed); no node's CPUs, memory or healthy
// GPUs are ever over-committed by this pass; only the head holds a reservation; every pending job
// is either placed or has a WaitInfo.

import { StartEstimator } from './estimate.js';
import { BLOCKED, NEVER, waitReason, type WaitKind } from './explain.js';
import { FreeCapacity, indexNodes, runningHolds, type Fit, type Hold } from './free-capacity.js';
import { NodeLimits } from './node-limits.js';
import { endsInTime, fitOutside, reserve, useLeftover, type Reservation } from './reservation.js';
import type { ClusterState, Demand, HeadReservation, PendingJob, Placement, Plan, WaitInfo } from './types.js';

/** Priority descending, then submission time ascending, then id ascending. */
export function compareJobs(a: PendingJob, b: PendingJob): number {
  if (a.priority !== b.priority) return b.priority - a.priority;
  if (a.submittedAt !== b.submittedAt) return a.submittedAt - b.submittedAt;
  return a.id - b.id;
}

export function orderQueue(pending: readonly PendingJob[]): PendingJob[] {
  return [...pending].sort(compareJobs);
}

interface Choice {
  fit: Fit;
  demandIndex: number;
}

interface Pass {
  readonly now: number;
  readonly capacity: FreeCapacity;
  readonly limits: NodeLimits;
  /** Running jobs, then the placements of this pass. */
  readonly holds: Hold[];
  readonly placements: Placement[];
  /** Jobs not placed, in queue order. */
  readonly waits: { job: PendingJob; wait: WaitKind }[];
  /** Best fit now (made once per pass: one closure, not one per job). */
  readonly fitNow: (demand: Demand) => Fit | null;
  readonly order: QueueOrder;
  /** Set together once the head is found. */
  head: { reservation: Reservation; held: WaitKind; fitAround: (demand: Demand) => Fit | null } | null;
}

/**
 * The order a pass considers jobs in. The default is `orderQueue`; a fair-share order re-ranks
 * after each placement (src/core/fairshare/pass-order.ts), so it is told of every job placed.
 */
export interface QueueOrder {
  next(): PendingJob | undefined;
  placed(job: PendingJob): void;
}

export interface PlanOptions {
  /** false: skip the WaitInfo of waiting jobs (a caller that placed jobs moments ago may reuse its last). */
  explain?: boolean;
  order?: QueueOrder;
}

function sortedOrder(pending: readonly PendingJob[]): QueueOrder {
  const sorted = orderQueue(pending);
  let index = 0;
  return { next: () => sorted[index++], placed: () => undefined };
}

export function plan(pending: readonly PendingJob[], cluster: ClusterState, now: number, options: PlanOptions = {}): Plan {
  const holds = runningHolds(cluster.running, indexNodes(cluster.nodes));
  const capacity = new FreeCapacity(cluster.nodes, holds);
  const pass: Pass = {
    now,
    capacity,
    limits: new NodeLimits(capacity),
    holds,
    placements: [],
    waits: [],
    fitNow: (demand) => capacity.findBest(demand),
    order: options.order ?? sortedOrder(pending),
    head: null,
  };
  for (let job = pass.order.next(); job !== undefined; job = pass.order.next()) consider(pass, job);
  const waiting = options.explain === false ? new Map<number, WaitInfo>() : explainWaits(pass);
  return { placements: pass.placements, waiting, reservation: publicReservation(pass) };
}

function firstFit(job: PendingJob, find: (demand: Demand) => Fit | null): Choice | null {
  for (let demandIndex = 0; demandIndex < job.demands.length; demandIndex++) {
    const fit = find(job.demands[demandIndex]!);
    if (fit !== null) return { fit, demandIndex };
  }
  return null;
}

function consider(pass: Pass, job: PendingJob): void {
  const choice = firstFit(job, pass.fitNow);
  const head = pass.head;
  if (choice === null) {
    pass.waits.push({ job, wait: classifyUnfit(pass, job) });
  } else if (head === null) {
    place(pass, job, choice, false);
  } else if (endsInTime(job, head.reservation, pass.now)) {
    place(pass, job, choice, true);
  } else {
    const outside = firstFit(job, head.fitAround);
    if (outside === null) pass.waits.push({ job, wait: head.held });
    else place(pass, job, outside, true, head.reservation);
  }
}

/** A job that fits nowhere now: never fits, becomes the head, or waits behind it. */
function classifyUnfit(pass: Pass, job: PendingJob): WaitKind {
  if (pass.limits.neverFits(job)) return NEVER;
  if (pass.head !== null) return BLOCKED;
  const reservation = reserve(job, pass.capacity, pass.holds, pass.now);
  if (reservation === null) return NEVER;
  const fitAround = (demand: Demand) => fitOutside(reservation, pass.capacity, demand);
  pass.head = { reservation, held: { kind: 'held', headId: job.id }, fitAround };
  return { kind: 'head', reservation };
}

/** Starts the job; `outside` = placed around that reservation, so its reserved GPUs are off limits. */
function place(pass: Pass, job: PendingJob, choice: Choice, backfilled: boolean, outside?: Reservation): void {
  const demand = job.demands[choice.demandIndex]!;
  const { fit } = choice;
  const exclude = outside !== undefined && fit.node === outside.node ? outside.reserved : undefined;
  const gpuIndices = pass.capacity.take(fit, demand, exclude);
  if (outside !== undefined) useLeftover(outside, fit, demand);
  const node = pass.capacity.nodes[fit.node]!.name;
  const { cpus, memoryGb } = demand;
  const { demandIndex } = choice;
  pass.placements.push({ jobId: job.id, node, gpuIndices, cpus, memoryGb, demandIndex, backfilled });
  const endsAt = job.runtimeLimitMs === null ? Infinity : pass.now + job.runtimeLimitMs;
  pass.holds.push({ node: fit.node, gpuIndices, cpus, memoryGb, endsAt });
  pass.order.placed(job);
}

function estimateFor(estimator: StartEstimator, job: PendingJob, wait: WaitKind): number | null {
  switch (wait.kind) {
    case 'head': {
      estimator.book(wait.reservation, job.runtimeLimitMs);
      return Number.isFinite(wait.reservation.startAt) ? wait.reservation.startAt : null;
    }
    case 'never':
      return null;
    case 'blocked':
    case 'held':
      return estimator.estimate(job);
  }
}

function explainWaits(pass: Pass): Map<number, WaitInfo> {
  const waiting = new Map<number, WaitInfo>();
  if (pass.waits.length === 0) return waiting;
  const estimator = new StartEstimator(pass.capacity, pass.holds, pass.now);
  pass.waits.forEach(({ job, wait }, position) => {
    const estimatedStartAt = estimateFor(estimator, job, wait);
    const reason = waitReason({ job, wait, position, estimatedStartAt }, pass.capacity, pass.now);
    waiting.set(job.id, { reason, estimatedStartAt, position });
  });
  return waiting;
}

function publicReservation(pass: Pass): HeadReservation | null {
  if (pass.head === null) return null;
  const { reservation } = pass.head;
  return {
    jobId: reservation.jobId,
    node: pass.capacity.nodes[reservation.node]!.name,
    gpuIndices: reservation.gpuIndices,
    demandIndex: reservation.demandIndex,
    startAt: Number.isFinite(reservation.startAt) ? reservation.startAt : null,
  };
}
