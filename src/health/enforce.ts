// What a pass does about broken hardware before it reconciles: a running job on a GPU (or node)
// drained by a failed health check is stopped (SIGKILL: the hardware is gone, there is nothing to
// wait for) and requeued under its retry policy as a node failure, or failed with that reason;
// a running job whose log volume is full is stopped and failed with a reason saying so, instead of
// writing into a full disk (and the server stays responsive). Runs inside the scheduler's pass, so
// it never races reconciliation; every change goes through JobTransitions; each is a health event.

import { statfs } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Clock } from '../core/clock.js';
import { attemptKey, type Backend } from '../backends/backend.js';
import type { Logger } from '../scheduler/loop.js';
import type { JobTransitions } from '../scheduler/transitions.js';
import type { AttemptRow, JobRow, Store } from '../store/types.js';
import type { AlertSender } from '../alerts/sender.js';
import type { DrainRegistry } from './drains.js';
import { requeueIfAllowed } from './requeue.js';

export interface EnforceOptions {
  store: Store;
  backends: readonly Backend[];
  clock: Clock;
  transitions: JobTransitions;
  logger: Logger;
  drains: DrainRegistry;
  alerts: AlertSender | null;
  /** Below this many free bytes a log volume counts as full. */
  minFreeBytes: number;
  /** How often log volumes are checked. */
  diskCheckMs: number;
}

export class HealthEnforcer {
  private diskCheckedAt = Number.NEGATIVE_INFINITY;

  constructor(private readonly o: EnforceOptions) {}

  /** The scheduler's before-pass hook. */
  async beforePass(): Promise<void> {
    const failures = this.o.drains.failures();
    const now = this.o.clock.now();
    const checkDisk = now - this.diskCheckedAt >= this.o.diskCheckMs;
    if (failures.length === 0 && !checkDisk) return;
    const open = await this.o.store.listOpenAttempts();
    if (open.length === 0) return;
    const running = new Map((await this.o.store.listJobs({ states: ['RUNNING'] })).map((j) => [j.id, j]));
    for (const attempt of open) {
      const job = running.get(attempt.jobId);
      if (!job || job.attempt !== attempt.attempt || attempt.node === null) continue;
      const broken = attempt.gpus.map((g) => this.o.drains.drainOf(attempt.backend, attempt.node!, g)).find((d) => d?.source === 'health');
      if (broken) await this.stop(job, attempt, 'node_failure', broken.reason);
    }
    if (checkDisk) {
      this.diskCheckedAt = now;
      await this.checkLogVolumes(open, running);
    }
  }

  private async checkLogVolumes(open: readonly AttemptRow[], running: ReadonlyMap<number, JobRow>): Promise<void> {
    const free = new Map<string, number | null>();
    for (const attempt of open) {
      const job = running.get(attempt.jobId);
      if (!job || job.attempt !== attempt.attempt || attempt.logPath === null) continue;
      const dir = dirname(attempt.logPath);
      if (!free.has(dir)) free.set(dir, await freeBytes(dir));
      const bytes = free.get(dir);
      if (bytes === null || bytes === undefined || bytes >= this.o.minFreeBytes) continue;
      await this.stop(job, attempt, 'disk_full', `the log volume is full (${bytes} bytes free at ${dir}); the job's output can no longer be written — free space on that volume and resubmit`);
    }
  }

  private async stop(job: JobRow, attempt: AttemptRow, why: 'node_failure' | 'disk_full', detail: string): Promise<void> {
    const backend = this.o.backends.find((b) => b.name === attempt.backend);
    try {
      await backend?.signal({ jobId: attempt.jobId, attempt: attempt.attempt, handle: attempt.handle }, 'SIGKILL');
    } catch (error) {
      this.o.logger.warn({ err: error, job: job.id, attempt: attemptKey(attempt) }, 'could not kill the attempt on failed hardware');
    }
    const end = { endReason: 'node_failure' as const, exitCode: null, signal: 'SIGKILL', detail };
    const requeued = why === 'node_failure' && (await requeueIfAllowed(this.o.transitions, this.o.clock, job, attempt.attempt, end));
    if (!requeued) {
      await this.o.transitions.endAttempt({
        jobId: job.id, from: 'RUNNING', to: 'FAILED', attempt: attempt.attempt, exitCode: null, signal: 'SIGKILL', endReason: 'node_failure',
        reason: why === 'disk_full' ? detail : `node failure: ${detail}${job.spec.retries.on.includes('node_failure') ? ' (no retries left)' : ''}`,
      });
    }
    const at = this.o.clock.now();
    await this.o.store.observability.addHealthEvent({ at, backend: attempt.backend, node: attempt.node ?? '', gpuIndex: attempt.gpus[0] ?? null, kind: requeued ? 'requeued' : why === 'disk_full' ? 'disk_full' : 'failed', detail: `job ${job.id} attempt ${attempt.attempt}: ${detail}` });
    if (why === 'disk_full') {
      this.o.alerts?.toAdmins({ kind: 'node_drained', severity: 'critical', title: `log volume full on ${attempt.node ?? attempt.backend}`, text: detail, at, gpu: { backend: attempt.backend, node: attempt.node ?? '', index: null } });
    }
  }
}

async function freeBytes(dir: string): Promise<number | null> {
  try {
    const s = await statfs(dir);
    return Number(s.bavail) * Number(s.bsize);
  } catch {
    return null;
  }
}
