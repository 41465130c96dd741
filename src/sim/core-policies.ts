// `slurm` and `stint`: the policies that run the core's scheduling code (src/core/policy `plan`:
// best fit + EASY backfill; src/core/fairshare: Fair Tree fair share and multifactor priority;
// src/core/quota through the server's quota gate) on the simulated cluster, with the virtual time.
//  - stint = the server's default: FairPassOrder (fair share re-ranked after every placement, with
//    the in-use charge), the server's empty share tree, the quota gate and reclaim preemption when
//    tenants have guarantees (a preempted job starts over, as a retried attempt does), then plan().
//  - slurm = Slurm's priority/multifactor + sched/backfill: priorities computed once per pass (no
//    re-ranking, no in-use charge), accounts' shares = their guarantees, no quotas, then plan().
// The core places single-node demands only; a job of more GPUs than a node is gang-placed here on
// whole nodes (cluster.ts) in its priority turn; when it is the first job that cannot start, its
// nodes are reserved (withheld from the pass) until the time enough whole nodes free up.
// Speed: plan() sees only the nodes that decide the pass (viewFor: where best fit could place,
// and where the head's reservation could go), and an instant with only arrivals, none of which
// fits in the free GPUs, makes no pass (only the quota reclaim check).
// Always: only the top of each tenant's queue (WINDOW jobs in all, as Slurm's
// default_queue_depth) is offered to a pass; a job starts only where plan() or the gang placer
// put it.

import { DEFAULT_FAIR_SHARE_OPTIONS, DEFAULT_PRIORITY_CONFIG, DEFAULT_USAGE_CONFIG, FairPassOrder, buildShareTree, passPriority, type PassJob, type ShareTree } from '../core/fairshare/index.js';
import { plan, type QueueOrder } from '../core/policy/plan.js';
import type { PendingJob, RunningJob } from '../core/policy/types.js';
import type { QuotaConfig } from '../core/quota/types.js';
import type { Allocation } from './cluster.js';
import { GangStep } from './gang.js';
import type { PassContext, SimJob, SimPolicy } from './job.js';
import { QuotaStep } from './quota-step.js';
import { UsageBook } from './usage-book.js';

/** Pending jobs offered to one pass, split evenly among tenants with pending jobs. */
export const WINDOW = 100;
const MIN_PER_TENANT = 8;

export type RuntimeLimits = 'oracle' | 'none';

export interface CorePolicyOptions {
  /** Tenant -> guaranteed GPUs (the quota file); empty = no quotas. */
  guarantees: ReadonlyMap<string, number>;
  /** What the policy knows of a job's run time for backfill: its true duration, or nothing. */
  limits: RuntimeLimits;
}

export type SimPending = PendingJob & PassJob & { readonly sim: SimJob };

const S = 1000;

abstract class CorePolicy implements SimPolicy {
  abstract readonly name: string;
  protected readonly book = new UsageBook();
  private readonly byTenant = new Map<string, SimJob[]>();
  private readonly views = new WeakMap<SimJob, SimPending>();
  private count = 0;
  /** Jobs enqueued since the last pass. */
  private arrivals: SimJob[] = [];
  private nodes: ReturnType<PassContext['cluster']['inventory']> | null = null;

  constructor(protected readonly options: CorePolicyOptions) {}

  enqueue(job: SimJob, now: number): void {
    this.arrivals.push(job);
    // A stopped job (run > 0) was holding GPUs until now.
    if (job.run > 0) this.hold(job, -1, now);
    let list = this.byTenant.get(job.trace.tenant);
    if (!list) this.byTenant.set(job.trace.tenant, (list = []));
    let at = list.length;
    while (at > 0 && list[at - 1]!.trace.submit > job.trace.submit) at--;
    list.splice(at, 0, job);
    this.count++;
  }

  finished(job: SimJob, now: number): void {
    this.hold(job, -1, now);
  }

  /** GPUs held per (tenant, user) now, for the quota ledger. */
  protected readonly heldBy = new Map<string, { tenant: string; user: string; gpus: number }>();

  private hold(job: SimJob, sign: 1 | -1, now: number): void {
    const { tenant, user, gpus } = job.trace;
    this.book.hold(tenant, user, sign * gpus, now * S);
    const key = `${tenant}\u0000${user}`;
    let entry = this.heldBy.get(key);
    if (!entry) this.heldBy.set(key, (entry = { tenant, user, gpus: 0 }));
    entry.gpus += sign * gpus;
  }

  pendingCount(): number {
    return this.count;
  }

