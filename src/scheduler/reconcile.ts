// Reconciliation: one batched poll per backend of every open attempt, then the resulting state
// changes (RUNNING, or the end of the attempt with its exact exit code), and enforcement of
// cancellations and max_runtime (SIGTERM, then SIGKILL after the grace period). Works the same
// after a restart: everything it needs is in the store, except which signals were already sent,
// and sending SIGTERM twice is harmless.

import type { Clock } from '../core/clock.js';
import { stateAfterAttempt, type EndReason } from '../core/job-state.js';
import { type AttemptRef, type AttemptStatus, type Backend, attemptKey } from '../backends/backend.js';
import type { AttemptRow, JobRow, Store } from '../store/types.js';
import type { Logger } from './loop.js';
import type { JobTransitions } from './transitions.js';
import { requeueIfAllowed } from '../health/requeue.js';

/** Which signal was last sent to which attempt, so SIGTERM goes once and SIGKILL follows. */
export type SignalLedger = Map<string, 'SIGTERM' | 'SIGKILL'>;

export interface ReconcileDeps {
  store: Store;
  backends: readonly Backend[];
  clock: Clock;
  transitions: JobTransitions;
  logger: Logger;
  killGraceMs: number;
  preemptGraceMs: number;
  signals: SignalLedger;
  /** Jobs whose launch is in progress in this process: their attempts are not polled yet. */
  launching: ReadonlySet<number>;
  /** Filled with why each job an engine holds (Slurm PENDING) waits there, by job id. */
  engineWaits: Map<number, string>;
}

/** The pass's view of what runs: open attempts and the active jobs they belong to. */
export interface ActiveView {
  open: readonly AttemptRow[];
  jobs: ReadonlyMap<number, JobRow>;
}

export async function loadActive(store: Store): Promise<ActiveView> {
  const open = await store.listOpenAttempts();
  const jobs = new Map((await store.listJobs({ states: ['STARTING', 'RUNNING'] })).map((j) => [j.id, j]));
  return { open, jobs };
}

/** Settles what the backends report; returns the view without the attempts that ended. */
export async function reconcile(deps: ReconcileDeps, view: ActiveView): Promise<ActiveView> {
  const ended = new Set<number>();
  const open = view.open.filter((a) => !deps.launching.has(a.jobId));
  const jobs = view.jobs;
  for (const backend of deps.backends) {
    const mine = open.filter((a) => a.backend === backend.name);
    if (mine.length === 0) continue;
    let statuses: Map<string, AttemptStatus>;
    try {
      statuses = await backend.poll(mine.map(toRef));
    } catch (error) {
      deps.logger.warn({ err: error, backend: backend.name }, 'backend poll failed; will retry');
      continue;
    }
    for (const attempt of mine) {
      const job = jobs.get(attempt.jobId);
      const status = statuses.get(attemptKey(attempt));
      if (!job || job.attempt !== attempt.attempt || !status) continue;
      if (await settle(deps, backend, job, attempt, status)) ended.add(job.id);
    }
  }
  return ended.size === 0 ? view : { open: view.open.filter((a) => !ended.has(a.jobId)), jobs };
}

/** Applies what the backend reported; true when the attempt ended. */
async function settle(deps: ReconcileDeps, backend: Backend, job: JobRow, attempt: AttemptRow, status: AttemptStatus): Promise<boolean> {
  const now = deps.clock.now();
  if (status.state === 'ended') {
    deps.engineWaits.delete(job.id);
    const sent = deps.signals.get(attemptKey(attempt));
    deps.signals.delete(attemptKey(attempt));
    // A process group we SIGKILLed cannot record its status: its end is our kill.
    if (status.reason === 'lost' && sent === 'SIGKILL') status = { state: 'ended', exitCode: 128 + 9, signal: 'SIGKILL', reason: 'exit', detail: 'killed by SIGKILL' };
    const endReason = whyEnded(job, status.reason, now);
    if (endReason === 'launch_failed' && job.state === 'STARTING' && attempt.attempt < MAX_UNSTARTED_ATTEMPTS) {
      await requeueUnstarted(deps, job, attempt.attempt, status.detail);
      return true;
    }
    if (await requeueIfAllowed(deps.transitions, deps.clock, job, attempt.attempt, { ...status, endReason })) return true;
    const to = stateAfterAttempt({ reason: endReason, exitCode: status.exitCode });
    await deps.transitions.endAttempt({
      jobId: job.id,
      from: job.state,
      to,
      attempt: attempt.attempt,
      exitCode: status.exitCode,
      signal: status.signal,
      endReason,
      reason: describeEnd(job, endReason, status.detail),
    });
    return true;
  }
  if (engineRestarted(attempt, status)) {
    await requeuedByEngine(deps, backend, job, attempt, status.restarts ?? 0);
    return true;
  }
  if (status.state === 'queued') {
    deps.engineWaits.set(job.id, `waiting in ${backend.name} (${backend.kind}): ${status.reason}`);
    if (job.cancelRequestedAt !== null) await enforceLimits(deps, backend, job, attempt, now);
    return false;
  }
  deps.engineWaits.delete(job.id);
  if (job.state === 'STARTING') {
    const where = status.nodes && status.nodes.length > 0 ? ` on ${status.nodes.join(', ')}` : '';
    await deps.transitions.apply({ jobId: job.id, from: 'STARTING', to: 'RUNNING', reason: `running${where}`, set: { startedAt: job.startedAt ?? now } });
  }
  await enforceLimits(deps, backend, job, attempt, now);
  return false;
}

