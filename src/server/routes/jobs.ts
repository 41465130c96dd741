// Job routes: submit (or dry-run), list, show, cancel. Handlers are thin: they validate with the
// shared schemas, check the caller's rights (access.ts) and call the submission service and the
// store. Invariants: a job is owned by the user (id) who submitted it; a submission with an
// Idempotency-Key that was already used answers 200 with the first job (Idempotent-Replayed:
// true) instead of making a second; everyone sees the queue; a job's
// spec and events go only to callers with a grant (others get a redacted detail, not a 403);
// cancelling another user's job is recorded in the audit log.

import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { StintError } from '../../core/errors.js';
import { isTerminal, JOB_STATES, type JobState } from '../../core/job-state.js';
import {
  CancelResponseSchema,
  ErrorBodySchema,
  IdParamsSchema,
  JobDetailSchema,
  JobListQuerySchema,
  JobListSchema,
  SubmitRequestSchema,
  SubmitResponseSchema,
} from '../../api/schemas.js';
import { cancelJob, submitTask, type SubmissionDeps } from '../../scheduler/submissions.js';
import { assertCanCancel, assertCanSubmit, canSeeJobDetails, RULES } from '../access.js';
import { recordAudit } from '../audit.js';
import { callerOf } from '../auth.js';
import { readIdempotencyKey, REPLAYED_HEADER } from '../idempotency-key.js';
import type { JobFilter, JobRow } from '../../store/types.js';
import type { ServerResources } from '../resources.js';
import { jobDetailView, jobView, maskSecrets, redactedJobDetailView } from '../views.js';
import { TaskParser } from '../task-parsing/task-parser.js';
import { imageCheck } from '../../containers/image-check.js';

const errors = { 400: ErrorBodySchema, 403: ErrorBodySchema, 404: ErrorBodySchema, 422: ErrorBodySchema };

export function submissionDeps(res: ServerResources): SubmissionDeps {
  return {
    store: res.store,
    backends: res.backends,
    clock: res.clock,
    transitions: res.transitions,
    uploadsDir: res.uploadsDir,
    wake: () => res.scheduler.wake(),
    enqueued: (job) => res.scheduler.enqueued(job),
    checkRunAs: (owner) => res.runAs(owner),
    checkImages: res.images ? imageCheck(res, res.images.service) : undefined,
    quotas: () => res.scheduler.quotas.current(),
  };
}

/** Task files are parsed in a worker, off the event loop; one parser per app, stopped with it. */
function withTaskParser(app: FastifyInstance, deps: SubmissionDeps): SubmissionDeps {
  const parser = new TaskParser();
  app.addHook('onClose', async () => parser.close());
  return { ...deps, parseTask: (text, opts, submitterId) => parser.parse(text, opts, submitterId) };
}