  /** One pass of plan() on the part of the cluster that decides it (viewFor). */
  pass(ctx: PassContext, news: { freed: boolean; arrived: boolean }): void {
    this.nodes ??= ctx.cluster.inventory();
    const arrivals = this.arrivals;
    this.arrivals = [];
    if (ctx.cluster.freeGpus === 0) return this.fullPass(ctx);
    // Only arrivals, none of which fits in the free GPUs: the last pass already offered those
    // GPUs to every other job, so nothing can start (a new head could in rare cases let another
    // job backfill: that is not looked for). Quotas may still take back a guarantee.
    if (!news.freed && !arrivals.some((job) => ctx.cluster.find(job.trace.gpus) !== null)) return this.fullPass(ctx);
    // After a pass where a job had to wait, the next is likely to need the whole cluster too.
    const attempt = this.attempt(ctx);
    const { result, gang, order, window, quota } = attempt;
    for (const p of result.placements) {
      const job = this.view(window, p.jobId);
      const allocation: Allocation = [{ node: ctx.cluster.nodeIndex(p.node), gpuIndices: p.gpuIndices }];
      ctx.start(job.sim, allocation);
      this.started(job.sim, ctx.now);
    }
    gang.after(order, (job) => this.started(job, ctx.now));
    const waiting = result.reservation ? this.view(window, result.reservation.jobId) : null;
    if (quota && waiting) quota.reclaim(waiting, this.nodes, ctx.now * S);
  }

  private attempt(ctx: PassContext) {
    const nowMs = ctx.now * S;
    const window = this.window();
    const gang = new GangStep(ctx, this.options.limits);
    const quota = this.quotaStep(ctx);
    let order = this.order(window, nowMs, ctx.cluster.totalGpus);
    if (quota) order = quota.filter(order, window);
    const first = gang.before(order, (job) => this.started(job, ctx.now));
    const nodeIds = this.options.limits === 'oracle' ? viewFor(ctx, window) : null;
    const nodes = nodeIds ? nodeIds.map((n) => this.nodes![n]!) : this.nodes!;
    const running = runningView(ctx, this.options.limits, nodeIds);
    const result = plan(window, { nodes, running: [...running, ...gang.withheld()] }, nowMs, { explain: false, order: gang.wrap(order, first) });
    return { result, gang, order, window, quota };
  }

  /** Nothing is free: nothing can start, but the first job in order may take back a guarantee. */
  private fullPass(ctx: PassContext): void {
    const quota = this.quotaStep(ctx);
    if (!quota) return;
    const window = this.window();
    const first = quota.filter(this.order(window, ctx.now * S, ctx.cluster.totalGpus), window).next();
    if (first) quota.reclaim(first, this.nodes!, ctx.now * S);
  }

  protected abstract order(window: SimPending[], nowMs: number, clusterGpus: number): QueueOrder;
  protected quotaStep(_ctx: PassContext): QuotaStep | null {
    return null;
  }

  protected pendingView(job: SimJob): SimPending {
    let view = this.views.get(job);
    if (!view) {
      const { id, submit, duration, gpus, tenant, user } = job.trace;
      view = {
        id,
        priority: 0,
        submittedAt: submit * S,
        demands: [{ gpuName: null, gpus, cpus: 0, memoryGb: 0 }],
        ordered: false,
        runtimeLimitMs: this.options.limits === 'oracle' ? duration * S : null,
        preemptible: true,
        user,
        project: tenant,
        gpus,
        allocation: { gpus, cpus: 0, memoryGb: 0 },
        sim: job,
      };
      this.views.set(job, view);
    }
    // A restarted job runs its whole duration again; a resumed one only what is left.
    if (this.options.limits === 'oracle') (view as { runtimeLimitMs: number | null }).runtimeLimitMs = job.remaining * S;
    return view;
  }

  private view(window: readonly SimPending[], id: number): SimPending {
    const found = window.find((j) => j.id === id);
    if (!found) throw new Error(`simulator invariant broken: job ${id} placed but not offered`);
    return found;
  }

  /** The oldest jobs of each tenant, WINDOW in all. */
  private window(): SimPending[] {
    const lists = [...this.byTenant.values()].filter((l) => l.length > 0);
    const per = Math.max(MIN_PER_TENANT, Math.ceil(WINDOW / Math.max(1, lists.length)));
    const out: SimPending[] = [];
    for (const list of lists) for (let i = 0; i < list.length && i < per; i++) out.push(this.pendingView(list[i]!));
    return out;
  }

  private started(job: SimJob, now: number): void {
    const list = this.byTenant.get(job.trace.tenant)!;
    list.splice(list.indexOf(job), 1);
    this.count--;
    this.hold(job, 1, now);
  }
}

/**
 * The nodes plan() needs to decide exactly as on the whole cluster: those best fit could pick for
 * the offered jobs (cluster.nodesForPlacements), and, for each job size that could become the
 * head (no other node has that many free), the other nodes where that many GPUs free up soonest
 * as running jobs end by their limits, all those tied — where the head's reservation goes.
 * Nodes outside the first set get no placement during the pass, so their times are exact.
 */
