// Hand-off to engines that place work themselves (Slurm): stint keeps no copy of their queue
// order. A pending job routed to such a backend is submitted to it at once, oldest first, subject
// only to stint's admission limits (per-user and per-project GPU caps, when set). The job then
// stays STARTING, with the engine's reason for waiting, until the engine reports it running.
// Always: the attempt is recorded (PENDING -> STARTING) before the engine sees the job, and the
// engine's handle is saved as soon as the submission returns; a launch that throws fails the job
// with the engine's message.

import type { Backend, RunAs } from '../backends/backend.js';
import type { Clock } from '../core/clock.js';
import { QuotaLedger } from '../core/quota/borrowing.js';
import type { QuotaConfig } from '../core/quota/types.js';
import type { WaitInfo } from '../core/policy/types.js';
import { DEFAULT_PROJECT } from '../core/fairshare/index.js';
import type { AttemptRow, JobRow, Store } from '../store/types.js';
import type { Logger } from './loop.js';
import type { JobTransitions } from './transitions.js';

/** Submissions to one engine per pass; the rest go on the next pass (a pass stays short). */
const SUBMITS_PER_PASS = 64;

export interface EngineSubmitDeps {
  store: Store;
  clock: Clock;
  transitions: JobTransitions;
  logger: Logger;
  launching: Set<number>;
  wake: () => void;
  track: (launch: Promise<void>) => void;
  /** The job's Unix account; `ownerId` (the job's owner id) decides when given, the name otherwise. */
  runAs: (owner: string, ownerId?: number | null) => Promise<RunAs | null>;
}

export interface EngineQueued {
  row: JobRow;
  /** GPUs per node times nodes, for caps. */
  gpus: number;
}

/** Submits pending jobs to `backend`; returns why those held back by a cap wait. */
export async function submitToEngine(
  deps: EngineSubmitDeps,
  backend: Backend,
  pending: readonly EngineQueued[],
  open: readonly AttemptRow[],
  active: ReadonlyMap<number, JobRow>,
  quotas: QuotaConfig | null,
): Promise<Map<number, WaitInfo>> {
  const waits = new Map<number, WaitInfo>();
  const caps = new CapCounter(quotas, open, active);
  let submitted = 0;
  for (const job of [...pending].sort((a, b) => a.row.submittedAt - b.row.submittedAt || a.row.id - b.row.id)) {
    if (submitted >= SUBMITS_PER_PASS) {
      deps.wake();
      break;
    }
    const refusal = caps.refusal(job);
    if (refusal !== null) {
      waits.set(job.row.id, { reason: refusal, estimatedStartAt: null, position: 0 });
      continue;
    }
    if (!(await recordAttempt(deps, backend, job.row))) continue;
    caps.add(job);
    submitted += 1;
    deps.track(submit(deps, backend, job.row));
  }
  return waits;
}

async function recordAttempt(deps: EngineSubmitDeps, backend: Backend, job: JobRow): Promise<boolean> {
  const attempt = job.attempt + 1;
  const choice = job.spec.resources[0];
  const started = await deps.transitions.apply({
    jobId: job.id,
    from: 'PENDING',
    to: 'STARTING',
    reason: `submitted to ${backend.name} (${backend.kind}); it decides where and when`,
    set: { backend: backend.name, attempt },
    newAttempt: {
      jobId: job.id, attempt, backend: backend.name, node: null, gpus: [],
      cpus: choice?.cpus?.value ?? 0, memoryGb: choice?.memoryGb?.value ?? 0,
      handle: {}, logPath: null, startedAt: deps.clock.now(),
    },
  });
  if (started) deps.launching.add(job.id);
  return started;
}

async function submit(deps: EngineSubmitDeps, backend: Backend, job: JobRow): Promise<void> {
  const attempt = job.attempt + 1;
  try {
    const launched = await backend.launch({
      jobId: job.id, attempt, name: job.name, spec: job.spec, secrets: job.secrets,
      node: null, gpus: [], workdirArchive: job.workdirArchive, env: {},
      runAs: await deps.runAs(job.owner, job.ownerId),
      exportedEnv: await deps.store.getExportedEnv(job.id),
    });
    await deps.store.updateAttemptHandle(job.id, attempt, launched.handle, launched.logPath);
  } catch (error) {
    deps.logger.warn({ err: error, job: job.id, backend: backend.name }, 'submission to the engine failed');
    await deps.transitions.endAttempt({
      jobId: job.id, from: 'STARTING', to: 'FAILED', attempt, exitCode: null, signal: null, endReason: 'launch_failed',
      reason: `${backend.name} refused the job: ${error instanceof Error ? error.message : String(error)}`,
    });
  } finally {
    deps.launching.delete(job.id);
    deps.wake();
  }
}

/**
 * Per-user and per-project GPU caps (`maxGpus`) as admission limits: the GPUs of jobs already
 * handed to any engine or running count against them. Guarantees and borrowing are the engine's
 * business (Slurm's accounts, QOS and fair share), so only the core ledger's cap check applies:
 * jobs are checked as preemptible, which the guarantee rule never refuses.
 */
class CapCounter {
  private readonly ledger: QuotaLedger | null;

  constructor(quotas: QuotaConfig | null, open: readonly AttemptRow[], active: ReadonlyMap<number, JobRow>) {
    if (quotas === null) {
      this.ledger = null;
      return;
    }
    const ledger = new QuotaLedger(quotas, []);
    for (const attempt of open) {
      const job = active.get(attempt.jobId);
      if (job) ledger.add(capEntry(job, gpusOf(job)));
    }
    this.ledger = ledger;
  }

  refusal(job: EngineQueued): string | null {
    if (this.ledger === null || job.gpus === 0) return null;
    const verdict = this.ledger.check({ ...capEntry(job.row, job.gpus), id: job.row.id, priority: job.row.priority, submittedAt: job.row.submittedAt, preemptible: true });
    return verdict.allowed ? null : `${verdict.reason}; waits in stint before submission`;
  }

  add(job: EngineQueued): void {
    this.ledger?.add(capEntry(job.row, job.gpus));
  }
}

function capEntry(job: JobRow, gpus: number): { user: string; project: string; gpuType: string; gpus: number } {
  return { user: job.owner, project: job.project ?? DEFAULT_PROJECT, gpuType: job.spec.resources[0]?.accelerator?.name ?? 'GPU', gpus };
}

export function gpusOf(job: JobRow): number {
  const choice = job.spec.resources[0];
  return (choice?.accelerator?.count ?? 0) * job.spec.numNodes;
}
