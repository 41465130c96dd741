// The store port: everything the server persists, behind one interface so SQLite (embedded) and
// PostgreSQL (shared server) adapters are interchangeable. Rows are plain data; times are epoch
// milliseconds. Invariants the adapters enforce: a state change and its event are written in one
// transaction; a GPU is held by at most one job (primary key on the hold).

import type { JobState, EndReason } from '../core/job-state.js';
import type { AttemptRecord } from '../core/accounting.js';
import type { ProjectQuota, UserCaps } from '../core/quota/types.js';
import type { TaskSpec } from '../core/spec/types.js';
import type { UserStore } from './users.js';
import type { ObservabilityStore } from './observability.js';
import type { ImageStore } from './images.js';

export interface JobRow {
  id: number;
  name: string | null;
  /** The owner's name when the job was submitted (views, fair share and usage go by name). */
  owner: string;
  /** The owner's user id: what access checks compare (a reused name is another id). */
  ownerId: number | null;
  project: string | null;
  priority: number;
  state: JobState;
  reason: string | null;
  /** The normalised spec with secret values removed (secrets live in `secrets`). */
  spec: TaskSpec;
  /** Indices into spec.resources that admission found the backend can honour; only these are placed. */
  choices: number[];
  secrets: Record<string, string>;
  backend: string | null;
  /** Path of the uploaded workdir archive, if any. */
  workdirArchive: string | null;
  attempt: number;
  exitCode: number | null;
  signal: string | null;
  submittedAt: number;
  startedAt: number | null;
  endedAt: number | null;
  cancelRequestedAt: number | null;
  /** Set while stint asks the job to stop for another job (preemption); cleared when it requeues. */
  preemptRequestedAt: number | null;
  preemptReason: string | null;
  /** A job retried with backoff is not placed before this time (epoch ms); null: at once. */
  notBefore?: number | null;
  /** Why stint itself asked the job to stop (an idle job's policy), shown as its end reason. */
  cancelReason?: string | null;
}

export interface AttemptRow {
  jobId: number;
  attempt: number;
  backend: string;
  node: string | null;
  gpus: number[];
  /** CPUs and memory set aside for the attempt (what the task asked for). */
  cpus: number;
  memoryGb: number;
  /** Backend-specific handle (e.g. pid and process group), opaque to everyone else. */
  handle: Record<string, unknown>;
  logPath: string | null;
  startedAt: number;
  endedAt: number | null;
  exitCode: number | null;
  signal: string | null;
  endReason: EndReason | null;
}

/** What an ended attempt consumed, for usage accounting. */
export interface EndedAttemptUsage {
  owner: string;
  project: string | null;
  gpus: number;
  cpus: number;
  memoryGb: number;
  startedAt: number;
  endedAt: number;
}

export interface EventRow {
  id: number;
  jobId: number;
  at: number;
  fromState: JobState | null;
  toState: JobState;
  reason: string;
}

export interface GpuHold {
  backend: string;
  node: string;
  gpuIndex: number;
  jobId: number;
}

export interface NewJob {
  name: string | null;
  owner: string;
  /** The owner's user id (null: none, as in store tests with no users). */
  ownerId?: number | null;
  project: string | null;
  priority: number;
  spec: TaskSpec;
  choices: number[];
  secrets: Record<string, string>;
  backend: string | null;
  workdirArchive: string | null;
  submittedAt: number;
  /** The submitter's environment (--export-env): written sealed with the job, read by getExportedEnv. */
  exportedEnv?: Record<string, string>;
  /** Written with the job in its transaction; a second job with the same user and key is CONFLICT. */
  idempotency?: IdempotencyRecord;
}

/** A submission's Idempotency-Key, unique per user id. */
export interface IdempotencyRecord {
  userId: number;
  key: string;
  /** SHA-256 hex of the submission's canonical body. */
  requestHash: string;
  /** Keys (of every user) recorded before this time have expired and are deleted in the same transaction. */
  expiredBefore: number;
}

export interface JobFilter {
  states?: readonly JobState[];
  limit?: number;
  /** Only jobs with id below this (paging backwards from the newest). */
  beforeId?: number;
  owner?: string;
  project?: string;
  backend?: string;
  /** Only jobs submitted at or after this time (epoch ms). */
  submittedSince?: number;
  /** Case-insensitive substring of the job's name. */
  nameContains?: string;
  /** Order of the list (default: id, newest first); ties are broken by id. */
  sort?: { key: JobSortKey; dir: 'asc' | 'desc' };
  /** Rows to skip (page offset), applied after sorting. */
  offset?: number;
}

