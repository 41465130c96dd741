// The pending jobs, kept in memory between passes so a pass does not re-read and re-parse every
// queued job: submissions are added as they are accepted, and a job leaves when a transition takes
// it out of PENDING. The store stays the truth: the set is reloaded from it periodically and
// whenever a job returns to PENDING, and launches are conditional transitions, so a stale entry can
// never start a job twice.

import type { Clock } from '../core/clock.js';
import type { PendingJob } from '../core/policy/types.js';
import type { JobRow, Store } from '../store/types.js';
import { toPendingJob } from './demands.js';

export interface QueuedJob {
  row: JobRow;
  pending: PendingJob;
}

export class PendingQueue {
  private jobs = new Map<number, QueuedJob>();
  private loadedAt = Number.NEGATIVE_INFINITY;
  private reloading: { added: Map<number, QueuedJob>; removed: Set<number> } | null = null;

  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
    private readonly resyncMs: number,
  ) {}

  add(row: JobRow): void {
    const entry = { row, pending: toPendingJob(row) };
    this.jobs.set(row.id, entry);
    this.reloading?.added.set(row.id, entry);
  }

  remove(id: number): void {
    this.jobs.delete(id);
    this.reloading?.removed.add(id);
  }

  /** Forces a reload from the store at the next `current()`. */
  invalidate(): void {
    this.loadedAt = Number.NEGATIVE_INFINITY;
  }

  async current(): Promise<QueuedJob[]> {
    if (this.clock.now() - this.loadedAt >= this.resyncMs) await this.reload();
    return [...this.jobs.values()];
  }

  private async reload(): Promise<void> {
    const changes = { added: new Map<number, QueuedJob>(), removed: new Set<number>() };
    this.reloading = changes;
    try {
      const rows = await this.store.listJobs({ states: ['PENDING'] });
      const fresh = new Map<number, QueuedJob>(rows.map((row) => [row.id, { row, pending: toPendingJob(row) }]));
      for (const [id, entry] of changes.added) fresh.set(id, entry);
      for (const id of changes.removed) fresh.delete(id);
      this.jobs = fresh;
      this.loadedAt = this.clock.now();
    } finally {
      this.reloading = null;
    }
  }
}