/** The restart count the attempt began at (kept in its handle); an engine restart raises it. */
function engineRestarted(attempt: AttemptRow, status: AttemptStatus): boolean {
  if (status.state === 'ended' || status.restarts === undefined) return false;
  const since = typeof attempt.handle.restarts === 'number' ? attempt.handle.restarts : 0;
  return status.restarts > since;
}

/**
 * The engine requeued the job itself (Slurm after a node failure or preemption, for a `--requeue`
 * job): the attempt ends and the next one, the same engine job, waits in the engine's queue. One
 * change, so a crash cannot leave the job without an attempt while the engine still holds it.
 */
async function requeuedByEngine(deps: ReconcileDeps, backend: Backend, job: JobRow, attempt: AttemptRow, restarts: number): Promise<void> {
  const next = attempt.attempt + 1;
  deps.signals.delete(attemptKey(attempt));
  await deps.transitions.apply({
    jobId: job.id,
    from: job.state,
    to: 'STARTING',
    reason: `requeued by ${backend.name} (node failure or preemption); attempt ${next} waits in its queue`,
    set: { attempt: next, startedAt: null },
    endAttempt: { attempt: attempt.attempt, exitCode: null, signal: null, endReason: 'node_failure' },
    newAttempt: {
      jobId: job.id, attempt: next, backend: attempt.backend, node: null, gpus: [], cpus: attempt.cpus, memoryGb: attempt.memoryGb,
      handle: { ...attempt.handle, restarts }, logPath: null, startedAt: deps.clock.now(),
    },
  });
}

/** Attempts that never started (the server died mid-launch) are retried up to this many. */
const MAX_UNSTARTED_ATTEMPTS = 5;

/** Nothing of the attempt ran, so the job goes back to the queue whatever its retry policy. */
async function requeueUnstarted(deps: ReconcileDeps, job: JobRow, attempt: number, detail: string): Promise<void> {
  await deps.transitions.apply({
    jobId: job.id,
    from: 'STARTING',
    to: 'PENDING',
    reason: `attempt ${attempt} never started (${detail}); queued again`,
    endAttempt: { attempt, exitCode: null, signal: null, endReason: 'launch_failed' },
  });
}

function whyEnded(job: JobRow, reported: EndReason, now: number): EndReason {
  if (job.cancelRequestedAt !== null) return 'cancelled';
  if (job.preemptRequestedAt !== null) return 'preempted';
  const deadline = deadlineOf(job);
  if (deadline !== null && now >= deadline && reported === 'exit') return 'timeout';
  return reported;
}

function describeEnd(job: JobRow, endReason: EndReason, detail: string): string {
  switch (endReason) {
    case 'cancelled':
      return job.cancelReason ? `${job.cancelReason} (${detail})` : `cancelled (${detail})`;
    case 'timeout':
      return `exceeded max_runtime of ${job.spec.maxRuntimeSeconds} s (${detail})`;
    case 'exit':
      return detail;
    case 'lost':
    case 'launch_failed':
    case 'preempted':
    case 'node_failure':
    case 'out_of_memory':
      return `${endReason.replaceAll('_', ' ')}: ${detail}`;
  }
}

function deadlineOf(job: JobRow): number | null {
  if (job.spec.maxRuntimeSeconds === null || job.startedAt === null) return null;
  return job.startedAt + job.spec.maxRuntimeSeconds * 1000;
}

async function enforceLimits(deps: ReconcileDeps, backend: Backend, job: JobRow, attempt: AttemptRow, now: number): Promise<void> {
  const deadline = deadlineOf(job);
  const preempting = job.cancelRequestedAt === null && job.preemptRequestedAt !== null;
  const stopSince = job.cancelRequestedAt ?? job.preemptRequestedAt ?? (deadline !== null && now >= deadline ? deadline : null);
  if (stopSince === null) return;
  const key = attemptKey(attempt);
  const grace = preempting ? deps.preemptGraceMs : deps.killGraceMs;
  const wanted = now >= stopSince + grace ? 'SIGKILL' : 'SIGTERM';
  if (deps.signals.get(key) === wanted) return;
  try {
    await backend.signal(toRef(attempt), wanted);
    deps.signals.set(key, wanted);
    deps.logger.info({ job: job.id, attempt: attempt.attempt, signal: wanted }, 'stopping attempt');
  } catch (error) {
    deps.logger.warn({ err: error, job: job.id, signal: wanted }, 'could not signal the attempt yet; will retry');
  }
}

function toRef(attempt: AttemptRow): AttemptRef {
  return { jobId: attempt.jobId, attempt: attempt.attempt, handle: attempt.handle };
}
