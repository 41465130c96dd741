// Log route: a byte range of an attempt's output, and whether more can come. Clients follow a log
// by asking again from `nextOffset` until `done`. Only the job's owner, admins of its project and
// admins read it (403, rule logs.owner-or-project-admin). The job's secret values are masked in
// the text as a safeguard against a job printing them, in one pass for all secrets and across
// read edges: the server reads the overlap around the range and holds back a tail that may be
// the start of a secret while the attempt runs (src/server/masked-log.ts says how nextOffset and
// the mask meet at an edge). A large answer is written as JSON in slices, yielding between them,
// so a 16 MB range never blocks the event loop while it is serialised.

import type { FastifyInstance, FastifyReply } from 'fastify';
import { Readable } from 'node:stream';
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { StintError } from '../../core/errors.js';
import { isTerminal } from '../../core/job-state.js';
import { ErrorBodySchema, IdParamsSchema, LogChunkSchema, LogQuerySchema, type LogChunkView } from '../../api/schemas.js';
import { assertCanReadLogs } from '../access.js';
import { callerOf } from '../auth.js';
import { readMaskedLog } from '../masked-log.js';
import type { ServerResources } from '../resources.js';
import { SecretMatcher } from '../secret-mask.js';

const DEFAULT_LIMIT = 1024 * 1024;
/** Texts longer than this are serialised in slices of this many characters. */
const JSON_SLICE = 256 * 1024;

export function registerLogRoutes(app: FastifyInstance, res: ServerResources): void {
  app.withTypeProvider<ZodTypeProvider>().get('/api/v1/jobs/:id/logs', {
    schema: { summary: "A byte range of a job attempt's output", params: IdParamsSchema, querystring: LogQuerySchema, response: { 200: LogChunkSchema, 403: ErrorBodySchema, 404: ErrorBodySchema } },
  }, async (request, reply) => {
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
    const ref = { jobId: job.id, attempt: attempt.attempt, handle: attempt.handle };
    const matcher = await SecretMatcher.of(job.secrets);
    const chunk = await readMaskedLog(backend, ref, offset, request.query.limit ?? DEFAULT_LIMIT, { matcher, ended: done });
    const more = chunk.nextOffset < chunk.size;
    const answer = { text: chunk.text, offset: chunk.offset, nextOffset: chunk.nextOffset, size: chunk.size, attempt: attempt.attempt, done: done && !more };
    return answer.text.length > JSON_SLICE ? sendInSlices(reply, answer) : answer;
  });
}

/** Writes the chunk as the same JSON the serialiser would, its text escaped slice by slice. */
function sendInSlices(reply: FastifyReply, answer: LogChunkView): FastifyReply {
  const { text, ...rest } = answer;
  async function* json(): AsyncGenerator<string> {
    yield '{"text":"';
    for (let at = 0; at < text.length; at += JSON_SLICE) {
      yield JSON.stringify(text.slice(at, at + JSON_SLICE)).slice(1, -1);
      await nextTurn();
    }
    yield `",${JSON.stringify(rest).slice(1)}`;
  }
  return reply.type('application/json; charset=utf-8').send(Readable.from(json()));
}
