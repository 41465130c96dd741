// Tenant guarantees in the `stint` policy, through the server's own code: the quota gate's filter
// (src/scheduler/quotas.ts: caps, borrowing, "a tenant taking back its guarantee stops borrowing")
// and the core's preemption choice (src/core/quota) for the waiting head, whose victims the
// simulator stops at once and requeues to start over (the server's retry of a preempted attempt).
// The filter is the pure `quotaFilter` the server's QuotaGate uses.
// Always: a victim is chosen only by choosePreemptions; gang jobs (several nodes) are never victims.

import { choosePreemptions } from '../core/quota/preemption.js';
import { DEFAULT_MIN_RUNTIME_MS, type QuotaConfig, type QuotaRunningJob } from '../core/quota/types.js';
import type { Node } from '../core/inventory.js';
import type { QueueOrder } from '../core/policy/plan.js';
import type { PendingJob, WaitInfo } from '../core/policy/types.js';
import { quotaFilter, quotaPending } from '../scheduler/quotas.js';
import type { PassContext, SimJob } from './job.js';

export class QuotaStep {
  private runningJobs: QuotaRunningJob[] | null = null;
  private readonly byId = new Map<number, SimJob>();

  constructor(
    private readonly ctx: PassContext,
    private readonly config: QuotaConfig,
    private readonly heldBy: ReadonlyMap<string, { tenant: string; user: string; gpus: number }>,
  ) {
  }

  /**
   * The gate's filter. Its ledger only adds up GPUs per project, project+type and user, so it is
   * given one entry per (tenant, user) with their total instead of every running job.
   */
  filter(order: QueueOrder, window: readonly PendingJob[]): QueueOrder {
    const refused = new Map<number, WaitInfo>();
    const totals: QuotaRunningJob[] = [];
    let id = -1;
    for (const { tenant, user, gpus } of this.heldBy.values()) {
      if (gpus > 0) totals.push({ id: id--, user, project: tenant, gpuType: 'GPU', gpus, node: '', startedAt: 0, preemptible: true, priority: 0 });
    }
    return quotaFilter(order, this.config, totals, window, refused);
  }

  /** Stops the borrowers the core chooses so that `head` can take back its tenant's guarantee. */
  reclaim(head: PendingJob, nodes: readonly Node[], nowMs: number): void {
    const asked = quotaPending(head);
    if (asked.gpus > this.ctx.cluster.gpusPerNode) return;
    // Cheap checks first (the core would find no victim): the head fits within its guarantee and
    // some other tenant holds more than its own.
    const byTenant = new Map<string, number>();
    for (const { tenant, gpus } of this.heldBy.values()) byTenant.set(tenant, (byTenant.get(tenant) ?? 0) + gpus);
    const guarantee = (project: string) => this.config.projects.find((p) => p.project === project)?.guaranteed.GPU ?? 0;
    if ((byTenant.get(asked.project) ?? 0) + asked.gpus > guarantee(asked.project)) return;
    if (![...byTenant].some(([tenant, gpus]) => tenant !== asked.project && gpus > guarantee(tenant))) return;
    const choice = choosePreemptions(asked, this.running(), this.config, nodes, nowMs, { minRuntimeMs: DEFAULT_MIN_RUNTIME_MS });
    if (choice === null) return;
    for (const id of choice.victims) {
      const victim = this.byId.get(id);
      if (victim && victim.state === 'running') this.ctx.stop(victim, false);
    }
    this.runningJobs = null;
  }

  private running(): QuotaRunningJob[] {
    if (this.runningJobs) return this.runningJobs;
    const out: QuotaRunningJob[] = [];
    for (const job of this.ctx.running) {
      const { id, tenant, user, gpus } = job.trace;
      this.byId.set(id, job);
      out.push({
        id,
        user,
        project: tenant,
        gpuType: 'GPU',
        gpus,
        node: this.ctx.cluster.nodeName(job.allocation![0]!.node),
        startedAt: job.startedAt * 1000,
        preemptible: job.allocation!.length === 1,
        priority: 0,
      });
    }
    return (this.runningJobs = out);
  }
}
