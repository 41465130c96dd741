// Which job changes become alerts: the end of every job (succeeded, failed, cancelled) goes to its
// owner's webhook, if they set one. Fed by JobTransitions.onChange; never blocks it.

import type { StateChange } from '../scheduler/transitions.js';
import type { Store } from '../store/types.js';
import type { AlertKind } from './payload.js';
import type { AlertSender } from './sender.js';

const ENDS: Partial<Record<StateChange['to'], { kind: AlertKind; severity: 'info' | 'warning' }>> = {
  SUCCEEDED: { kind: 'job_succeeded', severity: 'info' },
  FAILED: { kind: 'job_failed', severity: 'warning' },
  CANCELLED: { kind: 'job_cancelled', severity: 'info' },
};

export function jobAlerts(store: Store, sender: AlertSender, now: () => number): (change: StateChange) => void {
  return (change) => {
    const end = ENDS[change.to];
    if (!end || !sender.ownersMayListen()) return;
    void store.getJob(change.jobId).then((job) => {
      if (!job) return;
      const label = `job ${job.id}${job.name ? ` (${job.name})` : ''}`;
      sender.toOwner(job.owner, job.ownerId, {
        kind: end.kind,
        severity: end.severity,
        title: `${label} ${change.to.toLowerCase()}`,
        text: change.reason,
        at: now(),
        job: { id: job.id, name: job.name, owner: job.owner, project: job.project, state: job.state, exitCode: job.exitCode, reason: job.reason },
      });
    }, () => undefined);
  };
}
