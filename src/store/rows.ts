// Conversions from stored rows (snake_case columns, JSON as text) to the store's row types, shared
// by the SQLite and PostgreSQL adapters: both hand Kysely the same column values (numbers for
// integers, BIGINT included; JSON text parsed here), so one mapping serves both. A job's secrets
// are opened through the store's SecretBox (secret-box.ts) on first read.

import type { Selectable } from 'kysely';
import type { EndReason, JobState } from '../core/job-state.js';
import type { AttemptRow, EventRow, JobRow } from './types.js';
import type { AttemptsTable, EventsTable, JobsTable } from './schema.js';
import { PLAIN_SECRETS, type SecretBox } from './secret-box.js';

/**
 * `secrets` is opened (unsealed) only when read: listing the queue never decrypts anything, and
 * a job whose secrets cannot be opened fails where they are needed, not in every list.
 */
export function toJobRow(r: Selectable<JobsTable>, box: SecretBox = PLAIN_SECRETS): JobRow {
  let secrets: Record<string, string> | undefined;
  const row: JobRow = {
    id: r.id,
    name: r.name,
    owner: r.owner,
    ownerId: r.owner_id,
    project: r.project,
    priority: r.priority,
    state: r.state as JobState,
    reason: r.reason,
    spec: JSON.parse(r.spec),
    choices: JSON.parse(r.choices),
    secrets: {},
    backend: r.backend,
    workdirArchive: r.workdir_archive,
    attempt: r.attempt,
    exitCode: r.exit_code,
    signal: r.signal,
    submittedAt: r.submitted_at,
    startedAt: r.started_at,
    endedAt: r.ended_at,
    cancelRequestedAt: r.cancel_requested_at,
    preemptRequestedAt: r.preempt_requested_at,
    preemptReason: r.preempt_reason,
    notBefore: r.not_before ?? null,
    cancelReason: r.cancel_reason ?? null,
  };
  Object.defineProperty(row, 'secrets', {
    enumerable: true,
    get: () => (secrets ??= JSON.parse(box.open(r.secrets, r.id)) as Record<string, string>),
  });
  return row;
}

export function toAttemptRow(r: Selectable<AttemptsTable>): AttemptRow {
  return {
    jobId: r.job_id,
    attempt: r.attempt,
    backend: r.backend,
    node: r.node,
    gpus: JSON.parse(r.gpus),
    cpus: r.cpus,
    memoryGb: r.memory_gb,
    handle: JSON.parse(r.handle),
    logPath: r.log_path,
    startedAt: r.started_at,
    endedAt: r.ended_at,
    exitCode: r.exit_code,
    signal: r.signal,
    endReason: r.end_reason as EndReason | null,
  };
}

export function toEventRow(r: Selectable<EventsTable>): EventRow {
  return {
    id: r.id,
    jobId: r.job_id,
    at: r.at,
    fromState: r.from_state as JobState | null,
    toState: r.to_state as JobState,
    reason: r.reason,
  };
}
