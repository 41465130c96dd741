// Job routes: submit (or dry-run), list, show, cancel. Handlers are thin: they validate with the
// shared schemas and call the submission service and the store.

import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { StintError } from '../../core/errors.js';
import { JOB_STATES, type JobState } from '../../core/job-state.js';
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
import type { ServerResources } from '../resources.js';
import { jobDetailView, jobView, maskSecrets } from '../views.js';

const errors = { 400: ErrorBodySchema, 404: ErrorBodySchema, 422: ErrorBodySchema };

export function submissionDeps(res: ServerResources): SubmissionDeps {
  return {
    store: res.store,
    backends: res.backends,
    clock: res.clock,
    transitions: res.transitions,
    uploadsDir: res.uploadsDir,
    wake: () => res.scheduler.wake(),
    enqueued: (job) => res.scheduler.enqueued(job),
  };
}

export function registerJobRoutes(app: FastifyInstance, res: ServerResources): void {
  const api = app.withTypeProvider<ZodTypeProvider>();
  const deps = submissionDeps(res);

  api.post('/api/v1/jobs', {
    schema: { summary: 'Submit a task file (or dry-run it)', body: SubmitRequestSchema, response: { 200: SubmitResponseSchema, 201: SubmitResponseSchema, ...errors } },
  }, async (request, reply) => {
    const result = await submitTask(deps, request.body, res.owner);
    const job = result.job ? jobView(result.job, undefined, undefined) : null;
    void reply.status(job ? 201 : 200);
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
    const states = parseStates(request.query.state, request.query.all === 'true');
    const rows = await res.store.listJobs({ states, limit: request.query.limit ?? 1000, beforeId: request.query.before });
    const attempts = new Map((await res.store.listCurrentAttempts(rows.map((r) => r.id))).map((a) => [a.jobId, a]));
    return { jobs: rows.map((r) => jobView(r, attempts.get(r.id), res.scheduler.waitInfo(r.id))) };
  });

  api.get('/api/v1/jobs/:id', {
    schema: { summary: 'One job with its spec, events and attempts', params: IdParamsSchema, response: { 200: JobDetailSchema, 404: ErrorBodySchema } },
  }, async (request) => {
    const job = await res.store.getJob(request.params.id);
    if (!job) throw new StintError('NOT_FOUND', `job ${request.params.id} does not exist`, { id: request.params.id });
    const [attempts, events] = await Promise.all([res.store.listAttempts(job.id), res.store.listEvents(job.id)]);
    return jobDetailView(job, attempts, events, res.scheduler.waitInfo(job.id));
  });

  api.post('/api/v1/jobs/:id/cancel', {
    schema: { summary: 'Cancel a job: pending ones at once, running ones with SIGTERM then SIGKILL', params: IdParamsSchema, response: { 200: CancelResponseSchema, 404: ErrorBodySchema } },
  }, async (request) => cancelJob(deps, request.params.id));
}

const ACTIVE: JobState[] = ['PENDING', 'STARTING', 'RUNNING'];

function parseStates(text: string | undefined, all: boolean): JobState[] | undefined {
  if (text === undefined) return all ? undefined : ACTIVE;
  const states = text.split(',').map((s) => s.trim().toUpperCase());
  const bad = states.filter((s) => !(JOB_STATES as readonly string[]).includes(s));
  if (bad.length > 0) {
    throw new StintError('INVALID_REQUEST', `state: unknown state ${bad.join(', ')}; accepted: ${JOB_STATES.join(', ')}`, { field: 'state', value: text });
  }
  return states as JobState[];
}

