// Live log streaming for the web UI: Server-Sent Events over GET /api/v1/jobs/:id/logs/stream.
// Browsers read it with fetch() and a ReadableStream (EventSource cannot send the Authorization
// header). Events: `log` {text, offset, nextOffset, size, attempt} for new bytes, `end` {attempt,
// state} once the attempt has ended and every byte was sent, `error` {code, message, details} if
// the stream cannot go on. Invariants: bytes are sent in order with no gap from the offset asked
// for; `end` comes only after the attempt's end was recorded and the log was read to its end after
// that (the same order as the logs route); access is the logs route's (logs.owner-or-project-admin);
// secret values are masked as in that route. New bytes are found by a short poll of the log size
// (POLL_MS) and sooner on the backends' activity hint; a stream gives up after MAX_STREAM_MS.

import type { FastifyInstance, FastifyReply } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { StintError } from '../../core/errors.js';
import { isTerminal } from '../../core/job-state.js';
import { ErrorBodySchema, IdParamsSchema } from '../../api/schemas.js';
import type { Backend } from '../../backends/backend.js';
import type { AttemptRow, JobRow } from '../../store/types.js';
import { assertCanReadLogs } from '../access.js';
import { callerOf } from '../auth.js';
import type { ServerResources } from '../resources.js';
import { maskSecretValues } from './logs.js';

const POLL_MS = 100;
const CHUNK_BYTES = 256 * 1024;
const HEARTBEAT_MS = 15_000;
const MAX_STREAM_MS = 24 * 3600 * 1000;

const StreamQuerySchema = z.object({
  offset: z.coerce.number().int().optional().describe('byte offset to start from; negative = from the end (default 0)'),
  attempt: z.coerce.number().int().positive().optional().describe('which attempt (default: the current one, waiting for the first if none yet)'),
});

export function registerLogStreamRoutes(app: FastifyInstance, res: ServerResources): void {
  const wakers = new Set<() => void>();
  for (const backend of res.backends) backend.onActivity(() => wakers.forEach((wake) => wake()));

  app.withTypeProvider<ZodTypeProvider>().get('/api/v1/jobs/:id/logs/stream', {
    schema: {
      summary: "Follow a job attempt's output as Server-Sent Events (log, end, error)",
      params: IdParamsSchema, querystring: StreamQuerySchema,
      response: { 200: z.string().describe('text/event-stream'), 403: ErrorBodySchema, 404: ErrorBodySchema },
    },
  }, async (request, reply) => {
    const job = await res.store.getJob(request.params.id);
    if (!job) throw new StintError('NOT_FOUND', `job ${request.params.id} does not exist`, { id: request.params.id });
    assertCanReadLogs(callerOf(request), job);
    if (request.query.attempt !== undefined && request.query.attempt > job.attempt) {
      throw new StintError('NOT_FOUND', `job ${job.id} has no attempt ${request.query.attempt}`, { id: job.id, attempt: request.query.attempt });
    }
    const stream = new LogStream(res, reply, job, request.query.attempt ?? null, request.query.offset ?? 0);
    wakers.add(stream.wake);
    reply.raw.on('close', () => stream.stop());
    try {
      await stream.run();
    } finally {
      wakers.delete(stream.wake);
    }
  });
}

class LogStream {
  private stopped = false;
  private wakeUp: (() => void) | null = null;
  private lastWrite = Date.now();

  constructor(
    private readonly res: ServerResources,
    private readonly reply: FastifyReply,
    private readonly job: JobRow,
    private attemptNumber: number | null,
    private offset: number,
  ) {}

  readonly wake = (): void => this.wakeUp?.();

  stop(): void {
    this.stopped = true;
    this.wake();
  }

  async run(): Promise<void> {
    this.reply.hijack();
    this.reply.raw.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache, no-transform', 'x-accel-buffering': 'no', connection: 'keep-alive' });
    this.reply.raw.write(': stream open\n\n');
    const deadline = Date.now() + MAX_STREAM_MS;
    try {
      const attempt = await this.waitForAttempt(deadline);
      if (attempt) await this.follow(attempt, deadline);
    } catch (error) {
      const stint = error instanceof StintError ? error : new StintError('INTERNAL', 'log stream failed; the server log has the details', {}, { cause: error });
      if (stint.code === 'INTERNAL') this.res.logger.error({ err: error, job: this.job.id }, 'log stream failed');
      this.send('error', stint.toJSON());
    }
    this.reply.raw.end();
  }

  /** The attempt to follow; a job not yet placed is waited for (null: stopped, or ended without one). */
  private async waitForAttempt(deadline: number): Promise<AttemptRow | null> {
    while (!this.stopped && Date.now() < deadline) {
      const job = (await this.res.store.getJob(this.job.id)) ?? this.job;
      const number = this.attemptNumber ?? (job.attempt > 0 ? job.attempt : null);
      const attempt = number === null ? null : await this.res.store.getAttempt(job.id, number);
      if (attempt) return attempt;
      if (isTerminal(job.state)) {
        this.send('end', { attempt: null, state: job.state });
        return null;
      }
      await this.pause();
    }
    return null;
  }

  private async follow(first: AttemptRow, deadline: number): Promise<void> {
    const backend = this.res.backends.find((b) => b.name === first.backend);
    if (!backend) throw new StintError('BACKEND_ERROR', `backend ${first.backend} of job ${this.job.id} is not configured any more`);
    let attempt = first;
    while (!this.stopped && Date.now() < deadline) {
      // As in the logs route: note "ended" before reading, so `end` follows the last bytes.
      const ended = attempt.endedAt !== null;
      const drained = await this.sendNewBytes(backend, attempt);
      if (drained && ended) {
        const job = await this.res.store.getJob(this.job.id);
        this.send('end', { attempt: attempt.attempt, state: job?.state ?? null, exitCode: attempt.exitCode, endReason: attempt.endReason });
        return;
      }
      if (drained) {
        await this.pause();
        attempt = (await this.res.store.getAttempt(attempt.jobId, attempt.attempt)) ?? attempt;
      }
    }
  }

  /** Sends what the log has past the offset (one chunk); true when the log's end was reached. */
  private async sendNewBytes(backend: Backend, attempt: AttemptRow): Promise<boolean> {
    const ref = { jobId: attempt.jobId, attempt: attempt.attempt, handle: attempt.handle };
    const chunk = await backend.readLog(ref, this.offset, CHUNK_BYTES);
    if (chunk.text.length > 0) {
      this.send('log', { text: maskSecretValues(chunk.text, this.job.secrets), offset: chunk.offset, nextOffset: chunk.nextOffset, size: chunk.size, attempt: attempt.attempt });
    } else if (Date.now() - this.lastWrite > HEARTBEAT_MS) {
      this.write(': keep-alive\n\n');
    }
    this.offset = chunk.nextOffset;
    return chunk.nextOffset >= chunk.size;
  }

  private pause(): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, POLL_MS);
      const self = this;
      function done(): void {
        clearTimeout(timer);
        self.wakeUp = null;
        resolve();
      }
      this.wakeUp = done;
      if (this.stopped) done();
    });
  }

  private send(event: string, data: unknown): void {
    this.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  }

  private write(text: string): void {
    if (this.stopped || this.reply.raw.writableEnded) return;
    this.reply.raw.write(text);
    this.lastWrite = Date.now();
  }
}
