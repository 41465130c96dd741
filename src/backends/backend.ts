// The backend port: where attempts run. A backend describes what it offers, launches an attempt,
// reports the status of many attempts in one call, signals them and serves their logs. It also
// lists the task features it cannot honour, each with a reason a user can read, so admission
// refuses a job at submit instead of failing it late. Backends never change job state: they
// report, and the scheduler decides.

import type { EndReason } from '../core/job-state.js';
import type { Inventory } from '../core/inventory.js';
import type { Feature, TaskSpec } from '../core/spec/types.js';


export interface AttemptRef {
  jobId: number;
  attempt: number;
  handle: Record<string, unknown>;
}

/** A Unix account an attempt runs as. */
export interface RunAs {
  user: string;
  uid: number;
  gid: number;
  home: string;
  /** The account's login shell (passwd field 7); absent when unknown. */
  shell?: string;
}

export interface LaunchRequest {
  jobId: number;
  attempt: number;
  name: string | null;
  spec: TaskSpec;
  secrets: Record<string, string>;
  /** Where stint's policy placed it (backends that let stint place); null when the engine places. */
  node: string | null;
  gpus: number[];
  workdirArchive: string | null;
  /** Extra environment the scheduler gives every attempt (STINT_ATTEMPT, ...). */
  env: Record<string, string>;
  /** The Unix account to run as (a root server); absent or null: the server's own user. */
  runAs?: RunAs | null;
  /** The job's owner in stint (id and name): whose imported images a `docker:`/`stint:` image_id may use. */
  owner?: { id: number | null; name: string };
  /** The submitter's environment (--export-env): lowest of the job's variables, under the task's envs. */
  exportedEnv?: Record<string, string>;
}

export interface Launched {
  handle: Record<string, unknown>;
  logPath: string | null;
}

/**
 * What a backend knows of one attempt. `queued`: an engine that places work itself (Slurm) holds it
 * waiting, with the engine's reason ("Resources", "Priority", "QOSMaxGRESPerUser"). `restarts`:
 * how many times the engine itself requeued the attempt (Slurm's restart count after a node
 * failure or preemption); the scheduler turns each increase into a new attempt of the job.
 */
export type AttemptStatus =
  | { state: 'queued'; reason: string; restarts?: number }
  | { state: 'running'; nodes?: string[]; restarts?: number }
  | { state: 'ended'; exitCode: number | null; signal: string | null; reason: EndReason; detail: string; restarts?: number };

export type BackendIdentity = { perUser: true } | { perUser: false; why: string };

export interface LogChunk {
  /** Bytes from `offset`, as UTF-8 text (a multi-byte character may be split at the edges). */
  text: string;
  offset: number;
  nextOffset: number;
  size: number;
}

export interface Backend {
  readonly name: string;
  readonly kind: string;
  /** Features this backend cannot honour, with the reason shown to the user. */
  readonly unsupported: Readonly<Partial<Record<Feature, string>>>;
  /** true when stint's own policy chooses node and GPUs; false when the engine (Slurm) places. */
  readonly stintPlaces: boolean;
  /**
   * Whether each attempt runs under its owner's own Unix identity. When not (a non-root server, or
   * Slurm through one service account), every user's jobs share one account and can read each
   * other's files, so the server refuses a second user who may run jobs (see docs/security.md).
   */
  readonly identity: BackendIdentity;
  inventory(): Promise<Inventory>;
  launch(request: LaunchRequest): Promise<Launched>;
  /** Status of many attempts in one call; keyed by `attemptKey`. */
  poll(attempts: readonly AttemptRef[]): Promise<Map<string, AttemptStatus>>;
  /** Sends a signal to every process of the attempt; the outcome is observed by `poll`. */
  signal(attempt: AttemptRef, signal: 'SIGTERM' | 'SIGKILL'): Promise<void>;
  readLog(attempt: AttemptRef, offset: number, limit: number): Promise<LogChunk>;
  /** Registers a wake-up hint: called when an attempt may have changed. Polling stays the truth. */
  onActivity(listener: () => void): void;
  close(): Promise<void>;
}

export function attemptKey(ref: { jobId: number; attempt: number }): string {
  return `${ref.jobId}.${ref.attempt}`;
}
