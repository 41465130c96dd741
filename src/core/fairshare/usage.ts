// Decayed usage: how many GPU-hours each (project, user) has consumed, with past consumption fading
// by half every `halfLifeMs`. Plain data and pure functions; time is always passed in.
// Always: usage is never negative and never grows without a charge; decaying from a to b then b to c
// equals decaying from a to c; a running job's consumption over an interval is the exact integral
// of its billing rate under the decay, however that interval is split into charges.

export const HOUR_MS = 3_600_000;
export const DAY_MS = 24 * HOUR_MS;
/** Slurm's default PriorityDecayHalfLife (7 days). Infinity = no decay. */
export const DEFAULT_HALF_LIFE_MS = 7 * DAY_MS;
/** The project of a job that names none. */
export const DEFAULT_PROJECT = 'default';

/**
 * How an allocation turns into a billing rate, in GPU-equivalents (so usage reads as GPU-hours).
 * `max` charges the dominant resource (a job taking a whole node's CPUs pays for the GPUs it keeps
 * others from using); `sum` adds the weighted resources, as Slurm's default billing does.
 */
export interface BillingWeights {
  gpu: number;
  cpu: number;
  memoryGb: number;
  combine: 'max' | 'sum';
}

/** One GPU is worth 16 CPUs or 128 GB of memory: a typical 8-GPU, 128-core, 1 TB server. */
export const DEFAULT_BILLING: Readonly<BillingWeights> = Object.freeze({ gpu: 1, cpu: 1 / 16, memoryGb: 1 / 128, combine: 'max' });

export interface UsageConfig {
  halfLifeMs: number;
  billing: BillingWeights;
}

export const DEFAULT_USAGE_CONFIG: Readonly<UsageConfig> = Object.freeze({ halfLifeMs: DEFAULT_HALF_LIFE_MS, billing: DEFAULT_BILLING });

/** An accumulator: `value` GPU-hours, decayed as seen at `atMs`. */
export interface DecayedUsage {
  readonly value: number;
  readonly atMs: number;
}

export interface Allocation {
  gpus: number;
  cpus: number;
  memoryGb: number;
}

/** One placement of a job, finished (`endedAt` set) or still running (`endedAt` null). */
export interface AttemptUsage extends Allocation {
  user: string;
  project: string;
  startedAt: number;
  endedAt: number | null;
}

/** What one (project, user) has used: decayed GPU-hours, and the billing rate it holds right now. */
export interface MemberUsage {
  consumed: number;
  heldRate: number;
}

/** project → user → usage. */
export type UsageTable = Map<string, Map<string, MemberUsage>>;

/** A stored accumulator of a member's finished attempts (the store keeps one per member). */
export interface MemberAccumulator {
  user: string;
  project: string;
  usage: DecayedUsage;
}

function decayRate(halfLifeMs: number): number {
  if (!(halfLifeMs > 0)) throw new RangeError(`half-life must be positive (Infinity = no decay), got ${halfLifeMs}`);
  return Math.LN2 / halfLifeMs;
}

/** 2^(-elapsed / halfLife); 1 for a zero or negative elapsed time. */
export function decayFactor(elapsedMs: number, halfLifeMs: number): number {
  const rate = decayRate(halfLifeMs);
  return elapsedMs <= 0 ? 1 : Math.exp(-rate * elapsedMs);
}

/** `value` as seen at `fromMs`, decayed to `toMs` (a `toMs` before `fromMs` leaves it unchanged). */
export function decay(value: number, fromMs: number, toMs: number, halfLifeMs: number): number {
  return value * decayFactor(toMs - fromMs, halfLifeMs);
}

/** The accumulator decayed forward to `toMs`; never moves back in time. */
export function advance(usage: DecayedUsage, toMs: number, halfLifeMs: number): DecayedUsage {
  if (toMs <= usage.atMs) return usage;
  return { value: decay(usage.value, usage.atMs, toMs, halfLifeMs), atMs: toMs };
}

