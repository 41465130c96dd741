// Multifactor job priority, after Slurm's priority/multifactor plugin: a weighted sum of factors,
// each normalised to [0, 1] — fair share (from the share tree), age (time pending, saturating at
// maxAgeMs), explicit (the task's `priority` key, -1000..1000) and size (requested GPUs as a
// fraction of the cluster's). Pure: time and fair share come from the caller.
// Always: every factor is in [0, 1]; priority = Σ weight × factor, so it lies in [0, Σ weights];
// with the default weights, explicit priority 1000 outranks any job at the default priority 0, and
// among equal explicit priorities fair share outweighs age and size together.

import { MAX_PRIORITY, MIN_PRIORITY } from '../spec/types.js';
import { DAY_MS } from './usage.js';

export interface PriorityWeights {
  fairShare: number;
  age: number;
  explicit: number;
  size: number;
}

/**
 * fairShare > age + size, so fair share decides between equal explicit priorities;
 * explicit/2 (the step from priority 0 to 1000) > fairShare + age + size, so priority 1000 jumps the queue.
 */
export const DEFAULT_WEIGHTS: Readonly<PriorityWeights> = Object.freeze({ fairShare: 10_000, age: 1_000, explicit: 24_000, size: 100 });
/** Slurm's default PriorityMaxAge (7 days). */
export const DEFAULT_MAX_AGE_MS = 7 * DAY_MS;

export interface PriorityConfig {
  weights: PriorityWeights;
  /** Age at which the age factor reaches 1. */
  maxAgeMs: number;
  /** false (default, as Slurm): larger jobs get the larger size factor, so they are not starved by small ones. */
  favorSmall: boolean;
}

export const DEFAULT_PRIORITY_CONFIG: Readonly<PriorityConfig> = Object.freeze({ weights: DEFAULT_WEIGHTS, maxAgeMs: DEFAULT_MAX_AGE_MS, favorSmall: false });

/** What priority needs of a pending job. */
export interface PriorityJob {
  user: string;
  project: string;
  /** The task's explicit `priority`, MIN_PRIORITY..MAX_PRIORITY. */
  priority: number;
  submittedAt: number;
  /** GPUs requested (the largest of its alternatives). */
  gpus: number;
}

/** What one scheduling pass knows: the time, the cluster's size and each member's fair-share factor. */
export interface PriorityContext {
  now: number;
  clusterGpus: number;
  fairShare: (project: string, user: string) => number;
}

export interface PriorityFactors {
  fairShare: number;
  age: number;
  explicit: number;
  size: number;
}

export interface JobPriority {
  priority: number;
  factors: PriorityFactors;
}

function clamp01(value: number): number {
  return value <= 0 || Number.isNaN(value) ? 0 : value >= 1 ? 1 : value;
}

/** Time pending over maxAgeMs, capped at 1; 0 for a job submitted in the future. */
export function ageFactor(submittedAt: number, now: number, maxAgeMs: number): number {
  return maxAgeMs > 0 ? clamp01((now - submittedAt) / maxAgeMs) : 1;
}

/** -1000 → 0, 0 → 0.5, 1000 → 1 (linear). */
export function explicitFactor(priority: number): number {
  return clamp01((priority - MIN_PRIORITY) / (MAX_PRIORITY - MIN_PRIORITY));
}

/** Requested GPUs / cluster GPUs (capped at 1), or its complement when favouring small jobs. */
export function sizeFactor(gpus: number, clusterGpus: number, favorSmall: boolean): number {
  const fraction = clusterGpus > 0 ? clamp01(gpus / clusterGpus) : 0;
  return favorSmall ? 1 - fraction : fraction;
}

/** The part of a job's priority that does not depend on fair share. */
export function staticPriority(factors: Omit<PriorityFactors, 'fairShare'>, weights: PriorityWeights): number {
  return weights.age * factors.age + weights.explicit * factors.explicit + weights.size * factors.size;
}

export function multifactorPriority(job: PriorityJob, context: PriorityContext, config: PriorityConfig = DEFAULT_PRIORITY_CONFIG): JobPriority {
  const factors: PriorityFactors = {
    fairShare: clamp01(context.fairShare(job.project, job.user)),
    age: ageFactor(job.submittedAt, context.now, config.maxAgeMs),
    explicit: explicitFactor(job.priority),
    size: sizeFactor(job.gpus, context.clusterGpus, config.favorSmall),
  };
  const priority = config.weights.fairShare * factors.fairShare + staticPriority(factors, config.weights);
  return { priority, factors };
}
