// Turns store rows into the wire format (src/api/schemas.ts). The one place that decides what a
// client sees of a job: secret values are masked here and never leave the server.

import type { WaitInfo } from '../core/policy/types.js';
import type { TaskSpec } from '../core/spec/types.js';
import type { AttemptRow, EventRow, JobRow } from '../store/types.js';
import type { JobDetailView, JobView } from '../api/schemas.js';

export const SECRET_MASK = '<secret>';

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

/** The spec as clients see it: secret values masked, the parser's source positions left out. */
export function maskSecrets(spec: TaskSpec): TaskSpec {
  const secrets = Object.fromEntries(Object.keys(spec.secrets).map((k) => [k, SECRET_MASK]));
  const resources = spec.resources.map(({ origins: _origins, ...choice }) => choice);
  return { ...spec, secrets, resources };
}

export function describeResources(spec: TaskSpec): string {
  const choices = spec.resources.map((r) => {
    const parts: string[] = [];
    if (r.accelerator) parts.push(`${r.accelerator.count} × ${r.accelerator.name}`);
    if (r.cpus) parts.push(`${r.cpus.value}${r.cpus.orMore ? '+' : ''} CPU`);
    if (r.memoryGb) parts.push(`${r.memoryGb.value}${r.memoryGb.orMore ? '+' : ''} GB`);
    return parts.join(', ') || 'CPU only';
  });
  return choices.join(spec.ordered ? ' > ' : ' | ');
}

export function jobView(job: JobRow, attempt: AttemptRow | undefined, wait: WaitInfo | undefined): JobView {
  const pending = job.state === 'PENDING';
  return {
    id: job.id,
    name: job.name,
    owner: job.owner,
    project: job.project,
    priority: job.priority,
    state: job.state,
    reason: job.reason,
    exitCode: job.exitCode,
    signal: job.signal,
    backend: job.backend,
    node: attempt?.node ?? null,
    gpus: attempt?.gpus ?? [],
    attempt: job.attempt,
    resources: describeResources(job.spec),
    maxRuntimeSeconds: job.spec.maxRuntimeSeconds,
    submittedAt: iso(job.submittedAt)!,
    startedAt: iso(job.startedAt),
    endedAt: iso(job.endedAt),
    waitReason: pending ? (wait?.reason ?? null) : null,
    estimatedStartAt: pending ? iso(wait?.estimatedStartAt ?? null) : null,
    queuePosition: pending ? (wait?.position ?? null) : null,
  };
}

export function jobDetailView(
  job: JobRow,
  attempts: readonly AttemptRow[],
  events: readonly EventRow[],
  wait: WaitInfo | undefined,
): JobDetailView {
  const current = attempts.find((a) => a.attempt === job.attempt);
  return {
    ...jobView(job, current, wait),
    spec: maskSecrets(job.spec) as unknown as Record<string, unknown>,
    events: events.map((e) => ({ at: iso(e.at)!, from: e.fromState, to: e.toState, reason: e.reason })),
    attempts: attempts.map((a) => ({
      attempt: a.attempt,
      backend: a.backend,
      node: a.node,
      gpus: a.gpus,
      startedAt: iso(a.startedAt)!,
      endedAt: iso(a.endedAt),
      exitCode: a.exitCode,
      signal: a.signal,
      endReason: a.endReason,
    })),
  };
}
