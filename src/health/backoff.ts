// Retry backoff at placement: a job requeued after a node failure or a failure waits until its
// not-before time (set by requeue.ts) and says so in the queue. Pure.

import type { WaitInfo } from '../core/policy/types.js';
import type { JobRow } from '../store/types.js';

export function holdBackedOff<T extends { row: JobRow }>(queued: readonly T[], now: number): { ready: T[]; held: Map<number, WaitInfo> } {
  const ready: T[] = [];
  const held = new Map<number, WaitInfo>();
  for (const job of queued) {
    const until = job.row.notBefore ?? null;
    if (until !== null && until > now) {
      held.set(job.row.id, { reason: `retry backoff after attempt ${job.row.attempt}: may start again in ${Math.ceil((until - now) / 1000)} s`, estimatedStartAt: until, position: 0 });
    } else {
      ready.push(job);
    }
  }
  return { ready, held };
}
