// The fair-share order of a scheduling pass: members' decayed usage (ended attempts from the
// store, reloaded every 30 s, plus what runs now), the share tree, and the multifactor priority of
// src/core/fairshare, handed to the policy as its QueueOrder. Usage is derived from attempts, which
// the store keeps, so nothing here must survive a restart.

import type { Clock } from '../core/clock.js';
import {
  DEFAULT_FAIR_SHARE_OPTIONS,
  DEFAULT_PRIORITY_CONFIG,
  DEFAULT_PROJECT,
  DEFAULT_USAGE_CONFIG,
  FairPassOrder,
  buildShareTree,
  passPriority,
  usageAt,
  foldFinished,
  type AttemptUsage,
  type JobPriority,
  type MemberAccumulator,
  type PassJob,
  type ShareTree,
} from '../core/fairshare/index.js';
import type { QueueOrder } from '../core/policy/plan.js';
import type { PendingJob } from '../core/policy/types.js';
import type { AttemptRow, JobRow, Store } from '../store/types.js';

/** Ended attempts older than this many half-lives weigh under 0.1% and are not read. */
const HISTORY_HALF_LIVES = 10;
const RELOAD_MS = 30_000;

type FairJob = PendingJob & PassJob;

export class FairShareOrder {
  /** Ended attempts folded into one decayed total per member (project/user key). */
  private accumulators = new Map<string, MemberAccumulator>();
  private loadedAt = Number.NEGATIVE_INFINITY;
  private readonly tree: ShareTree = buildShareTree({ projects: [] });
  /** Each queued job's fair-share view, made once (PendingJob objects live as long as they queue). */
  private readonly fairJobs = new WeakMap<PendingJob, FairJob>();

  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
  ) {}

  /**
   * The order for one pass over `pending`, given what runs now and the cluster's GPU count. With
   * `priorities`, each pending job's multifactor priority (before this pass's placements) is put
   * there, for `stint queue`.
   */
  async order(pending: readonly PendingJob[], running: readonly RunningUsage[], clusterGpus: number, priorities?: Map<number, JobPriority>): Promise<QueueOrder> {
    const now = this.clock.now();
    if (now - this.loadedAt >= RELOAD_MS) await this.reload(now);
    const usage = usageAt(running.map(toUsage), now, DEFAULT_USAGE_CONFIG, this.accumulators.values());
    const jobs: FairJob[] = pending.map((job) => this.fairJob(job));
    const order = new FairPassOrder(jobs, {
      tree: this.tree,
      usage,
      now,
      clusterGpus,
      usageConfig: DEFAULT_USAGE_CONFIG,
      fairShare: DEFAULT_FAIR_SHARE_OPTIONS,
      priority: DEFAULT_PRIORITY_CONFIG,
    });
    if (priorities) {
      const shares = order.fairShare();
      for (const job of jobs) priorities.set(job.id, passPriority(job, shares, { now, clusterGpus, priority: DEFAULT_PRIORITY_CONFIG }));
    }
    return { next: () => order.next(), placed: (job) => order.placed(job as FairJob) };
  }

  /** Attempts that ended in this pass count at once, not only from the next reload. */
  recordEnded(attempts: readonly RunningUsage[]): void {
    const now = this.clock.now();
    for (const usage of attempts) this.fold(this.accumulators, { ...toUsage(usage), endedAt: now });
  }

  private fairJob(job: PendingJob): FairJob {
    let fair = this.fairJobs.get(job);
    if (fair === undefined) this.fairJobs.set(job, (fair = toFairJob(job)));
    return fair;
  }

  private async reload(now: number): Promise<void> {
    const since = now - HISTORY_HALF_LIVES * DEFAULT_USAGE_CONFIG.halfLifeMs;
    const rows = await this.store.listEndedAttemptsSince(since);
    const accumulators = new Map<string, MemberAccumulator>();
    for (const r of rows) {
      this.fold(accumulators, { user: r.owner, project: r.project ?? DEFAULT_PROJECT, gpus: r.gpus, cpus: r.cpus, memoryGb: r.memoryGb, startedAt: r.startedAt, endedAt: r.endedAt });
    }
    this.accumulators = accumulators;
    this.loadedAt = now;
  }

  private fold(into: Map<string, MemberAccumulator>, attempt: AttemptUsage): void {
    const key = `${attempt.project}\u0000${attempt.user}`;
    const current = into.get(key) ?? { user: attempt.user, project: attempt.project, usage: { value: 0, atMs: attempt.startedAt } };
    into.set(key, { ...current, usage: foldFinished(current.usage, attempt, DEFAULT_USAGE_CONFIG) });
  }
}

/** A running attempt and its job, as the pass sees them. */
export interface RunningUsage {
  attempt: AttemptRow;
  job: JobRow | undefined;
}

function toUsage({ attempt, job }: RunningUsage): AttemptUsage {
  return {
    user: job?.owner ?? 'unknown',
    project: job?.project ?? DEFAULT_PROJECT,
    gpus: attempt.gpus.length,
    cpus: attempt.cpus,
    memoryGb: attempt.memoryGb,
    startedAt: attempt.startedAt,
    endedAt: null,
  };
}

function toFairJob(job: PendingJob): FairJob {
  const largest = job.demands.reduce((a, b) => (b.gpus > a.gpus ? b : a), job.demands[0] ?? { gpus: 0, cpus: 0, memoryGb: 0 });
  return {
    ...job,
    user: job.user ?? 'unknown',
    project: job.project ?? DEFAULT_PROJECT,
    gpus: largest.gpus,
    allocation: { gpus: largest.gpus, cpus: largest.cpus, memoryGb: largest.memoryGb },
  };
}
