// Accepting and cancelling jobs. A submission is parsed, its project checked (an existing project
// the submitter belongs to; admins any; none is the default project, open to all), admitted
// against the configured backends (refused at once with the field and reason when nothing can ever
// run it), then written to the store before it is acknowledged, so an acknowledged job survives a
// crash. With an idempotency key, the key is written with the job, and a retry with the same key
// and body answers with that job instead of making a second (the same key, another body: refused). Cancellation of a
// pending job is immediate; a running one is asked to stop and the scheduler finishes the job.
// The submitter's exported environment (--export-env) is checked by the same rules the CLI applies
// (core/spec/exported-env.ts) and stored with the job, sealed; the spec keeps only its count.

import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { admit, type AdmissionVerdict, type BackendOffer } from '../core/admission.js';
import type { Clock } from '../core/clock.js';
import { StintError } from '../core/errors.js';
import { isTerminal, type JobState } from '../core/job-state.js';
import { checkExportedEnv } from '../core/spec/exported-env.js';
import { parseTaskFile, type ParseOptions } from '../core/spec/parse.js';
import type { TaskFile, TaskSpec } from '../core/spec/types.js';
import type { Backend } from '../backends/backend.js';
import type { SubmitRequest } from '../api/schemas.js';
import type { JobRow, NewJob, Store } from '../store/types.js';
import type { JobTransitions } from './transitions.js';
import { mayQueue } from '../core/quota/borrowing.js';
import type { QuotaConfig } from '../core/quota/types.js';
import { DEFAULT_PROJECT } from '../core/fairshare/index.js';

export interface SubmissionDeps {
  store: Store;
  backends: readonly Backend[];
  clock: Clock;
  transitions: JobTransitions;
  /** Where uploaded workdir archives are kept. */
  uploadsDir: string;
  /** Wakes the scheduler after a change. */
  wake: () => void;
  /** Hands an accepted job to the scheduler. */
  enqueued: (job: JobRow) => void;
  /** Quotas and caps as the scheduler holds them (cached; null when none is set). */
  quotas: () => Promise<QuotaConfig | null>;
  /** Refuses an owner whose jobs may not run here (a root server, no Unix account mapped). */
  checkRunAs: (owner: string) => Promise<unknown>;
  /** Refuses a task whose image_id names an image that is not imported, local or pullable (400, field resources.image_id). */
  checkImages?: (specs: readonly TaskSpec[], submitter: Submitter, backend: string | null) => Promise<void>;
  /**
   * Parses the task text for the submitter with that user id (the server's runs in a worker, in turn
   * per submitter: server/task-parsing). parseTaskFile when absent.
   */
  parseTask?: (text: string, opts: ParseOptions, submitterId: number) => Promise<TaskFile>;
}

/** Who submits: the caller's id, name, role and project roles (as authentication found them). */
export interface Submitter {
  id: number;
  name: string;
  role: 'admin' | 'member' | 'viewer';
  projects: Readonly<Record<string, 'admin' | 'member'>>;
}

export interface SubmitOptions {
  /** The Idempotency-Key header, already checked for shape (idempotency.ts). */
  idempotencyKey?: string;
}

export interface SubmitResult {
  job: JobRow | null;
  verdict: AdmissionVerdict;
  specs: TaskSpec[];
  /** The job came from an earlier submission with the same idempotency key. */
  replayed: boolean;
}

export async function submitTask(deps: SubmissionDeps, request: SubmitRequest, submitter: Submitter, options: SubmitOptions = {}): Promise<SubmitResult> {
  const key = request.dryRun ? undefined : options.idempotencyKey;
  const requestHash = key === undefined ? '' : submissionHash(request);
  if (key !== undefined) {
    const earlier = await replay(deps, submitter, key, requestHash);
    if (earlier) return earlier;
  }
  if (request.exportedEnv !== undefined) checkExportedEnv(request.exportedEnv);
  const parse = deps.parseTask ?? (async (text: string, opts: ParseOptions) => parseTaskFile(text, opts));
  const file = await parse(request.task, {
    fileName: request.fileName,
    envOverrides: request.env,
    secretOverrides: request.secrets,
  }, submitter.id);
  for (const task of file.tasks) await checkProject(deps, submitter, task.project);
  await deps.checkRunAs(submitter.name);
  const verdict = admit(file, await offers(deps.backends));
  const specs = file.tasks;
  if (request.dryRun) return { job: null, verdict, specs, replayed: false };
  if (!verdict.ok) {
    throw new StintError(verdict.refusal ?? 'UNSUPPORTED_FEATURE', verdict.summary, { problems: verdict.problems });
  }
  await deps.checkImages?.(specs, submitter, verdict.backend);
  const spec = specs[0]!;
  requireExportedEnv(spec, request);
  await checkQueueCaps(deps, submitter.name, spec.project);
  const workdirArchive = locateUpload(deps.uploadsDir, spec, request.workdirUpload);
  const now = deps.clock.now();
  const idempotency = key === undefined ? undefined : { userId: submitter.id, key, requestHash, expiredBefore: now - IDEMPOTENCY_KEY_TTL_MS };
  let job: JobRow;
  try {
    job = await deps.store.submitJob({ ...newJob(spec, submitter, verdict, workdirArchive, now, request.exportedEnv), idempotency });
  } catch (error) {
    // The same key committed by a concurrent submission a moment ago: answer with its job.
    const raced = key !== undefined && error instanceof StintError && error.details.idempotencyKey === key ? await replay(deps, submitter, key, requestHash) : null;
    if (raced) return raced;
    throw error;
  }
  deps.enqueued(job);
  return { job, verdict, specs, replayed: false };
}