function viewFor(ctx: PassContext, window: readonly SimPending[]): number[] {
  const { cluster } = ctx;
  const view = cluster.nodesForPlacements(window.length);
  const inView = new Set(view);
  const G = cluster.gpusPerNode;
  let outsideMax = 0;
  for (let node = 0; node < cluster.nodeCount; node++) if (!inView.has(node)) outsideMax = Math.max(outsideMax, cluster.freeOn(node));
  const sizes = [...new Set(window.map((j) => j.gpus))].filter((g) => g <= G && g > outsideMax);
  if (sizes.length === 0) return view;
  const best = sizes.map(() => ({ at: Infinity, nodes: [] as number[] }));
  for (let node = 0; node < cluster.nodeCount; node++) {
    if (inView.has(node)) continue;
    const ends: { at: number; gpus: number }[] = [];
    const free = cluster.freeOn(node);
    for (const id of cluster.jobsOn(node)) {
      const job = ctx.runningById.get(id)!;
      const piece = job.allocation!.length === 1 ? job.allocation![0]! : job.allocation!.find((p) => p.node === node)!;
      ends.push({ at: job.startedAt + job.remaining, gpus: piece.gpuIndices.length });
    }
    ends.sort((x, y) => x.at - y.at);
    sizes.forEach((g, i) => {
      let have = free;
      let at = ctx.now;
      for (let e = 0; e < ends.length && have < g; e++) {
        have += ends[e]!.gpus;
        at = ends[e]!.at;
      }
      const b = best[i]!;
      if (at < b.at) {
        b.at = at;
        b.nodes = [node];
      } else if (at === b.at) b.nodes.push(node);
    });
  }
  for (const b of best) for (const node of b.nodes) inView.add(node);
  return [...inView].sort((a, b) => a - b);
}

/** Running jobs as the core sees them (on `nodes` only, when given): one entry per node piece. */
function runningView(ctx: PassContext, limits: RuntimeLimits, nodes: readonly number[] | null): RunningJob[] {
  const out: RunningJob[] = [];
  const add = (job: SimJob, only: number | null) => {
    const endsBy = limits === 'oracle' ? (job.startedAt + job.remaining) * S : null;
    for (const piece of job.allocation!) {
      if (only !== null && piece.node !== only) continue;
      out.push({ id: job.trace.id, node: ctx.cluster.nodeName(piece.node), gpuIndices: piece.gpuIndices, cpus: 0, memoryGb: 0, endsBy });
    }
  };
  if (nodes === null) for (const job of ctx.running) add(job, null);
  else for (const node of nodes) for (const id of ctx.cluster.jobsOn(node)) add(ctx.runningById.get(id)!, node);
  return out;
}

class StintPolicy extends CorePolicy {
  readonly name = 'stint';
  private readonly tree: ShareTree = buildShareTree({ projects: [] });
  private readonly quotas: QuotaConfig | null;

  constructor(options: CorePolicyOptions) {
    super(options);
    const projects = [...options.guarantees].map(([project, gpus]) => ({ project, guaranteed: { GPU: gpus } }));
    this.quotas = projects.length > 0 ? { projects, users: [] } : null;
  }

  protected order(window: SimPending[], nowMs: number, clusterGpus: number): QueueOrder {
    const order = new FairPassOrder(window, {
      tree: this.tree,
      usage: this.book.table(nowMs),
      now: nowMs,
      clusterGpus,
      usageConfig: DEFAULT_USAGE_CONFIG,
      fairShare: DEFAULT_FAIR_SHARE_OPTIONS,
      priority: DEFAULT_PRIORITY_CONFIG,
    });
    return { next: () => order.next(), placed: (job) => order.placed(job as SimPending) };
  }

  protected override quotaStep(ctx: PassContext): QuotaStep | null {
    return this.quotas ? new QuotaStep(ctx, this.quotas, this.heldBy) : null;
  }
}

/** Slurm: PriorityWeightFairshare and PriorityWeightAge as the core's defaults, no in-use charge. */
class SlurmPolicy extends CorePolicy {
  readonly name = 'slurm';
  private readonly tree: ShareTree;

  constructor(options: CorePolicyOptions) {
    super(options);
    const projects = [...options.guarantees].filter(([, gpus]) => gpus > 0).map(([name, shares]) => ({ name, shares }));
    this.tree = buildShareTree({ projects });
  }

  protected order(window: SimPending[], nowMs: number, clusterGpus: number): QueueOrder {
    const ranking = new FairPassOrder(window, {
      tree: this.tree,
      usage: this.book.table(nowMs),
      now: nowMs,
      clusterGpus,
      usageConfig: DEFAULT_USAGE_CONFIG,
      fairShare: { ...DEFAULT_FAIR_SHARE_OPTIONS, inUseChargeMs: 0 },
      priority: DEFAULT_PRIORITY_CONFIG,
    }).fairShare();
    const scored = window.map((job) => ({ job, score: passPriority(job, ranking, { now: nowMs, clusterGpus, priority: DEFAULT_PRIORITY_CONFIG }).priority }));
    scored.sort((a, b) => b.score - a.score || a.job.submittedAt - b.job.submittedAt || a.job.id - b.job.id);
    let i = 0;
    return { next: () => scored[i++]?.job, placed: () => undefined };
  }
}

export function stintPolicy(options: CorePolicyOptions): SimPolicy {
  return new StintPolicy(options);
}

export function slurmPolicy(options: CorePolicyOptions): SimPolicy {
  return new SlurmPolicy(options);
}
