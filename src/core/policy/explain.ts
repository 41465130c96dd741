// The sentences that tell a person why a job waits. Pure formatting over the pass's outcome; times
// are shown relative to the pass's `now` (never read from a clock).
// Always: every waiting kind yields one short sentence that names what the job needs or waits for.

import type { FreeCapacity } from './free-capacity.js';
import type { Reservation } from './reservation.js';
import type { Demand, PendingJob } from './types.js';

/** Why a job that was not placed waits (the kinds without data are shared constants). */
export type WaitKind =
  /** The first job in order that could not start: it holds the reservation. */
  | { kind: 'head'; reservation: Reservation }
  /** No node could ever hold it. */
  | { kind: 'never' }
  /** Does not fit in what is free now. */
  | { kind: 'blocked' }
  /** Fits now but would delay the head. */
  | { kind: 'held'; headId: number };

export const NEVER: WaitKind = Object.freeze({ kind: 'never' });
export const BLOCKED: WaitKind = Object.freeze({ kind: 'blocked' });

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

/** "~12 min", "~3.5 h", "~4 days" for a duration in ms. */
export function aboutDuration(ms: number): string {
  if (ms < 120 * MINUTE) return `~${Math.max(1, Math.ceil(ms / MINUTE))} min`;
  if (ms < 48 * HOUR) return `~${Math.round((ms / HOUR) * 10) / 10} h`;
  return `~${Math.round(ms / (24 * HOUR))} days`;
}

function startsIn(startAt: number, now: number): string {
  return startAt <= now ? 'expected to start now' : `expected to start in ${aboutDuration(startAt - now)}`;
}

function plural(count: number, word: string): string {
  return `${count} ${word}${count === 1 ? '' : 's'}`;
}

function gpuText(demand: Demand): string {
  if (demand.gpuName === null) return `${plural(demand.gpus, 'GPU')} of any type`;
  return `${demand.gpus} × ${demand.gpuName}`;
}

function demandText(demand: Demand): string {
  if (demand.gpus > 0) return gpuText(demand);
  return `${plural(demand.cpus, 'CPU')} and ${demand.memoryGb} GB memory`;
}

export function describeDemands(job: PendingJob): string {
  const only = job.demands.length === 1 ? job.demands[0] : undefined;
  return only === undefined ? job.demands.map(demandText).join(' or ') : demandText(only);
}

/** What is short now for the head's demand, e.g. "1 free of 4". */
function shortfall(demand: Demand, capacity: FreeCapacity): string {
  if (demand.gpus <= 0) return 'not enough free CPUs or memory on any one node';
  const free = capacity.mostFree(demand);
  const total = Math.max(0, ...capacity.typeIdsFor(demand).map((type) => capacity.maxHealthy[type]!));
  if (free >= demand.gpus) return 'GPUs are free but not enough CPUs or memory beside them';
  return capacity.nodes.length === 1 ? `${free} free of ${total}` : `at most ${free} free of ${total} on one node`;
}

function headReason(reservation: Reservation, capacity: FreeCapacity, now: number): string {
  const eta = Number.isFinite(reservation.startAt)
    ? startsIn(reservation.startAt, now)
    : 'start unknown: a job it needs has no runtime limit';
  const { demand } = reservation;
  return `waiting for ${demandText(demand)}: ${shortfall(demand, capacity)}; first in line, ${eta}`;
}

/** Why a demand can never fit, e.g. "16 × A100 (at most 8 on one node)". */
function neverText(demand: Demand, capacity: FreeCapacity): string {
  if (demand.gpus <= 0) return demandText(demand);
  const types = capacity.typeIdsFor(demand);
  if (types.length === 0) return `${demand.gpuName ?? 'any'} GPUs (none here)`;
  const most = Math.max(0, ...types.map((type) => capacity.maxHealthy[type]!));
  if (demand.gpus > most) return `${gpuText(demand)} (at most ${most} healthy on one node)`;
  const cpus = demand.cpus > 0 ? `, ${plural(demand.cpus, 'CPU')}` : '';
  const memory = demand.memoryGb > 0 ? `, ${demand.memoryGb} GB memory` : '';
  return `${gpuText(demand)}${cpus}${memory}`;
}

function neverReason(job: PendingJob, capacity: FreeCapacity): string {
  if (job.demands.length === 0) return 'can never start: it asks for no resources this policy can place';
  return `can never start: no node has ${job.demands.map((d) => neverText(d, capacity)).join(' or ')}`;
}

export interface WaitContext {
  job: PendingJob;
  wait: WaitKind;
  position: number;
  estimatedStartAt: number | null;
}

export function waitReason(context: WaitContext, capacity: FreeCapacity, now: number): string {
  const { job, wait, position, estimatedStartAt } = context;
  const eta = estimatedStartAt === null ? '' : `; ${startsIn(estimatedStartAt, now)}`;
  switch (wait.kind) {
    case 'head':
      return headReason(wait.reservation, capacity, now);
    case 'never':
      return neverReason(job, capacity);
    case 'blocked':
      return `${plural(position, 'job')} ahead; needs ${describeDemands(job)}${eta}`;
    case 'held':
      return `held for a higher-priority job: would delay job ${wait.headId}${eta}`;
  }
}
