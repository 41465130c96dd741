// Prepares the images of jobs near the head of the queue: a `docker:` image that is not on this
// machine is pulled while the job still waits for GPUs, not after they were given to it. Called by
// the scheduling pass (non-blocking: `prepare` only queues work). Must hold: one pull at a time
// (through the image service's own queue), each image asked for by several jobs or passes is
// checked and pulled once; an image found local is re-checked at most every READY_RECHECK_MS, a
// failed pull is not tried again for `retryAfterMs`. A failure only leaves the job waiting: the
// launch resolves the image again and fails the attempt with podman's reason if it still cannot
// be pulled (the submit-time check already refused images no registry knew).

import type { Clock } from '../core/clock.js';
import type { ImageCaller, ImageService } from './images.js';

/** What the preparer reads of a pending job. */
export interface PreparedJob {
  id: number;
  owner: string;
  ownerId: number | null;
  spec: { resources: ReadonlyArray<{ imageId: string | null }> };
  /** The resource choices admission found runnable (indices into spec.resources). */
  choices: readonly number[];
}

export type PrepareStatus = { state: 'queued' | 'checking' | 'pulling' } | { state: 'ready'; at: number } | { state: 'failed'; at: number; reason: string };

const READY_RECHECK_MS = 60_000;

export interface ImagePreparerDeps {
  images: Pick<ImageService, 'needsPull' | 'pull'>;
  clock: Clock;
  logger: { warn(obj: object, msg?: string): void };
  /** How long a failed pull is not retried by the preparer (default 5 minutes). */
  retryAfterMs?: number;
}

export class ImagePreparer {
  /** By `owner id + image_id` (what resolution depends on). */
  private readonly status = new Map<string, PrepareStatus>();
  private readonly pending: Array<{ key: string; imageId: string; owner: ImageCaller }> = [];
  private worker: Promise<void> | null = null;

  constructor(private readonly deps: ImagePreparerDeps) {}

  /** Queues the `docker:` images of these jobs (in this order) that are not known to be ready. */
  prepare(jobs: readonly PreparedJob[]): void {
    const now = this.deps.clock.now();
    for (const job of jobs) {
      for (const imageId of imagesOf(job)) {
        const key = `${job.ownerId ?? job.owner}\u0000${imageId}`;
        if (!this.due(this.status.get(key), now)) continue;
        this.status.set(key, { state: 'queued' });
        this.pending.push({ key, imageId, owner: { id: job.ownerId, name: job.owner } });
      }
    }
    if (this.pending.length > 0 && this.worker === null) this.worker = this.drain().finally(() => (this.worker = null));
  }

  /** What the preparer knows of an image for a job's owner (tests, diagnostics). */
  statusOf(imageId: string, owner: { id: number | null; name: string }): PrepareStatus | undefined {
    return this.status.get(`${owner.id ?? owner.name}\u0000${imageId}`);
  }

  /** Resolves once everything queued so far is done. */
  async idle(): Promise<void> {
    while (this.worker) await this.worker;
  }

  private due(status: PrepareStatus | undefined, now: number): boolean {
    if (status === undefined) return true;
    if (status.state === 'ready') return now - status.at >= READY_RECHECK_MS;
    if (status.state === 'failed') return now - status.at >= (this.deps.retryAfterMs ?? 300_000);
    return false;
  }

  private async drain(): Promise<void> {
    for (let next = this.pending.shift(); next; next = this.pending.shift()) {
      try {
        this.status.set(next.key, { state: 'checking' });
        const full = await this.deps.images.needsPull(next.imageId, next.owner);
        if (full === null) {
          this.status.set(next.key, { state: 'ready', at: this.deps.clock.now() });
          continue;
        }
        this.status.set(next.key, { state: 'pulling' });
        const why = await this.deps.images.pull(full);
        if (why === null) this.status.set(next.key, { state: 'ready', at: this.deps.clock.now() });
        else this.failed(next.key, next.imageId, `pulling ${full} failed: ${why}`);
      } catch (error) {
        this.failed(next.key, next.imageId, error instanceof Error ? error.message : String(error));
      }
    }
  }

  private failed(key: string, imageId: string, reason: string): void {
    this.status.set(key, { state: 'failed', at: this.deps.clock.now(), reason });
    this.deps.logger.warn({ imageId, reason }, 'could not prepare an image for a waiting job; the launch will try again');
  }
}

function imagesOf(job: PreparedJob): string[] {
  const chosen = job.choices.length > 0 ? job.choices.map((i) => job.spec.resources[i]) : job.spec.resources;
  const ids = chosen.map((r) => r?.imageId ?? null).filter((id): id is string => id !== null && id.startsWith('docker:'));
  return [...new Set(ids)];
}
