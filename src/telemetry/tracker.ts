// Per-job GPU telemetry: every sample of a node is attributed to the open attempts holding its GPUs;
// each attempt keeps a downsampled series (series.ts) of the mean utilisation and the memory of its
// GPUs, and counts GPU-seconds and idle GPU-seconds (GPUs below the idle threshold). The series is
// saved to the store every `saveEveryMs` and when the attempt ends, and picked up again after a
// server restart. Invariants: a GPU the tool cannot read adds nothing (unknown is not idle); the
// time credited per sample is capped, so a pause of the sampler never invents hours.

import type { Clock } from '../core/clock.js';
import type { AttemptRow, Store } from '../store/types.js';
import type { JobTelemetry } from '../store/observability.js';
import type { SampleSet } from './sampler.js';
import { addPoint } from './series.js';

export interface AttemptUse {
  jobId: number;
  attempt: number;
  at: number;
  /** The busiest of the attempt's GPUs (0..1); idle means even this one is below the threshold. */
  maxUtilization: number;
  meanUtilization: number;
}

export class JobTelemetryTracker {
  private readonly live = new Map<string, JobTelemetry & { lastAt: number; savedAt: number }>();

  constructor(
    private readonly options: { store: Store; clock: Clock; intervalMs: number; idleThreshold: number; saveEveryMs: number },
  ) {}

  /** Attributes one sample to the attempts on that node; returns what each attempt used. */
  async observe(set: SampleSet): Promise<AttemptUse[]> {
    const { store } = this.options;
    const open = (await store.listOpenAttempts()).filter((a) => a.backend === set.backend && a.node === set.node && a.gpus.length > 0);
    const openKeys = new Set(open.map(keyOf));
    for (const [key, t] of this.live) if (!openKeys.has(key)) await this.finish(key, t);
    if (!set.gpus) return [];
    const byIndex = new Map(set.gpus.map((g) => [g.index, g]));
    const uses: AttemptUse[] = [];
    for (const attempt of open) {
      const readings = attempt.gpus.map((i) => byIndex.get(i)).filter((g) => g !== undefined && g.utilization !== null);
      if (readings.length === 0) continue;
      const utils = readings.map((g) => g!.utilization!);
      const memory = readings.reduce((sum, g) => sum + (g!.memoryUsedMb ?? 0), 0);
      const t = await this.entry(attempt, set.at);
      const seconds = Math.min(set.at - t.lastAt, 3 * this.options.intervalMs) / 1000;
      t.lastAt = set.at;
      if (seconds > 0) {
        const mean = utils.reduce((a, b) => a + b, 0) / utils.length;
        t.series = addPoint(t.series, { at: set.at, seconds, utilization: mean, memoryUsedMb: memory });
        t.gpuSeconds += seconds * readings.length;
        t.idleGpuSeconds += seconds * utils.filter((u) => u < this.options.idleThreshold).length;
        t.updatedAt = set.at;
        if (set.at - t.savedAt >= this.options.saveEveryMs) await this.save(t);
      }
      uses.push({ jobId: attempt.jobId, attempt: attempt.attempt, at: set.at, maxUtilization: Math.max(...utils), meanUtilization: utils.reduce((a, b) => a + b, 0) / utils.length });
    }
    return uses;
  }

  /** A job's telemetry per attempt: the live series of a running attempt, else what was saved. */
  async forJob(jobId: number): Promise<JobTelemetry[]> {
    const saved = await this.options.store.observability.listTelemetry(jobId);
    const byAttempt = new Map(saved.map((t) => [t.attempt, t]));
    for (const t of this.live.values()) if (t.jobId === jobId) byAttempt.set(t.attempt, strip(t));
    return [...byAttempt.values()].sort((a, b) => a.attempt - b.attempt);
  }

  /** Saves every live series (server stop). */
  async flush(): Promise<void> {
    for (const t of this.live.values()) await this.save(t);
  }

  private async entry(attempt: AttemptRow, at: number): Promise<JobTelemetry & { lastAt: number; savedAt: number }> {
    const key = keyOf(attempt);
    let t = this.live.get(key);
    if (!t) {
      const saved = (await this.options.store.observability.listTelemetry(attempt.jobId)).find((s) => s.attempt === attempt.attempt);
      const first = Math.max(attempt.startedAt, at - this.options.intervalMs);
      t = { ...(saved ?? { jobId: attempt.jobId, attempt: attempt.attempt, updatedAt: at, series: [], gpuSeconds: 0, idleGpuSeconds: 0 }), lastAt: saved ? Math.max(saved.updatedAt, first) : first, savedAt: saved?.updatedAt ?? 0 };
      this.live.set(key, t);
    }
    return t;
  }

  private async finish(key: string, t: JobTelemetry & { savedAt: number }): Promise<void> {
    this.live.delete(key);
    await this.save(t);
  }

  private async save(t: JobTelemetry & { savedAt: number }): Promise<void> {
    await this.options.store.observability.saveTelemetry(strip(t));
    t.savedAt = t.updatedAt;
  }
}

function keyOf(a: { jobId: number; attempt: number }): string {
  return `${a.jobId}.${a.attempt}`;
}

function strip(t: JobTelemetry): JobTelemetry {
  return { jobId: t.jobId, attempt: t.attempt, updatedAt: t.updatedAt, series: t.series, gpuSeconds: t.gpuSeconds, idleGpuSeconds: t.idleGpuSeconds };
}