export type JobSortKey = 'id' | 'name' | 'owner' | 'project' | 'state' | 'submittedAt';

/** One state change, applied atomically: the job row, its event, attempt and GPU holds. */
export interface Transition {
  jobId: number;
  from: JobState;
  to: JobState;
  reason: string;
  at: number;
  /** Fields of the job row to set with the change. */
  set?: Partial<Pick<JobRow, 'backend' | 'attempt' | 'exitCode' | 'signal' | 'startedAt' | 'endedAt' | 'reason' | 'preemptRequestedAt' | 'notBefore'>>;
  /** A new attempt to record (entering STARTING). */
  newAttempt?: Omit<AttemptRow, 'endedAt' | 'exitCode' | 'signal' | 'endReason'>;
  /** GPUs to take for the job (entering STARTING); the change fails with CONFLICT if any is held. */
  hold?: Array<{ backend: string; node: string; gpuIndex: number }>;
  /** Records how the backend knows the attempt (entering RUNNING). */
  attemptHandle?: { attempt: number; handle: Record<string, unknown>; logPath: string | null };
  /** Ends the job's current attempt with this outcome and releases its GPUs. */
  endAttempt?: { attempt: number; exitCode: number | null; signal: string | null; endReason: EndReason };
}

export interface Store {
  /** Users, tokens, projects and the audit log (users.ts), on the same database. */
  readonly users: UserStore;
  /** Drains, health events, GPU telemetry, idle policies, webhooks, job counts (observability.ts). */
  readonly observability: ObservabilityStore;
  /** Imported container images: names, owners, podman image ids (images.ts). */
  readonly images: ImageStore;
  /** CONFLICT (details.idempotencyKey) when `job.idempotency` names a key its user already used. */
  submitJob(job: NewJob): Promise<JobRow>;
  /** The job a user's idempotency key made, if the key was recorded at or after `sinceMs` (older ones expired). */
  findIdempotentJob(userId: number, key: string, sinceMs: number): Promise<{ jobId: number; requestHash: string } | null>;
  getJob(id: number): Promise<JobRow | null>;
  /** The exported environment a job was submitted with, opened from its sealed form; {} when none. */
  getExportedEnv(jobId: number): Promise<Record<string, string>>;
  listJobs(filter?: JobFilter): Promise<JobRow[]>;
  /** How many jobs match the filter's conditions (its limit, offset and sort are ignored). */
  countJobs(filter?: JobFilter): Promise<number>;
  /** Applies a transition if the job is still in `from`; returns false (and writes nothing) if not. */
  transition(change: Transition): Promise<boolean>;
  updateAttemptHandle(jobId: number, attempt: number, handle: Record<string, unknown>, logPath: string | null): Promise<void>;
  /** `reason`: set when stint itself stops the job (an idle policy); shown as its end reason. */
  requestCancel(jobId: number, at: number, reason?: string): Promise<void>;
  /** Asks a running job to stop for another; false if it is not running or already asked. */
  requestPreemption(jobId: number, at: number, reason: string): Promise<boolean>;
  listProjectQuotas(): Promise<ProjectQuota[]>;
  setProjectQuota(quota: ProjectQuota): Promise<void>;
  listUserCaps(): Promise<UserCaps[]>;
  setUserCaps(caps: UserCaps): Promise<void>;
  listAttempts(jobId: number): Promise<AttemptRow[]>;
  /** The current (latest) attempt of each of these jobs, where one exists. */
  listCurrentAttempts(jobIds: readonly number[]): Promise<AttemptRow[]>;
  /** Attempts not yet ended, across all jobs: what the scheduler must poll. */
  listOpenAttempts(): Promise<AttemptRow[]>;
  /** Attempts running now or ended at or after `sinceMs`, with their job's owner, project and submission time. */
  listAttemptRecordsSince(sinceMs: number): Promise<AttemptRecord[]>;
  /** Attempts that ended at or after `sinceMs`, with their job's owner and project (fair-share usage). */
  listEndedAttemptsSince(sinceMs: number): Promise<EndedAttemptUsage[]>;
  getAttempt(jobId: number, attempt: number): Promise<AttemptRow | null>;
  listEvents(jobId: number): Promise<EventRow[]>;
  listHolds(): Promise<GpuHold[]>;
  getMeta(key: string): Promise<string | null>;
  setMeta(key: string, value: string): Promise<void>;
  close(): Promise<void>;
}