export function registerJobRoutes(app: FastifyInstance, res: ServerResources): void {
  const api = app.withTypeProvider<ZodTypeProvider>();
  const deps = withTaskParser(app, submissionDeps(res));

  api.post('/api/v1/jobs', {
    schema: { summary: 'Submit a task file (or dry-run it). Optional Idempotency-Key header: a retry with the same key and body answers 200 with the first job (header Idempotent-Replayed: true); the same key with another body is 422 IDEMPOTENCY_KEY_REUSED; keys expire after 24 h', body: SubmitRequestSchema, response: { 200: SubmitResponseSchema, 201: SubmitResponseSchema, ...errors } },
  }, async (request, reply) => {
    const caller = callerOf(request);
    assertCanSubmit(caller);
    const idempotencyKey = readIdempotencyKey(request.headers);
    const result = await submitTask(deps, request.body, caller, { idempotencyKey });
    const job = result.job ? jobView(result.job, undefined, undefined) : null;
    if (result.replayed) void reply.header(REPLAYED_HEADER, 'true');
    void reply.status(job && !result.replayed ? 201 : 200);
    return {
      id: job?.id ?? null,
      job,
      verdict: { ok: result.verdict.ok, backend: result.verdict.backend, summary: result.verdict.summary, problems: result.verdict.problems },
      // The normalised spec is what a dry run is for; an accepted job's is at GET /api/v1/jobs/{id}.
      spec: request.body.dryRun ? result.specs.map((s) => maskSecrets(s) as unknown as Record<string, unknown>) : [],
    };
  });

  api.get('/api/v1/jobs', {
    schema: { summary: 'List jobs, newest first (active ones unless all=true)', querystring: JobListQuerySchema, response: { 200: JobListSchema, 400: ErrorBodySchema } },
  }, async (request) => {
    const q = request.query;
    const filter: JobFilter = {
      states: parseStates(q.state, q.all === 'true'),
      limit: q.limit ?? 1000,
      beforeId: q.before,
      owner: q.user,
      project: q.project,
      backend: q.backend,
      submittedSince: q.since === undefined ? undefined : parseSinceTime(q.since),
      nameContains: q.q,
      sort: q.sort || q.order ? { key: q.sort ?? 'id', dir: q.order ?? 'desc' } : undefined,
      offset: q.offset,
    };
    const [rows, total] = await Promise.all([res.store.listJobs(filter), q.offset === undefined ? undefined : res.store.countJobs(filter)]);
    const attempts = new Map((await res.store.listCurrentAttempts(rows.map((r) => r.id))).map((a) => [a.jobId, a]));
    const jobs = rows.map((r) => jobView(r, attempts.get(r.id), res.scheduler.waitInfo(r.id), res.scheduler.priorityOf(r.id), res.scheduler.quotas.isBorrowing(r.id)));
    return total === undefined ? { jobs } : { jobs, total };
  });

  api.get('/api/v1/jobs/:id', {
    schema: {
      summary: "One job with its spec, events and attempts (spec and events only for its owner, its project's admins and admins; others get spec {redacted, rule} and no events)",
      params: IdParamsSchema, response: { 200: JobDetailSchema, 404: ErrorBodySchema },
    },
  }, async (request) => {
    const job = await existingJob(res, request.params.id);
    const wait = res.scheduler.waitInfo(job.id);
    const rank = res.scheduler.priorityOf(job.id);
    if (!canSeeJobDetails(callerOf(request), job)) return redactedJobDetailView(job, await res.store.listAttempts(job.id), wait, RULES.jobDetails, rank);
    const [attempts, events] = await Promise.all([res.store.listAttempts(job.id), res.store.listEvents(job.id)]);
    return jobDetailView(job, attempts, events, wait, rank);
  });

  api.post('/api/v1/jobs/:id/cancel', {
    schema: { summary: 'Cancel a job: pending ones at once, running ones with SIGTERM then SIGKILL', params: IdParamsSchema, response: { 200: CancelResponseSchema, 403: ErrorBodySchema, 404: ErrorBodySchema } },
  }, async (request) => {
    const caller = callerOf(request);
    const job = await existingJob(res, request.params.id);
    const grant = assertCanCancel(caller, job);
    const outcome = await cancelJob(deps, job.id);
    if (job.ownerId !== caller.id && !isTerminal(job.state)) {
      await recordAudit({ users: res.store.users, clock: res.clock }, caller, 'job.cancel', `job/${job.id}`, { owner: job.owner, project: job.project, as: grant, state: job.state });
    }
    return outcome;
  });
}

async function existingJob(res: ServerResources, id: number): Promise<JobRow> {
  const job = await res.store.getJob(id);
  if (!job) throw new StintError('NOT_FOUND', `job ${id} does not exist`, { id });
  return job;
}

const ACTIVE: JobState[] = ['PENDING', 'STARTING', 'RUNNING'];

function parseSinceTime(text: string): number {
  const at = Date.parse(text);
  if (!Number.isFinite(at)) throw new StintError('INVALID_REQUEST', `since: "${text}" is not an ISO time (2026-11-01 or 2026-11-01T12:00:00Z)`, { field: 'since', value: text });
  return at;
}

function parseStates(text: string | undefined, all: boolean): JobState[] | undefined {
  if (text === undefined) return all ? undefined : ACTIVE;
  const states = text.split(',').map((s) => s.trim().toUpperCase());
  const bad = states.filter((s) => !(JOB_STATES as readonly string[]).includes(s));
  if (bad.length > 0) {
    throw new StintError('INVALID_REQUEST', `state: unknown state ${bad.join(', ')}; accepted: ${JOB_STATES.join(', ')}`, { field: 'state', value: text });
  }
  return states as JobState[];
}

