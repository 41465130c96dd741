// Kysely table types shared by the store adapters: the columns exactly as migrations create them,
// as each adapter returns them (integers and BIGINTs as JS numbers, JSON as text).

import type { Generated } from 'kysely';

export interface JobsTable {
  id: Generated<number>;
  name: string | null;
  owner: string;
  project: string | null;
  priority: number;
  state: string;
  reason: string | null;
  spec: string;
  choices: string;
  secrets: string;
  backend: string | null;
  workdir_archive: string | null;
  attempt: Generated<number>;
  exit_code: number | null;
  signal: string | null;
  submitted_at: number;
  started_at: number | null;
  ended_at: number | null;
  cancel_requested_at: number | null;
  preempt_requested_at: number | null;
  preempt_reason: string | null;
  /** Migration 006: a retried job waits until then (backoff); why stint cancelled it itself. */
  not_before: Generated<number | null>;
  cancel_reason: Generated<string | null>;
  /** Migration 007: the owner's user id (null only for a job whose owner had no user row). */
  owner_id: number | null;
}

export interface AttemptsTable {
  job_id: number;
  attempt: number;
  backend: string;
  node: string | null;
  gpus: string;
  cpus: number;
  memory_gb: number;
  handle: string;
  log_path: string | null;
  started_at: number;
  ended_at: number | null;
  exit_code: number | null;
  signal: string | null;
  end_reason: string | null;
}

export interface EventsTable {
  id: Generated<number>;
  job_id: number;
  at: number;
  from_state: string | null;
  to_state: string;
  reason: string;
}

export interface GpuHoldsTable {
  backend: string;
  node: string;
  gpu_index: number;
  job_id: number;
}

export interface MetaTable {
  key: string;
  value: string;
}

export interface SchemaMigrationsTable {
  version: number;
  name: string;
  applied_at: number;
}

export interface UsersTable {
  id: Generated<number>;
  name: string;
  role: string;
  created_at: number;
  removed_at: number | null;
  unix_user: string | null;
}

export interface TokensTable {
  id: Generated<number>;
  user_id: number;
  /** SHA-256 hex of the token; the token itself is never stored. */
  hash: string;
  label: string | null;
  created_at: number;
  revoked_at: number | null;
  last_used_at: number | null;
}

export interface ProjectsTable {
  name: string;
  created_at: number;
}

export interface ProjectMembersTable {
  project: string;
  user_id: number;
  role: string;
}

export interface AuditTable {
  id: Generated<number>;
  at: number;
  actor: string;
  action: string;
  target: string;
  details: string;
}

export interface ProjectQuotasTable {
  project: string;
  guaranteed: string;
  max_gpus: number | null;
  max_queued: number | null;
}

export interface UserCapsTable {
  user_name: string;
  max_gpus: number | null;
  max_queued: number | null;
}

export interface GpuDrainsTable {
  backend: string;
  node: string;
  /** -1: the whole node. */
  gpu_index: number;
  reason: string;
  source: string;
  at: number;
}

export interface HealthEventsTable {
  id: Generated<number>;
  at: number;
  backend: string;
  node: string;
  gpu_index: number | null;
  kind: string;
  detail: string;
}

export interface JobTelemetryTable {
  job_id: number;
  attempt: number;
  updated_at: number;
  series: string;
  gpu_seconds: number;
  idle_gpu_seconds: number;
}

export interface IdlePoliciesTable {
  project: string;
  threshold_percent: number;
  warn_after_seconds: number;
  stop_after_seconds: number | null;
  applies_to: string;
}

export interface WebhooksTable {
  user_name: string;
  url: string;
  format: string;
}

/** Migration 008: a submission's idempotency key, written with its job. */
export interface IdempotencyKeysTable {
  user_id: number;
  key: string;
  request_hash: string;
  job_id: number;
  created_at: number;
}

/** Migration 009: a web session, kept only as the SHA-256 hex of its id. */
export interface SessionsTable {
  hash: string;
  user_id: number;
  token_id: number;
  created_at: number;
  last_seen_at: number;
  expires_at: number;
}

/** Migration 010: a job's exported environment, sealed like jobs.secrets (one row per job that has one). */
export interface JobExportedEnvTable {
  job_id: number;
  env: string;
}

/** Migration 011: an imported container image: its stint name, owner and podman image. */
export interface ImagesTable {
  name: string;
  owner: string;
  owner_id: number | null;
  image_id: string;
  digest: string;
  size_bytes: number;
  source: string;
  created_at: number;
}

export interface Database {
  images: ImagesTable;
  job_exported_env: JobExportedEnvTable;
  idempotency_keys: IdempotencyKeysTable;
  sessions: SessionsTable;
  gpu_drains: GpuDrainsTable;
  health_events: HealthEventsTable;
  job_telemetry: JobTelemetryTable;
  idle_policies: IdlePoliciesTable;
  webhooks: WebhooksTable;
  jobs: JobsTable;
  project_quotas: ProjectQuotasTable;
  user_caps: UserCapsTable;
  attempts: AttemptsTable;
  events: EventsTable;
  gpu_holds: GpuHoldsTable;
  meta: MetaTable;
  users: UsersTable;
  tokens: TokensTable;
  projects: ProjectsTable;
  project_members: ProjectMembersTable;
  audit: AuditTable;
  schema_migrations: SchemaMigrationsTable;
}
