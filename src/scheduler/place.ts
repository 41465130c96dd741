// Placement: for each backend where stint places jobs, build the cluster state from its inventory
// and the open attempts, run the pure policy, and launch what it placed. A launch is two state
// changes: PENDING -> STARTING (attempt recorded and GPUs held in one transaction, which the
// store refuses if any GPU is already held) and, once the processes exist, STARTING -> RUNNING.

import type { Clock } from '../core/clock.js';
import { plan } from '../core/policy/plan.js';
import type { ClusterState, PendingJob, Placement, RunningJob, WaitInfo } from '../core/policy/types.js';
import type { Backend, RunAs } from '../backends/backend.js';
import type { AttemptRow, JobRow, Store } from '../store/types.js';
import type { Logger } from './loop.js';
import type { PendingQueue } from './pending-queue.js';
import type { ActiveView } from './reconcile.js';
import type { FairShareOrder } from './fair-order.js';
import { quotaRunning, type QuotaGate } from './quotas.js';
import type { QuotaConfig } from '../core/quota/types.js';
import type { JobPriority } from '../core/fairshare/index.js';
import type { JobTransitions } from './transitions.js';
import { holdBackedOff } from '../health/backoff.js';
import { gpusOf, submitToEngine } from './engine-submit.js';

export interface PlaceDeps {
  store: Store;
  backends: readonly Backend[];
  clock: Clock;
  transitions: JobTransitions;
  logger: Logger;
  launching: Set<number>;
  queue: PendingQueue;
  /** Asks for another pass (after a background launch finished). */
  wake: () => void;
  /** Keeps a background launch, so stopping waits for it. */
  track: (launch: Promise<void>) => void;
  fairShare: FairShareOrder;
  quotas: QuotaGate;
  /** The job's Unix account; `ownerId` (the job's owner id) decides when given, the name otherwise. */
  runAs: (owner: string, ownerId?: number | null) => Promise<RunAs | null>;
  /** Prepares what the first waiting jobs will need (their images), without waiting for it. */
  prepare?: (jobs: readonly JobRow[]) => void;
  /** Filled with each pending job's priority on passes that explain. */
  priorities: Map<number, JobPriority>;
}

/**
 * Runs the policy and launches what it placed. Explaining every waiting job costs as much as the
 * placement itself, so explanations are made when `explain` is set (the loop asks about once a
 * second) and otherwise null is returned: keep the last ones.
 */
export async function placePending(deps: PlaceDeps, view: ActiveView, explain: boolean): Promise<Map<number, WaitInfo> | null> {
  const waiting = new Map<number, WaitInfo>();
  const { open, jobs: active } = view;
  const quotas = await deps.quotas.current();
  await noteStanding(deps, quotas, view);
  const { ready: pending, held: backedOff } = holdBackedOff(await deps.queue.current(), deps.clock.now());
  for (const [id, info] of backedOff) waiting.set(id, info);
  if (pending.length === 0) return waiting;
  for (const backend of deps.backends) {
    const mine = pending.filter((j) => j.row.backend === backend.name);
    if (mine.length === 0) continue;
    if (!backend.stintPlaces) {
      const held = await submitToEngine(deps, backend, mine.map((j) => ({ row: j.row, gpus: gpusOf(j.row) })), open, active, quotas);
      for (const [id, info] of held) waiting.set(id, info);
      continue;
    }
    const cluster = await clusterState(backend, open, active);
    const pendingJobs = mine.map((j) => j.pending);
    // A full machine places nothing: skip the policy unless waiting jobs are due an explanation
    // or quotas may preempt.
    if (!explain && quotas === null && !mayPlaceAny(cluster, pendingJobs)) {
      prepareAhead(deps, mine.map((j) => j.row), new Set());
      continue;
    }
    const running = open.map((attempt) => ({ attempt, job: active.get(attempt.jobId) }));
    const gpus = cluster.nodes.reduce((sum, node) => sum + node.gpus.filter((g) => g.healthy).length, 0);
    let order = await deps.fairShare.order(pendingJobs, running, gpus, explain ? deps.priorities : undefined);
    const refused = new Map<number, WaitInfo>();
    const quotaRunningJobs = quotas ? quotaRunning(open, active, cluster.nodes) : [];
    if (quotas) order = deps.quotas.filter(order, quotas, quotaRunningJobs, pendingJobs, refused);
    const result = plan(pendingJobs, cluster, deps.clock.now(), { explain, order });
    for (const [id, info] of [...result.waiting, ...refused]) waiting.set(id, info);
    const head = result.reservation ? mine.find((j) => j.row.id === result.reservation!.jobId) : undefined;
    if (quotas && head && (await deps.quotas.preemptFor(head.pending, quotas, quotaRunningJobs, cluster.nodes)) > 0) deps.wake();
    const byId = new Map(mine.map((j) => [j.row.id, j.row]));
    // GPUs are held once `start` returns; the processes are started in the background so the next
    // pass need not wait for them (attempts being launched are skipped by reconciliation).
    for (const placement of result.placements) {
      const job = byId.get(placement.jobId)!;
      if (await start(deps, backend, job, placement)) deps.track(launch(deps, backend, job, placement));
    }
    prepareAhead(deps, mine.map((j) => j.row), new Set(result.placements.map((p) => p.jobId)));
  }
  return explain ? waiting : null;
}

