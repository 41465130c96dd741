// The scheduler loop: reconcile running attempts with their backends, enforce cancellations and
// time limits, then ask the pure policy where pending jobs go and launch them. State lives in the
// store; a wake-up (a submission, a process exit) only makes the next pass come sooner, and a
// periodic pass is the truth. Passes never overlap. All state changes go through JobTransitions.

import type { Clock } from '../core/clock.js';
import type { WaitInfo } from '../core/policy/types.js';
import type { JobPriority } from '../core/fairshare/index.js';
import type { Backend, RunAs } from '../backends/backend.js';
import type { Store } from '../store/types.js';
import type { JobTransitions } from './transitions.js';
import { loadActive, reconcile, type SignalLedger } from './reconcile.js';
import { placePending } from './place.js';
import { PendingQueue } from './pending-queue.js';
import { FairShareOrder } from './fair-order.js';
import { QuotaGate } from './quotas.js';
import type { JobRow } from '../store/types.js';

/** How often waiting jobs get a fresh explanation (why they wait, expected start). */
const EXPLAIN_EVERY_MS = 1000;

/** How often the in-memory queue is reloaded from the store (the truth). */
const QUEUE_RESYNC_MS = 5000;

export interface SchedulerConfig {
  /** Time between SIGTERM and SIGKILL on cancel and on max_runtime. */
  killGraceMs: number;
  /** Period of the authoritative pass. */
  pollIntervalMs: number;
  /** Time between SIGTERM and SIGKILL when a job is preempted (default 60 s, as Slurm's GraceTime). */
  preemptGraceMs: number;
  /** A job younger than this is never preempted. */
  preemptMinRuntimeMs: number;
}

export interface Logger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

/** Optional observers of the loop (src/metrics/observability.ts): timing, and health checks before each pass. */
export interface SchedulerHooks {
  /** Runs first in every pass (stops jobs on failed hardware or a full log volume). */
  beforePass?(): Promise<void>;
  passCompleted?(seconds: number): void;
}

export interface SchedulerResources {
  /** The Unix account a job owner's jobs run as (null: the server's user); throws when refused. */
  /** The job's Unix account; `ownerId` (the job's owner id) decides when given, the name otherwise. */
  runAs: (owner: string, ownerId?: number | null) => Promise<RunAs | null>;
  store: Store;
  backends: readonly Backend[];
  clock: Clock;
  transitions: JobTransitions;
  logger: Logger;
  config: SchedulerConfig;
  hooks?: SchedulerHooks;
  /** Prepares the images of the first waiting jobs (src/containers/image-prepare.ts); must not block. */
  prepare?: (jobs: readonly JobRow[]) => void;
}

export class Scheduler {
  private waiting = new Map<number, WaitInfo>();
  private priorities = new Map<number, JobPriority>();
  private explainedAt = Number.NEGATIVE_INFINITY;
  private readonly signals: SignalLedger = new Map();
  /** Why jobs held by an engine that places work (Slurm) wait there, from the latest poll. */
  private readonly engineWaits = new Map<number, string>();
  private readonly launching = new Set<number>();
  private timer: NodeJS.Timeout | null = null;
  private inPass = false;
  private again = false;
  private stopped = false;
  private idle: Promise<void> = Promise.resolve();
  private readonly queue: PendingQueue;
  private readonly launches = new Set<Promise<void>>();
  private readonly fairShare: FairShareOrder;
  /** Project quotas and preemption (inactive while no project has a quota). */
  readonly quotas: QuotaGate;

  constructor(private readonly res: SchedulerResources) {
    this.queue = new PendingQueue(res.store, res.clock, QUEUE_RESYNC_MS);
    this.fairShare = new FairShareOrder(res.store, res.clock);
    this.quotas = new QuotaGate(res.store, res.clock, res.config.preemptMinRuntimeMs);
    res.transitions.onChange((change) => {
      if (change.from === 'PENDING') this.queue.remove(change.jobId);
      if (change.to === 'PENDING') this.queue.invalidate();
    });
  }

  /** A job was accepted: queue it and schedule soon. */
  enqueued(job: JobRow): void {
    this.queue.add(job);
    this.wake();
  }

  start(): void {
    for (const backend of this.res.backends) backend.onActivity(() => this.wake());
    this.timer = setInterval(() => this.wake(), this.res.config.pollIntervalMs);
    this.timer.unref();
    this.wake();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await this.idle;
    await Promise.all(this.launches);
  }

  private track(launch: Promise<void>): void {
    this.launches.add(launch);
    void launch.finally(() => this.launches.delete(launch));
  }

  /** Asks for a pass soon; coalesces with a pass in progress. */
  wake(): void {
    if (this.stopped) return;
    if (this.inPass) {
      this.again = true;
      return;
    }
    this.inPass = true;
    this.idle = new Promise((resolve) => setImmediate(() => void this.runPasses().finally(resolve)));
  }

  /** Why a pending job waits, from the latest pass. */
  waitInfo(jobId: number): WaitInfo | undefined {
    const inEngine = this.engineWaits.get(jobId);
    if (inEngine !== undefined) return { reason: inEngine, estimatedStartAt: null, position: 0 };
    return this.waiting.get(jobId);
  }

  /** A pending job's multifactor priority and its factors, from the latest explained pass. */
  priorityOf(jobId: number): JobPriority | undefined {
    return this.priorities.get(jobId);
  }

  /** Runs one pass now (tests and the simulator drive the loop this way). */
  async pass(): Promise<void> {
    const { store, backends, clock, transitions, logger, config } = this.res;
    const began = performance.now();
    await this.res.hooks?.beforePass?.();
    const active = await loadActive(store);
    const view = await reconcile({ store, backends, clock, transitions, logger, killGraceMs: config.killGraceMs, preemptGraceMs: config.preemptGraceMs, signals: this.signals, launching: this.launching, engineWaits: this.engineWaits }, active);
    if (view !== active) {
      const still = new Set(view.open);
      this.fairShare.recordEnded(active.open.filter((a) => !still.has(a)).map((attempt) => ({ attempt, job: active.jobs.get(attempt.jobId) })));
    }
    const now = clock.now();
    const explain = now - this.explainedAt >= EXPLAIN_EVERY_MS;
    const priorities = new Map<number, JobPriority>();
    const waiting = await placePending({ store, backends, clock, transitions, logger, launching: this.launching, queue: this.queue, wake: () => this.wake(), track: (launch) => this.track(launch), fairShare: this.fairShare, priorities, quotas: this.quotas, runAs: this.res.runAs, prepare: this.res.prepare }, view, explain);
    if (waiting) {
      this.waiting = waiting;
      this.priorities = priorities;
      this.explainedAt = now;
    }
    this.res.hooks?.passCompleted?.((performance.now() - began) / 1000);
  }

  private async runPasses(): Promise<void> {
    try {
      do {
        this.again = false;
        try {
          await this.pass();
        } catch (error) {
          this.res.logger.error({ err: error }, 'scheduler pass failed');
        }
      } while (this.again && !this.stopped);
    } finally {
      this.inPass = false;
    }
  }
}
