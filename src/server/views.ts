// Turns store rows into the wire format (src/api/schemas.ts). The one place that decides what a
// client sees of a job: secret values are masked here and never leave the server.

import type { WaitInfo } from '../core/policy/types.js';
import type { JobPriority } from '../core/fairshare/index.js';
import type { TaskSpec } from '../core/spec/types.js';
import type { AttemptRow, EventRow, JobRow } from '../store/types.js';
import type { JobDetailView, JobView } from '../api/schemas.js';

export const SECRET_MASK = '<secret>';

/** Date's range: ±8.64e15 ms around the epoch. */
const MAX_DATE_MS = 8.64e15;

/**
 * An ISO time that never throws: null when there is none, or when it is not a time Date can hold
 * (an estimate beyond year 275760 is no estimate). Spec bounds keep real values far inside.
 */
const iso = (ms: number | null): string | null => (ms === null || !Number.isFinite(ms) || Math.abs(ms) > MAX_DATE_MS ? null : new Date(ms).toISOString());

/** A time the wire format requires: clamped into Date's range rather than thrown on. */
const isoAt = (ms: number): string => new Date(Number.isFinite(ms) ? Math.max(-MAX_DATE_MS, Math.min(MAX_DATE_MS, ms)) : 0).toISOString();

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
  const each = choices.join(spec.ordered ? ' > ' : ' | ');
  // Per node: "2 nodes × (4 × A100)" for a multi-node task.
  return spec.numNodes > 1 ? `${spec.numNodes} nodes × (${each})` : each;
}

function roundFactors(factors: JobPriority['factors']): JobPriority['factors'] {
  const r = (n: number) => Math.round(n * 1000) / 1000;
  return { fairShare: r(factors.fairShare), age: r(factors.age), explicit: r(factors.explicit), size: r(factors.size) };
}

export function jobView(job: JobRow, attempt: AttemptRow | undefined, wait: WaitInfo | undefined, rank?: JobPriority, borrowing: boolean | null = null): JobView {
  const pending = job.state === 'PENDING';
  return {
    id: job.id,
    name: job.name,
    owner: job.owner,
    user: job.owner,
    project: job.project,
    priority: job.priority,
    priorityScore: pending && rank ? Math.round(rank.priority * 10) / 10 : null,
    priorityFactors: pending && rank ? roundFactors(rank.factors) : null,
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
    submittedAt: isoAt(job.submittedAt),
    startedAt: iso(job.startedAt),
    endedAt: iso(job.endedAt),
    // A job an engine holds (Slurm PENDING) is STARTING here, with the engine's reason.
    waitReason: pending || job.state === 'STARTING' ? (wait?.reason ?? null) : null,
    onBorrowedGpus: job.state === 'RUNNING' ? borrowing : null,
    estimatedStartAt: pending ? iso(wait?.estimatedStartAt ?? null) : null,
    queuePosition: pending ? (wait?.position ?? null) : null,
  };
}

export function jobDetailView(
  job: JobRow,
  attempts: readonly AttemptRow[],
  events: readonly EventRow[],
  wait: WaitInfo | undefined,
  rank?: JobPriority,
): JobDetailView {
  const current = attempts.find((a) => a.attempt === job.attempt);
  return {
    ...jobView(job, current, wait, rank),
    spec: maskSecrets(job.spec) as unknown as Record<string, unknown>,
    events: events.map((e) => ({ at: isoAt(e.at), from: e.fromState, to: e.toState, reason: e.reason })),
    attempts: attempts.map((a) => ({
      attempt: a.attempt,
      backend: a.backend,
      node: a.node,
      gpus: a.gpus,
      startedAt: isoAt(a.startedAt),
      endedAt: iso(a.endedAt),
      exitCode: a.exitCode,
      signal: a.signal,
      endReason: a.endReason,
      image: attemptImage(a.handle),
      logPath: a.logPath,
    })),
  };
}

/** The image a local container attempt recorded in its handle (backends/local/backend.ts), or null. */
function attemptImage(handle: Record<string, unknown>): { ref: string; digest: string } | null {
  const image = handle.image as { ref?: unknown; digest?: unknown } | undefined;
  return image && typeof image.ref === 'string' && typeof image.digest === 'string' ? { ref: image.ref, digest: image.digest } : null;
}

/**
 * A job's detail for a caller who may not see its private parts (access.ts, rule
 * job.details.owner-or-project-admin): the queue's view of it and its attempts; no events, and in
 * place of the spec (envs, run, setup...) a marker naming the rule.
 */
export function redactedJobDetailView(job: JobRow, attempts: readonly AttemptRow[], wait: WaitInfo | undefined, rule: string, rank?: JobPriority): JobDetailView {
  const view = jobDetailView(job, attempts, [], wait, rank);
  const message = `only the job's owner, admins of its project and admins see its spec and events (rule ${rule})`;
  return { ...view, spec: { redacted: true, rule, message }, events: [], attempts: view.attempts.map((a) => ({ ...a, image: null, logPath: null })) };
}
