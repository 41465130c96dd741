// The GPU sampler: reads a node's GPUs every few seconds from its telemetry source and hands each
// reading to the listeners (per-job telemetry, health checks, the idle-GPU policy). Keeps the latest
// reading of every GPU for /metrics. Invariants: reads never overlap; a listener's failure is
// logged and never stops the sampler or the other listeners; nothing here blocks the scheduler.

import type { Clock } from '../core/clock.js';
import type { Logger } from '../scheduler/loop.js';
import type { GpuReading } from '../metrics/metrics.js';
import type { GpuSample } from './parsers.js';
import type { TelemetrySource } from './sources.js';

export interface SampleSet {
  backend: string;
  node: string;
  at: number;
  /** null: the source gave nothing this time (tool missing or failed). */
  gpus: GpuSample[] | null;
}

export type SampleListener = (set: SampleSet) => Promise<void> | void;

export class GpuSampler {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private latestSet: SampleSet | null = null;
  private readonly listeners: SampleListener[] = [];

  constructor(
    private readonly options: { backend: string; node: string; source: TelemetrySource; intervalMs: number; clock: Clock; logger: Logger },
  ) {}

  onSample(listener: SampleListener): void {
    this.listeners.push(listener);
  }

  start(): void {
    this.timer = setInterval(() => void this.sampleNow(), this.options.intervalMs);
    this.timer.unref();
    void this.sampleNow();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running;
  }

  /** Takes one sample now (also what the timer does); waits for one in progress instead of overlapping. */
  async sampleNow(): Promise<void> {
    if (this.running) return this.running;
    this.running = this.sampleOnce().finally(() => (this.running = null));
    return this.running;
  }

  /** The latest reading of each GPU, for /metrics. */
  readings(): GpuReading[] {
    const set = this.latestSet;
    if (!set?.gpus) return [];
    return set.gpus
      .filter((g) => g.utilization !== null || g.memoryUsedMb !== null)
      .map((g) => ({
        backend: set.backend,
        node: set.node,
        gpu: g.index,
        utilization: g.utilization ?? 0,
        memoryUsedBytes: (g.memoryUsedMb ?? 0) * 2 ** 20,
        memoryTotalBytes: (g.memoryTotalMb ?? 0) * 2 ** 20,
      }));
  }

  private async sampleOnce(): Promise<void> {
    const { backend, node, source, clock, logger } = this.options;
    let gpus: GpuSample[] | null;
    try {
      gpus = await source();
    } catch (error) {
      logger.warn({ err: error, backend, node }, 'GPU telemetry could not be read');
      gpus = null;
    }
    const set: SampleSet = { backend, node, at: clock.now(), gpus };
    if (gpus) this.latestSet = set;
    for (const listener of this.listeners) {
      try {
        await listener(set);
      } catch (error) {
        logger.warn({ err: error }, 'a GPU telemetry listener failed');
      }
    }
  }
}
