// Quotas in a scheduling pass (src/core/quota): jobs whose project or user is at a cap, or that
// would borrow while not preemptible, are held back from the policy with the reason; and when the
// first waiting job cannot start, borrowers may be asked to stop for it (reclaim of a guarantee,
// or a higher priority). Does nothing while no project has a quota. Preemption is only requested
// here (stored); reconciliation signals the victims and requeues them.

import type { Clock } from '../core/clock.js';
import type { Node } from '../core/inventory.js';
import type { QueueOrder } from '../core/policy/plan.js';
import type { PendingJob, WaitInfo } from '../core/policy/types.js';
import { QuotaLedger, classifyRunning } from '../core/quota/borrowing.js';
import { choosePreemptions } from '../core/quota/preemption.js';
import type { QuotaConfig, QuotaPendingJob, QuotaRunningJob } from '../core/quota/types.js';
import { DEFAULT_PROJECT } from '../core/fairshare/index.js';
import type { AttemptRow, JobRow, Store } from '../store/types.js';

const RELOAD_MS = 5_000;

export class QuotaGate {
  private config: QuotaConfig = { projects: [], users: [] };
  /** Running jobs beyond their project's guarantee, as of the latest pass (they may be preempted). */
  private borrowers = new Set<number>();
  private loadedAt = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
    private readonly minRuntimeMs: number,
  ) {}

  /** Records which running jobs borrow, from this pass's view. */
  noteStanding(config: QuotaConfig | null, running: readonly QuotaRunningJob[]): void {
    if (config === null) {
      this.borrowers = new Set();
      return;
    }
    const standing = classifyRunning(running, config);
    this.borrowers = new Set([...standing].filter(([, s]) => s === 'borrowing').map(([id]) => id));
  }

  /** true: runs on borrowed GPUs and may be preempted; null when no quotas are set. */
  isBorrowing(jobId: number): boolean | null {
    return this.config.projects.length === 0 ? null : this.borrowers.has(jobId);
  }

  /** A quota changed: read them again at the next pass. */
  invalidate(): void {
    this.loadedAt = Number.NEGATIVE_INFINITY;
  }

  async current(): Promise<QuotaConfig | null> {
    const now = this.clock.now();
    if (now - this.loadedAt >= RELOAD_MS) {
      this.config = { projects: await this.store.listProjectQuotas(), users: await this.store.listUserCaps() };
      this.loadedAt = now;
    }
    return this.config.projects.length > 0 || this.config.users.length > 0 ? this.config : null;
  }

  /**
   * The order with quota-refused jobs left out; their reasons go to `refused`. While a project
   * waits for GPUs within its guarantee, no job may start by borrowing that GPU type: idle
   * capacity is lent only when no guarantee needs it (otherwise a preempted borrower would take
   * back the GPU it just freed).
   */
  filter(order: QueueOrder, config: QuotaConfig, running: readonly QuotaRunningJob[], pending: readonly PendingJob[], refused: Map<number, WaitInfo>): QueueOrder {
    return quotaFilter(order, config, running, pending, refused);
  }

  /** Asks borrowers to stop for `head` when the quota rules allow it; returns how many were asked. */
  async preemptFor(head: PendingJob, config: QuotaConfig, running: readonly QuotaRunningJob[], nodes: readonly Node[]): Promise<number> {
    const now = this.clock.now();
    const choice = choosePreemptions(quotaPending(head), running, config, nodes, now, { minRuntimeMs: this.minRuntimeMs });
    if (choice === null) return 0;
    let asked = 0;
    for (const victim of choice.victims) {
      if (await this.store.requestPreemption(victim, now, `for job ${head.id}: ${choice.reason}`)) asked += 1;
    }
    return asked;
  }
}

/** The quota gate's filter as a pure function (the simulator calls it too); see QuotaGate.filter. */
export function quotaFilter(order: QueueOrder, config: QuotaConfig, running: readonly QuotaRunningJob[], pending: readonly PendingJob[], refused: Map<number, WaitInfo>): QueueOrder {
  const ledger = new QuotaLedger(config, running);
  const reclaiming = reclaimingTypes(pending, ledger);
  return {
    next: () => {
      for (let job = order.next(); job !== undefined; job = order.next()) {
        const asked = quotaPending(job);
        const verdict = ledger.check(asked);
        const claimant = reclaiming.get(asked.gpuType);
        if (verdict.allowed && !(verdict.borrowing && claimant !== undefined && claimant !== asked.project)) return job;
        const reason = verdict.allowed ? `project ${claimant} is taking back its guaranteed ${asked.gpuType} GPUs; borrowing resumes after` : verdict.reason;
        refused.set(job.id, { reason: `held by quota: ${reason}`, estimatedStartAt: null, position: refused.size });
      }
      return undefined;
    },
    placed: (job) => {
      ledger.add(quotaPending(job));
      order.placed(job);
    },
  };
}

/** GPU type -> a project with a waiting job that fits within its guarantee. */
function reclaimingTypes(pending: readonly PendingJob[], ledger: QuotaLedger): Map<string, string> {
  const types = new Map<string, string>();
  for (const job of pending) {
    const asked = quotaPending(job);
    const verdict = ledger.check(asked);
    if (asked.gpus > 0 && verdict.allowed && !verdict.borrowing && !types.has(asked.gpuType)) types.set(asked.gpuType, asked.project);
  }
  return types;
}

export function quotaPending(job: PendingJob): QuotaPendingJob {
  const demand = job.demands[0] ?? { gpuName: null, gpus: 0 };
  return {
    id: job.id,
    user: job.user ?? 'unknown',
    project: job.project ?? DEFAULT_PROJECT,
    gpuType: demand.gpuName ?? 'GPU',
    gpus: demand.gpus,
    priority: job.priority,
    submittedAt: job.submittedAt,
    preemptible: job.preemptible ?? true,
  };
}

/** Open attempts as the quota rules see them; GPU type from the node's inventory. */
export function quotaRunning(open: readonly AttemptRow[], jobs: ReadonlyMap<number, JobRow>, nodes: readonly Node[]): QuotaRunningJob[] {
  const typeOf = new Map(nodes.flatMap((n) => n.gpus.map((g) => [`${n.name}/${g.index}`, g.name] as const)));
  return open.flatMap((attempt) => {
    const job = jobs.get(attempt.jobId);
    if (!job || attempt.node === null || attempt.gpus.length === 0) return [];
    return [{
      id: job.id,
      user: job.owner,
      project: job.project ?? DEFAULT_PROJECT,
      gpuType: typeOf.get(`${attempt.node}/${attempt.gpus[0] ?? 0}`) ?? 'GPU',
      gpus: attempt.gpus.length,
      node: attempt.node,
      startedAt: job.startedAt ?? attempt.startedAt,
      preemptible: job.spec.preemptible,
      priority: job.priority,
      terminating: job.cancelRequestedAt !== null || job.preemptRequestedAt !== null,
    }];
  });
}
