// Log route: a byte range of an attempt's output, and whether more can come. Clients follow a log
// by asking again from `nextOffset` until `done`. Only the job's owner, admins of its project and
// admins read it (403, rule logs.owner-or-project-admin). The job's secret values are masked in
// the text as a safeguard against a job printing them (best effort: a value split across two
// reads, or read from an offset inside it, is not recognised).

import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { StintError } from '../../core/errors.js';
import { isTerminal } from '../../core/job-state.js';
import { ErrorBodySchema, IdParamsSchema, LogChunkSchema, LogQuerySchema } from '../../api/schemas.js';
import { assertCanReadLogs } from '../access.js';
import { callerOf } from '../auth.js';
import type { ServerResources } from '../resources.js';
import { SECRET_MASK } from '../views.js';

const DEFAULT_LIMIT = 1024 * 1024;

export function registerLogRoutes(app: FastifyInstance, res: ServerResources): void {
  app.withTypeProvider<ZodTypeProvider>().get('/api/v1/jobs/:id/logs', {
    schema: { summary: "A byte range of a job attempt's output", params: IdParamsSchema, querystring: LogQuerySchema, response: { 200: LogChunkSchema, 403: ErrorBodySchema, 404: ErrorBodySchema } },
  }, async (request) => {
    const job = await res.store.getJob(request.params.id);
    if (!job) throw new StintError('NOT_FOUND', `job ${request.params.id} does not exist`, { id: request.params.id });
    assertCanReadLogs(callerOf(request), job);
    const number = request.query.attempt ?? job.attempt;
    const attempt = number > 0 ? await res.store.getAttempt(job.id, number) : null;
    const offset = request.query.offset ?? 0;
    if (!attempt) {
      if (request.query.attempt !== undefined) throw new StintError('NOT_FOUND', `job ${job.id} has no attempt ${number}`, { id: job.id, attempt: number });
      return { text: '', offset, nextOffset: offset, size: 0, attempt: null, done: isTerminal(job.state) };
    }
    const backend = res.backends.find((b) => b.name === attempt.backend);
    if (!backend) throw new StintError('BACKEND_ERROR', `backend ${attempt.backend} of job ${job.id} is not configured any more`);
    // Read "ended" before the log, so a reader that sees done=true has already seen the last bytes.
    const done = attempt.endedAt !== null || job.attempt !== attempt.attempt;
    const chunk = await backend.readLog({ jobId: job.id, attempt: attempt.attempt, handle: attempt.handle }, offset, request.query.limit ?? DEFAULT_LIMIT);
    const more = chunk.nextOffset < chunk.size;
    return { ...chunk, text: maskSecretValues(chunk.text, job.secrets), attempt: attempt.attempt, done: done && !more };
  });
}

/** Secret values shorter than this are left alone: masking them would garble ordinary output. */
const MIN_MASKED_LENGTH = 4;

export function maskSecretValues(text: string, secrets: Record<string, string>): string {
  let masked = text;
  for (const value of Object.values(secrets)) {
    if (value.length >= MIN_MASKED_LENGTH) masked = masked.replaceAll(value, SECRET_MASK);
  }
  return masked;
}