/** A task that says `export_env: true` cannot run without the environment it asks for. */
function requireExportedEnv(spec: TaskSpec, request: SubmitRequest): void {
  if (!spec.exportEnv || request.exportedEnv !== undefined) return;
  throw new StintError('INVALID_REQUEST', "exportedEnv: the task says export_env: true but the submission carries no environment; launch it with the stint CLI (which sends its own), or pass exportedEnv with the variables the job needs", {
    field: 'exportedEnv', accepted: 'a map of variable names to values',
  });
}

/**
 * The job row to store: the spec keeps secret names only (the values go in `secrets`) and the
 * exported environment's count only (its values go sealed beside the job).
 */
function newJob(spec: TaskSpec, submitter: Submitter, verdict: AdmissionVerdict, workdirArchive: string | null, now: number, exportedEnv: Record<string, string> = {}): NewJob {
  const { secrets, ...rest } = spec;
  const exported = Object.keys(exportedEnv).length;
  return {
    name: spec.name,
    owner: submitter.name,
    ownerId: submitter.id,
    project: spec.project,
    priority: spec.priority,
    spec: { ...rest, secrets: Object.fromEntries(Object.keys(secrets).map((k) => [k, ''])), ...(exported > 0 && { exportedEnvCount: exported }) },
    choices: verdict.feasibleChoices,
    secrets,
    exportedEnv,
    backend: verdict.backend,
    workdirArchive,
    submittedAt: now,
  };
}

/** How long an idempotency key answers with its job; older keys are ignored, then deleted. */
export const IDEMPOTENCY_KEY_TTL_MS = 24 * 60 * 60 * 1000;

/** The earlier job of this key, or IDEMPOTENCY_KEY_REUSED when the key came with another body. */
async function replay(deps: SubmissionDeps, submitter: Submitter, key: string, requestHash: string): Promise<SubmitResult | null> {
  const found = await deps.store.findIdempotentJob(submitter.id, key, deps.clock.now() - IDEMPOTENCY_KEY_TTL_MS);
  if (!found) return null;
  if (found.requestHash !== requestHash) {
    throw new StintError('IDEMPOTENCY_KEY_REUSED', `Idempotency-Key ${key} was already used for another submission (job ${found.jobId}) with a different body; send a new key for a new submission`, { field: 'Idempotency-Key', value: key, job: found.jobId });
  }
  const job = await deps.store.getJob(found.jobId);
  if (!job) return null;
  const verdict: AdmissionVerdict = { ok: true, backend: job.backend, feasibleChoices: job.choices, feasibleByTask: [job.choices], problems: [], refusal: null, summary: `already submitted as job ${job.id} (Idempotency-Key ${key})` };
  return { job, verdict, specs: [job.spec], replayed: true };
}

/**
 * SHA-256 of the submission's fields in a fixed order (object keys sorted), as hex. Secret and
 * exported values are left out (their names are in): the hash is stored, and must not let anyone test guesses of a
 * secret against it. A retry differs from its first try in no field, so nothing is lost.
 */