/** How many waiting jobs at the head of a backend's queue have their images prepared. */
const PREPARE_AHEAD = 3;

/** The first PREPARE_AHEAD jobs (queue order) this pass did not place. */
function prepareAhead(deps: PlaceDeps, rows: readonly JobRow[], placed: ReadonlySet<number>): void {
  if (!deps.prepare) return;
  const ahead = rows.filter((row) => !placed.has(row.id)).slice(0, PREPARE_AHEAD);
  if (ahead.length > 0) deps.prepare(ahead);
}

/** Which running jobs are on borrowed GPUs, for display; every pass, queue or not. */
async function noteStanding(deps: PlaceDeps, quotas: QuotaConfig | null, view: ActiveView): Promise<void> {
  if (quotas === null) return deps.quotas.noteStanding(null, []);
  const inventories = await Promise.all(deps.backends.filter((b) => b.stintPlaces).map((b) => b.inventory()));
  deps.quotas.noteStanding(quotas, quotaRunning(view.open, view.jobs, inventories.flatMap((i) => i.nodes)));
}

/** False only when certainly nothing fits: no free healthy GPU anywhere and every job wants GPUs. */
function mayPlaceAny(cluster: ClusterState, pending: readonly PendingJob[]): boolean {
  if (pending.some((job) => job.demands.some((d) => d.gpus === 0))) return true;
  const held = new Set(cluster.running.flatMap((r) => r.gpuIndices.map((g) => `${r.node}/${g}`)));
  return cluster.nodes.some((node) => node.gpus.some((gpu) => gpu.healthy && !held.has(`${node.name}/${gpu.index}`)));
}

async function clusterState(backend: Backend, open: readonly AttemptRow[], active: ReadonlyMap<number, JobRow>): Promise<ClusterState> {
  const inventory = await backend.inventory();
  const running: RunningJob[] = open
    .filter((a) => a.backend === backend.name && a.node !== null)
    .map((a) => {
      const job = active.get(a.jobId);
      const limit = job?.spec.maxRuntimeSeconds ?? null;
      const started = job?.startedAt ?? a.startedAt;
      return {
        id: a.jobId,
        node: a.node!,
        gpuIndices: a.gpus,
        cpus: a.cpus,
        memoryGb: a.memoryGb,
        endsBy: limit === null ? null : started + limit * 1000,
      };
    });
  return { nodes: inventory.nodes, running };
}

/** PENDING -> STARTING with the attempt and its GPU holds; false if the job moved meanwhile. */
async function start(deps: PlaceDeps, backend: Backend, job: JobRow, placement: Placement): Promise<boolean> {
  const attempt = job.attempt + 1;
  const now = deps.clock.now();
  const where = placement.gpuIndices.length > 0 ? `GPUs ${placement.gpuIndices.join(',')} on ${placement.node}` : placement.node;
  const started = await deps.transitions.apply({
    jobId: job.id,
    from: 'PENDING',
    to: 'STARTING',
    reason: `placed on ${where}${placement.backfilled ? ' (backfilled)' : ''}`,
    set: { backend: backend.name, attempt },
    newAttempt: {
      jobId: job.id,
      attempt,
      backend: backend.name,
      node: placement.node,
      gpus: placement.gpuIndices,
      cpus: placement.cpus,
      memoryGb: placement.memoryGb,
      handle: {},
      logPath: null,
      startedAt: now,
    },
    hold: placement.gpuIndices.map((gpuIndex) => ({ backend: backend.name, node: placement.node, gpuIndex })),
  });
  if (started) deps.launching.add(job.id);
  return started;
}

async function launch(deps: PlaceDeps, backend: Backend, job: JobRow, placement: Placement): Promise<void> {
  const attempt = job.attempt + 1;
  try {
    const launched = await backend.launch({
      jobId: job.id,
      attempt,
      name: job.name,
      spec: job.spec,
      secrets: job.secrets,
      node: placement.node,
      gpus: placement.gpuIndices,
      workdirArchive: job.workdirArchive,
      env: {},
      runAs: await deps.runAs(job.owner, job.ownerId),
      owner: { id: job.ownerId, name: job.owner },
      exportedEnv: await deps.store.getExportedEnv(job.id),
    });
    const running = await deps.transitions.apply({
      jobId: job.id,
      from: 'STARTING',
      to: 'RUNNING',
      reason: 'running',
      set: { startedAt: deps.clock.now() },
      attemptHandle: { attempt, handle: launched.handle, logPath: launched.logPath },
    });
    // Cancelled while starting: the job left STARTING, but its processes must still be found.
    if (!running) await deps.store.updateAttemptHandle(job.id, attempt, launched.handle, launched.logPath);
  } catch (error) {
    deps.logger.warn({ err: error, job: job.id }, 'launch failed');
    await deps.transitions.endAttempt({
      jobId: job.id,
      from: 'STARTING',
      to: 'FAILED',
      attempt,
      exitCode: null,
      signal: null,
      endReason: 'launch_failed',
      reason: `launch failed: ${error instanceof Error ? error.message : String(error)}`,
    });
  } finally {
    deps.launching.delete(job.id);
    deps.wake();
  }
}
