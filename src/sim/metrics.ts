// What a replay measured: job metrics from the finished jobs, and time integrals kept while the
// engine advances (GPU utilisation, queue length, each tenant's GPU-time and fair allocation).
// Definitions (docs/simulator.md): JCT = end − submit; queueing delay = seconds pending (summed
// over preemptions); bounded slowdown = max(1, JCT / max(duration, 10 s)); medians are the mean of
// the two middle values, pXX the nearest rank (the ⌈p·n⌉-th smallest); makespan = last end − first
// submit; utilisation = busy GPU-seconds / (GPUs × makespan); jainIndex = time average of Jain's
// index over active tenants of (GPUs held / fair allocation), over instants with ≥ 2 active tenants.
// Always: utilisation in [0, 1]; every finished job counted once; shares sum to 1 (when any).

import { jain, waterFill } from './fairness.js';
import type { SimJob } from './job.js';

export const SLOWDOWN_THRESHOLD_S = 10;

export interface TenantResult {
  gpuSeconds: number;
  /** Of all GPU-seconds used. */
  share: number;
  /** Of all fair-allocation GPU-seconds (the integral of the water-filling share). */
  fairShare: number;
}

export interface SimResult {
  policy: string;
  jobs: number;
  avgJct: number;
  medianJct: number;
  avgQueueDelay: number;
  p50QueueDelay: number;
  p95QueueDelay: number;
  p99QueueDelay: number;
  makespan: number;
  utilization: number;
  avgBoundedSlowdown: number;
  /** null when fewer than two tenants ever wanted GPUs at once. */
  jainIndex: number | null;
  /** Jain's index over tenants of share / fairShare for the whole run. */
  jainIndexTotal: number | null;
  tenants: Record<string, TenantResult>;
  preemptions: number;
  passes: number;
  /** Wall-clock and CPU seconds the replay took. */
  seconds: number;
  cpuSeconds: number;
}

/** A time series sample: after the events of instant t. */
export interface Sample {
  t: number;
  queue: number;
  busy: number;
}

export function mean(values: readonly number[]): number {
  return values.length === 0 ? 0 : values.reduce((a, b) => a + b, 0) / values.length;
}

export function median(sorted: readonly number[]): number {
  const n = sorted.length;
  if (n === 0) return 0;
  return n % 2 === 1 ? sorted[(n - 1) / 2]! : (sorted[n / 2 - 1]! + sorted[n / 2]!) / 2;
}

/** Nearest rank: the ⌈p/100 · n⌉-th smallest. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[Math.min(rank, sorted.length) - 1]!;
}

export function boundedSlowdown(jct: number, duration: number): number {
  return Math.max(1, jct / Math.max(duration, SLOWDOWN_THRESHOLD_S));
}

/** Integrals over time, advanced by the engine before each instant's events change the state. */
export class Recorder {
  readonly samples: Sample[] = [];
  private last = NaN;
  private busyIntegral = 0;
  private readonly demand: number[];
  private readonly held: number[];
  private readonly gpuSeconds: number[];
  private readonly fairSeconds: number[];
  private fair: number[];
  private dirty = true;
  private jainIntegral = 0;
  private jainTime = 0;
  private busy = 0;

  constructor(
    readonly tenants: readonly string[],
    private readonly weights: readonly number[],
    private readonly capacity: number,
  ) {
    this.demand = tenants.map(() => 0);
    this.held = tenants.map(() => 0);
    this.gpuSeconds = tenants.map(() => 0);
    this.fairSeconds = tenants.map(() => 0);
    this.fair = tenants.map(() => 0);
  }

  /** Integrates the state held since the last call up to t. */
  advance(t: number): void {
    const dt = Number.isNaN(this.last) ? 0 : t - this.last;
    this.last = t;
    if (dt <= 0) return;
    this.busyIntegral += this.busy * dt;
    if (this.dirty) this.refair();
    let active = 0;
    for (let i = 0; i < this.tenants.length; i++) {
      this.gpuSeconds[i]! += this.held[i]! * dt;
      this.fairSeconds[i]! += this.fair[i]! * dt;
      if (this.demand[i]! > 0) active++;
    }
    if (active >= 2) {
      const ratios: number[] = [];
      for (let i = 0; i < this.tenants.length; i++) if (this.demand[i]! > 0 && this.fair[i]! > 0) ratios.push(this.held[i]! / this.fair[i]!);
      this.jainIntegral += jain(ratios) * dt;
      this.jainTime += dt;
    }
  }