function submissionHash(request: SubmitRequest): string {
  const sorted = (record: Record<string, string> | undefined) => (record === undefined ? null : Object.entries(record).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  const secretNames = request.secrets === undefined ? null : Object.keys(request.secrets).sort();
  // The exported environment counts by its names only (its values may hold credentials), and only
  // when sent, so a key recorded before it existed still matches its retry.
  const exportedNames = request.exportedEnv === undefined ? [] : [Object.keys(request.exportedEnv).sort()];
  const canonical = [request.task, request.fileName ?? null, sorted(request.env), secretNames, request.workdirUpload ?? null, ...exportedNames];
  return createHash('sha256').update(JSON.stringify(canonical)).digest('hex');
}

/**
 * `project:` must name an existing project (else a did-you-mean) that the submitter belongs to;
 * admins may use any existing project. No project (the default project) is open to everyone.
 */
async function checkProject(deps: SubmissionDeps, submitter: Submitter, project: string | null): Promise<void> {
  if (project === null || submitter.projects[project] !== undefined) return;
  const known = (await deps.store.users.listProjects()).map((p) => p.name);
  if (!known.includes(project)) {
    const close = closestNames(project, known);
    const hint = close.length > 0 ? `did you mean ${close.join(' or ')}? ` : '';
    const shown = project.length > 80 ? `${project.slice(0, 77)}...` : project;
    throw new StintError('INVALID_SPEC', `project: "${shown}" is not a project of this server; ${hint}projects are added by admins (stint admin project add NAME); leave project out to use the default project`, {
      field: 'project', value: shown, suggestions: close, accepted: mayUse(submitter, known),
    });
  }
  if (submitter.role === 'admin') return;
  throw new StintError('FORBIDDEN', `project: ${submitter.name} is not a member of project ${project}; a member submits only to its own projects (${mayUse(submitter, known).join(', ') || 'none'}) or with no project; ask an admin of ${project} to add you (rule ${PROJECT_RULE})`, {
    field: 'project', value: project, rule: PROJECT_RULE, caller: submitter.name, accepted: mayUse(submitter, known),
  });
}

const PROJECT_RULE = 'submit.project-member';

function mayUse(submitter: Submitter, known: readonly string[]): string[] {
  return submitter.role === 'admin' ? [...known] : Object.keys(submitter.projects).sort();
}

/**
 * Up to three known names closest to `name` by edit distance (at most a third of its length, or
 * 2). Project names are at most 64 characters, so a longer value is compared with none (the cost
 * is its length times a name's, and a task file may hold a long string).
 */
function closestNames(name: string, known: readonly string[]): string[] {
  if (name.length > 96) return [];
  const limit = Math.max(2, Math.floor(name.length / 3));
  return known
    .filter((k) => Math.abs(k.length - name.length) <= limit)
    .map((k) => ({ k, d: editDistance(name.toLowerCase(), k.toLowerCase()) }))
    .filter((c) => c.d <= limit)
    .sort((a, b) => a.d - b.d || (a.k < b.k ? -1 : 1))
    .slice(0, 3)
    .map((c) => c.k);
}

/** Damerau-Levenshtein (optimal string alignment): a swapped pair of letters costs 1. */
function editDistance(a: string, b: string): number {
  const rows = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) rows[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(rows[i - 1]![j]! + 1, rows[i]![j - 1]! + 1, rows[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, rows[i - 2]![j - 2]! + 1);
      rows[i]![j] = best;
    }
  }
  return rows[a.length]![b.length]!;
}

/** A project's or user's `maxQueued` (set-quota / set-caps --max-queued) refuses one job too many. */
async function checkQueueCaps(deps: SubmissionDeps, owner: string, project: string | null): Promise<void> {
  const config = await deps.quotas();
  if (config === null) return;
  const name = project ?? DEFAULT_PROJECT;
  const capped = config.projects.some((q) => q.project === name && q.maxQueued !== undefined) || config.users.some((u) => u.user === owner && u.maxQueued !== undefined);
  if (!capped) return;
  const queued = (await deps.store.listJobs({ states: ['PENDING'] })).map((j) => ({ user: j.owner, project: j.project ?? DEFAULT_PROJECT }));
  const verdict = mayQueue({ user: owner, project: name }, queued, config);
  if (!verdict.allowed) throw new StintError('QUOTA_EXCEEDED', `${verdict.reason}; wait for some to start or cancel some`, { code: verdict.code, project: name });
}

async function offers(backends: readonly Backend[]): Promise<BackendOffer[]> {
  return Promise.all(
    backends.map(async (b) => ({ name: b.name, kind: b.kind, unsupported: b.unsupported, inventory: await b.inventory() })),
  );
}

function locateUpload(uploadsDir: string, spec: TaskSpec, upload: string | undefined): string | null {
  if (upload === undefined) {
    if (spec.workdir !== null) {
      throw new StintError('INVALID_REQUEST', `the task sets workdir (${spec.workdir}) but no workdir snapshot was uploaded; submit with the stint CLI, or POST the archive to /api/v1/uploads and pass its id as workdirUpload`, { field: 'workdirUpload' });
    }
    return null;
  }
  const path = join(uploadsDir, `${upload}.tar.gz`);
  if (!existsSync(path)) {
    throw new StintError('INVALID_REQUEST', `workdirUpload ${upload} is not a known upload; POST the archive to /api/v1/uploads first`, { field: 'workdirUpload', value: upload });
  }
  return path;
}

export interface CancelOutcome {
  id: number;
  state: JobState;
  message: string;
}

export async function cancelJob(deps: SubmissionDeps, id: number): Promise<CancelOutcome> {
  const job = await deps.store.getJob(id);
  if (!job) throw new StintError('NOT_FOUND', `job ${id} does not exist`, { id });
  if (isTerminal(job.state)) return { id, state: job.state, message: `job ${id} already ended (${job.state})` };
  if (job.state === 'PENDING') {
    const done = await deps.transitions.apply({ jobId: id, from: 'PENDING', to: 'CANCELLED', reason: 'cancelled while pending', set: { endedAt: deps.clock.now() } });
    if (done) return { id, state: 'CANCELLED', message: `job ${id} cancelled` };
    return cancelJob(deps, id);
  }
  await deps.store.requestCancel(id, deps.clock.now());
  deps.wake();
  return { id, state: job.state, message: `job ${id} is stopping (SIGTERM now, SIGKILL after the grace period)` };
}