/** Adds `amount` GPU-hours consumed at `atMs`; an amount older than the accumulator is decayed first. */
export function charge(usage: DecayedUsage, amount: number, atMs: number, halfLifeMs: number): DecayedUsage {
  const positive = Math.max(0, amount);
  const now = advance(usage, atMs, halfLifeMs);
  return { value: now.value + decay(positive, atMs, now.atMs, halfLifeMs), atMs: now.atMs };
}

/**
 * GPU-hours that `rate` GPU-equivalents held over [fromMs, toMs] count for at `nowMs`: the exact
 * integral of rate · 2^(-(now - t) / halfLife) dt, which is rate/λ · 2^(-(now - to)/H) · (1 - 2^(-(to - from)/H)).
 */
export function consumed(rate: number, fromMs: number, toMs: number, nowMs: number, halfLifeMs: number): number {
  const end = Math.min(toMs, nowMs);
  if (!(rate > 0) || end <= fromMs) return 0;
  const lambda = decayRate(halfLifeMs);
  if (lambda === 0) return (rate * (end - fromMs)) / HOUR_MS;
  const heldFor = -Math.expm1(-lambda * (end - fromMs));
  return ((rate / lambda) * heldFor * decayFactor(nowMs - end, halfLifeMs)) / HOUR_MS;
}

/** Charges a running job's consumption over [fromMs, toMs]; the accumulator ends at `toMs` or later. */
export function chargeInterval(usage: DecayedUsage, rate: number, fromMs: number, toMs: number, halfLifeMs: number): DecayedUsage {
  const now = advance(usage, toMs, halfLifeMs);
  return { value: now.value + consumed(rate, fromMs, toMs, now.atMs, halfLifeMs), atMs: now.atMs };
}

/** GPU-equivalents an allocation is billed at per hour. */
export function billingRate(allocation: Allocation, weights: BillingWeights): number {
  const gpu = weights.gpu * allocation.gpus;
  const cpu = weights.cpu * allocation.cpus;
  const memory = weights.memoryGb * allocation.memoryGb;
  return weights.combine === 'max' ? Math.max(gpu, cpu, memory) : gpu + cpu + memory;
}

/** Folds a finished attempt into its member's stored accumulator (call once, when it ends). */
export function foldFinished(usage: DecayedUsage, attempt: AttemptUsage, config: UsageConfig): DecayedUsage {
  if (attempt.endedAt === null) throw new RangeError('only a finished attempt can be folded');
  const rate = billingRate(attempt, config.billing);
  return chargeInterval(usage, rate, attempt.startedAt, attempt.endedAt, config.halfLifeMs);
}

export function memberUsage(table: UsageTable, project: string, user: string): MemberUsage {
  let users = table.get(project);
  if (users === undefined) table.set(project, (users = new Map()));
  let usage = users.get(user);
  if (usage === undefined) users.set(user, (usage = { consumed: 0, heldRate: 0 }));
  return usage;
}

/**
 * Usage of every member at `now`: stored accumulators (decayed to now) plus the attempts given
 * (finished ones not yet folded, and running ones, charged up to now and counted as held).
 */
export function usageAt(
  attempts: Iterable<AttemptUsage>,
  now: number,
  config: UsageConfig,
  accumulators: Iterable<MemberAccumulator> = [],
): UsageTable {
  const table: UsageTable = new Map();
  for (const { user, project, usage } of accumulators) {
    memberUsage(table, project, user).consumed += decay(usage.value, usage.atMs, now, config.halfLifeMs);
  }
  for (const attempt of attempts) addAttempt(table, attempt, now, config);
  return table;
}

function addAttempt(table: UsageTable, attempt: AttemptUsage, now: number, config: UsageConfig): void {
  const rate = billingRate(attempt, config.billing);
  const end = attempt.endedAt ?? now;
  const usage = memberUsage(table, attempt.project, attempt.user);
  usage.consumed += consumed(rate, attempt.startedAt, end, now, config.halfLifeMs);
  if (attempt.endedAt === null && attempt.startedAt <= now) usage.heldRate += rate;
}