  /** A tenant's demand (running + pending GPUs) or holding changed by these amounts. */
  change(tenant: number, demand: number, held: number): void {
    this.demand[tenant]! += demand;
    this.held[tenant]! += held;
    this.busy += held;
    if (demand !== 0) this.dirty = true;
  }

  sample(t: number, queue: number): void {
    const last = this.samples[this.samples.length - 1];
    if (last && last.t === t) {
      last.queue = queue;
      last.busy = this.busy;
    } else this.samples.push({ t, queue, busy: this.busy });
  }

  /** Busy GPU-seconds so far. */
  get busySeconds(): number {
    return this.busyIntegral;
  }

  result(policy: string, jobs: readonly SimJob[], extra: { preemptions: number; passes: number; seconds: number; cpuSeconds: number }): SimResult {
    const metrics = jobMetrics(jobs);
    const tenants = tenantResults(this.tenants, this.gpuSeconds, this.fairSeconds);
    return {
      policy,
      ...metrics,
      utilization: metrics.makespan > 0 ? this.busyIntegral / (this.capacity * metrics.makespan) : 0,
      jainIndex: this.jainTime > 0 ? this.jainIntegral / this.jainTime : null,
      jainIndexTotal: jainOfShares(tenants),
      tenants,
      ...extra,
    };
  }

  private refair(): void {
    this.fair = waterFill(this.demand, this.weights, this.capacity);
    this.dirty = false;
  }
}

export type JobMetrics = Pick<SimResult, 'jobs' | 'avgJct' | 'medianJct' | 'avgQueueDelay' | 'p50QueueDelay' | 'p95QueueDelay' | 'p99QueueDelay' | 'makespan' | 'avgBoundedSlowdown'>;

/** The per-job metrics of the finished jobs. */
export function jobMetrics(jobs: readonly SimJob[]): JobMetrics {
  const done = jobs.filter((j) => j.state === 'done');
  const jct = done.map((j) => j.end - j.trace.submit).sort((a, b) => a - b);
  const queue = done.map((j) => j.queued).sort((a, b) => a - b);
  let firstSubmit = Infinity;
  let lastEnd = -Infinity;
  for (const j of done) {
    firstSubmit = Math.min(firstSubmit, j.trace.submit);
    lastEnd = Math.max(lastEnd, j.end);
  }
  return {
    jobs: done.length,
    avgJct: mean(jct),
    medianJct: median(jct),
    avgQueueDelay: mean(queue),
    p50QueueDelay: percentile(queue, 50),
    p95QueueDelay: percentile(queue, 95),
    p99QueueDelay: percentile(queue, 99),
    makespan: done.length === 0 ? 0 : lastEnd - firstSubmit,
    avgBoundedSlowdown: mean(done.map((j) => boundedSlowdown(j.end - j.trace.submit, j.trace.duration))),
  };
}

/** share = used / all used; fairShare = fair / all fair (same order as `names`). */
export function tenantResults(names: readonly string[], used: readonly number[], fair: readonly number[]): Record<string, TenantResult> {
  const usedTotal = used.reduce((a, b) => a + b, 0);
  const fairTotal = fair.reduce((a, b) => a + b, 0);
  const out: Record<string, TenantResult> = {};
  names.forEach((name, i) => {
    out[name] = { gpuSeconds: used[i]!, share: usedTotal > 0 ? used[i]! / usedTotal : 0, fairShare: fairTotal > 0 ? fair[i]! / fairTotal : 0 };
  });
  return out;
}

/** Jain's index over tenants of share / fairShare; null with fewer than two tenants. */
export function jainOfShares(tenants: Record<string, TenantResult>): number | null {
  const ratios = Object.values(tenants).filter((t) => t.fairShare > 0).map((t) => t.share / t.fairShare);
  return ratios.length >= 2 ? jain(ratios) : null;
}
