// Live log streaming for the web UI: Server-Sent Events over GET /api/v1/jobs/:id/logs/stream.
// Browsers read it with fetch() and a ReadableStream, or EventSource with the session cookie.
// Events: `log` {text, offset, nextOffset, size, attempt} for new bytes, `end` {attempt, state}
// once the attempt has ended and every byte was sent, `error` {code, message, details} if the
// stream cannot go on. Invariants: bytes are sent in order with no gap from the offset asked for;
// `end` comes only after the attempt's end was recorded and the log was read to its end after
// that (the same order as the logs route); access is the logs route's
// (logs.owner-or-project-admin), and it is re-checked every RECHECK_MS and at once when this
// server changes a token, session, user or membership, so a stream ends (with `error`
// UNAUTHORIZED or FORBIDDEN) soon after its token is revoked, its user removed or (opened with the
// session cookie) its session ended; one user holds at most
// MAX_STREAMS_PER_USER streams (429 RATE_LIMITED beyond); secret values are masked as in that
// route, across chunk edges (masked-log.ts). New bytes are found by a short poll of the log size
// (POLL_MS) and sooner on the backends' activity hint; a stream gives up after MAX_STREAM_MS.

import type { FastifyInstance, FastifyReply } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { StintError } from '../../core/errors.js';
import { isTerminal } from '../../core/job-state.js';
import { ErrorBodySchema, IdParamsSchema } from '../../api/schemas.js';
import type { Backend } from '../../backends/backend.js';
import type { AttemptRow, JobRow } from '../../store/types.js';
import { assertCanReadLogs, type Caller } from '../access.js';
import { callerOf, type Authenticator } from '../auth.js';
import { readMaskedLog } from '../masked-log.js';
import type { ServerResources } from '../resources.js';
import { SecretMatcher } from '../secret-mask.js';

const POLL_MS = 100;
const CHUNK_BYTES = 256 * 1024;
const HEARTBEAT_MS = 15_000;
const MAX_STREAM_MS = 24 * 3600 * 1000;
/** How often a stream re-checks its caller's token and grant (also at once on a change here). */
const RECHECK_MS = 2_000;
export const MAX_STREAMS_PER_USER = 16;

const StreamQuerySchema = z.object({
  offset: z.coerce.number().int().optional().describe('byte offset to start from; negative = from the end (default 0)'),
  attempt: z.coerce.number().int().positive().optional().describe('which attempt (default: the current one, waiting for the first if none yet)'),
});

export function registerLogStreamRoutes(app: FastifyInstance, res: ServerResources, auth: Authenticator): void {
  const wakers = new Set<() => void>();
  for (const backend of res.backends) backend.onActivity(() => wakers.forEach((wake) => wake()));
  const slots = new StreamSlots(MAX_STREAMS_PER_USER);

  app.withTypeProvider<ZodTypeProvider>().get('/api/v1/jobs/:id/logs/stream', {
    schema: {
      summary: "Follow a job attempt's output as Server-Sent Events (log, end, error)",
      params: IdParamsSchema, querystring: StreamQuerySchema,
      response: { 200: z.string().describe('text/event-stream'), 403: ErrorBodySchema, 404: ErrorBodySchema, 429: ErrorBodySchema },
    },
  }, async (request, reply) => {
    const job = await res.store.getJob(request.params.id);
    if (!job) throw new StintError('NOT_FOUND', `job ${request.params.id} does not exist`, { id: request.params.id });
    const caller = callerOf(request);
    assertCanReadLogs(caller, job);
    if (request.query.attempt !== undefined && request.query.attempt > job.attempt) {
      throw new StintError('NOT_FOUND', `job ${job.id} has no attempt ${request.query.attempt}`, { id: job.id, attempt: request.query.attempt });
    }
    const credential = request.credential!;
    const recheck = async () => assertCanReadLogs(await auth.recheck(credential), job);
    const release = slots.take(caller);
    const stream = new LogStream(res, reply, job, request.query.attempt ?? null, request.query.offset ?? 0, recheck);
    wakers.add(stream.wake);
    const unsubscribe = auth.onForget(stream.callerChanged);
    reply.raw.on('close', () => stream.stop());
    try {
      await stream.run();
    } finally {
      wakers.delete(stream.wake);
      unsubscribe();
      release();
    }
  });
}

/** Open streams per user, at most `max` each. */
class StreamSlots {
  private readonly open = new Map<number, number>();

  constructor(private readonly max: number) {}

  /** Takes a slot for the caller (RATE_LIMITED when it holds `max`); returns its release. */
  take(caller: Caller): () => void {
    const held = this.open.get(caller.id) ?? 0;
    if (held >= this.max) {
      throw new StintError('RATE_LIMITED', `${caller.name} already has ${held} live log streams open, the most one user may hold (${this.max}); close one (a browser tab following a log) and try again`, { limit: this.max, open: held });
    }
    this.open.set(caller.id, held + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.open.get(caller.id) ?? 1) - 1;
      if (left > 0) this.open.set(caller.id, left);
      else this.open.delete(caller.id);
    };
  }
}

class LogStream {
  private stopped = false;
  private wakeUp: (() => void) | null = null;
  private lastWrite = Date.now();
  private lastCheck = Date.now();
  private changed = false;
  private matcher: SecretMatcher | null = null;

  constructor(
    private readonly res: ServerResources,
    private readonly reply: FastifyReply,
    private readonly job: JobRow,
    private attemptNumber: number | null,
    private offset: number,
    /** Throws when the caller may no longer read this log (token revoked, user removed, grant lost). */
    private readonly recheck: () => Promise<unknown>,
  ) {}

  readonly wake = (): void => this.wakeUp?.();

  /** A token, user or membership changed on this server: re-check the caller now. */
  readonly callerChanged = (): void => {
    this.changed = true;
    this.wake();
  };

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

  private async checkCaller(): Promise<void> {
    if (!this.changed && Date.now() - this.lastCheck < RECHECK_MS) return;
    this.changed = false;
    this.lastCheck = Date.now();
    await this.recheck();
  }

  /** The attempt to follow; a job not yet placed is waited for (null: stopped, or ended without one). */
  private async waitForAttempt(deadline: number): Promise<AttemptRow | null> {
    while (!this.stopped && Date.now() < deadline) {
      await this.checkCaller();
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
    this.matcher = await SecretMatcher.of(this.job.secrets);
    while (!this.stopped && Date.now() < deadline) {
      await this.checkCaller();
      // As in the logs route: note "ended" before reading, so `end` follows the last bytes.
      const ended = attempt.endedAt !== null;
      const drained = await this.sendNewBytes(backend, attempt, ended);
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

  /**
   * Sends what the log has past the offset (one chunk, masked; a tail that may start a secret is
   * held back until the attempt ends); true when the log's end was reached.
   */
  private async sendNewBytes(backend: Backend, attempt: AttemptRow, ended: boolean): Promise<boolean> {
    const ref = { jobId: attempt.jobId, attempt: attempt.attempt, handle: attempt.handle };
    const chunk = await readMaskedLog(backend, ref, this.offset, CHUNK_BYTES, { matcher: this.matcher!, ended });
    if (chunk.text.length > 0) {
      this.send('log', { text: chunk.text, offset: chunk.offset, nextOffset: chunk.nextOffset, size: chunk.size, attempt: attempt.attempt });
    } else if (Date.now() - this.lastWrite > HEARTBEAT_MS) {
      this.write(': keep-alive\n\n');
    }
    this.offset = chunk.nextOffset;
    return chunk.nextOffset + chunk.heldBack >= chunk.size;
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
