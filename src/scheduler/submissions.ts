// Accepting and cancelling jobs. A submission is parsed, admitted against the configured backends
// (refused at once with the field and reason when nothing can ever run it), then written to the
// store before it is acknowledged, so an acknowledged job survives a crash. Cancellation of a
// pending job is immediate; a running one is asked to stop and the scheduler finishes the job.

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { admit, type AdmissionVerdict, type BackendOffer } from '../core/admission.js';
import type { Clock } from '../core/clock.js';
import { StintError } from '../core/errors.js';
import { isTerminal, type JobState } from '../core/job-state.js';
import { parseTaskFile } from '../core/spec/parse.js';
import type { TaskSpec } from '../core/spec/types.js';
import type { Backend } from '../backends/backend.js';
import type { SubmitRequest } from '../api/schemas.js';
import type { JobRow, Store } from '../store/types.js';
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
}

export interface SubmitResult {
  job: JobRow | null;
  verdict: AdmissionVerdict;
  specs: TaskSpec[];
}

export async function submitTask(deps: SubmissionDeps, request: SubmitRequest, owner: string): Promise<SubmitResult> {
  const file = parseTaskFile(request.task, {
    fileName: request.fileName,
    envOverrides: request.env,
    secretOverrides: request.secrets,
  });
  await deps.checkRunAs(owner);
  const verdict = admit(file, await offers(deps.backends));
  const specs = file.tasks;
  if (request.dryRun) return { job: null, verdict, specs };
  if (!verdict.ok) {
    throw new StintError(verdict.refusal ?? 'UNSUPPORTED_FEATURE', verdict.summary, { problems: verdict.problems });
  }
  const spec = specs[0]!;
  await checkQueueCaps(deps, owner, spec.project);
  const workdirArchive = locateUpload(deps.uploadsDir, spec, request.workdirUpload);
  const { secrets, ...rest } = spec;
  const job = await deps.store.submitJob({
    name: spec.name,
    owner,
    project: spec.project,
    priority: spec.priority,
    spec: { ...rest, secrets: Object.fromEntries(Object.keys(secrets).map((k) => [k, ''])) },
    choices: verdict.feasibleChoices,
    secrets,
    backend: verdict.backend,
    workdirArchive,
    submittedAt: deps.clock.now(),
  });
  deps.enqueued(job);
  return { job, verdict, specs };
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
