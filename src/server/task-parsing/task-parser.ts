// Parses submitted task files in a worker thread, so that no file, however hostile, blocks the
// server's event loop (the scheduler and every other request share it). The YAML library costs
// about 1-10 µs per byte on this kind of machine, so even a 256 KiB file could hold the loop for
// seconds. One worker takes one file at a time; a file that takes longer than PARSE_TIME_LIMIT_MS,
// or more memory than the worker's heap limit, is refused with INVALID_SPEC and the worker is
// replaced. Waiting files are kept in one queue per submitter, served in turn, and a submitter may
// have at most MAX_PER_SUBMITTER files waiting or being read: one user's slow files delay another
// user's file by at most one time limit per other waiting submitter (red-team finding: 70 slow
// files from one member refused everyone else for minutes).
// Invariants: the main thread never runs the YAML parser for a submission; each answer is the
// TaskFile parseTaskFile would return, or the same StintError (code, message, details) it threw;
// a crashed or stopped worker fails only the file it held, and the next file gets a fresh one;
// the next file is never the last-served submitter's while another submitter has one waiting.

import { Worker } from 'node:worker_threads';
import { isErrorCode, StintError } from '../../core/errors.js';
import type { ParseOptions } from '../../core/spec/parse.js';
import type { TaskFile } from '../../core/spec/types.js';
import { sourceWorkerArgv } from './source-loader.js';
import type { ParseRequest } from './worker.js';

export const PARSE_TIME_LIMIT_MS = 5_000;
/** Files waiting for the worker, all submitters together; more are refused with RATE_LIMITED (429, Retry-After). */
export const MAX_QUEUED = 256;
/**
 * Files one submitter may have waiting or being read; more are refused with RATE_LIMITED. Fairness
 * comes from serving submitters in turn; this bounds the memory one user's queue holds, and is
 * large enough for a script or client that submits a sweep with many requests in flight.
 */
export const MAX_PER_SUBMITTER = 32;
const WORKER_HEAP_MB = 256;

interface Pending extends ParseRequest {
  submitter: number;
  resolve: (file: TaskFile) => void;
  reject: (error: unknown) => void;
}

type Answer = { ready: true } | { id: number; file: TaskFile } | { id: number; error: { code: string; message: string; details: Record<string, unknown> } };

export class TaskParser {
  private worker: Worker | null = null;
  /** The worker has loaded its modules: the time limit counts from here, not from its start. */
  private ready = false;
  /** Waiting files by submitter; Map order is the turn order (a served submitter moves to the end). */
  private readonly queues = new Map<number, Pending[]>();
  private queued = 0;
  /** The submitter whose file the worker took last. */
  private lastServed: number | null = null;
  private current: Pending | null = null;
  private timer: NodeJS.Timeout | null = null;
  private nextId = 1;
  private closed = false;

  private readonly timeLimitMs: number;
  private readonly maxQueued: number;
  private readonly maxPerSubmitter: number;

  constructor(options: { timeLimitMs?: number; maxQueued?: number; maxPerSubmitter?: number } = {}) {
    this.timeLimitMs = options.timeLimitMs ?? PARSE_TIME_LIMIT_MS;
    this.maxQueued = options.maxQueued ?? MAX_QUEUED;
    this.maxPerSubmitter = options.maxPerSubmitter ?? MAX_PER_SUBMITTER;
  }

  /** Parses `text` for the user with id `submitter` (the per-submitter limit and turn order count by it). */
  parse(text: string, opts: ParseOptions, submitter: number): Promise<TaskFile> {
    if (this.closed) return Promise.reject(new StintError('SERVER_UNREACHABLE', 'the server is stopping'));
    const held = (this.queues.get(submitter)?.length ?? 0) + (this.current?.submitter === submitter ? 1 : 0);
    if (held >= this.maxPerSubmitter) {
      const message = `you have ${held} task files being read (at most ${this.maxPerSubmitter} per submitter); try again in a few seconds`;
      return Promise.reject(new StintError('RATE_LIMITED', message, { held, perSubmitter: this.maxPerSubmitter, retryAfterSeconds: 5 }));
    }
    if (this.queued >= this.maxQueued) {
      const message = `${this.queued} task files are waiting to be read (at most ${this.maxQueued}); try again in a few seconds`;
      return Promise.reject(new StintError('RATE_LIMITED', message, { queued: this.queued, retryAfterSeconds: 5 }));
    }
    return new Promise((resolve, reject) => {
      const queue = this.queues.get(submitter) ?? [];
      queue.push({ id: this.nextId++, submitter, text, opts: { ...opts }, resolve, reject });
      this.queues.set(submitter, queue);
      this.queued++;
      this.next();
    });
  }

  /** Stops the worker; files still queued are refused. */
  async close(): Promise<void> {
    this.closed = true;
    for (const job of this.takeAll()) job.reject(new StintError('SERVER_UNREACHABLE', 'the server is stopping'));
    const worker = this.worker;
    this.worker = null;
    this.finish()?.reject(new StintError('SERVER_UNREACHABLE', 'the server is stopping'));
    await worker?.terminate();
  }

  private next(): void {
    if (this.current || this.closed || this.queued === 0) return;
    const worker = this.ensureWorker();
    if (!this.ready) return;
    const job = this.take();
    this.current = job;
    const limit = this.timeLimitMs;
    const slow = new StintError('INVALID_SPEC', `the task file took longer than ${limit / 1000} s to read; no real task file does`, { limitMs: limit });
    this.timer = setTimeout(() => this.fail(slow), limit);
    worker.postMessage({ id: job.id, text: job.text, opts: job.opts } satisfies ParseRequest);
  }

  /** The next file in turn: the first waiting submitter's other than the last served, if any; it moves to the end. */
  private take(): Pending {
    let submitter = this.queues.keys().next().value!;
    for (const key of this.queues.keys()) {
      if (key !== this.lastServed) {
        submitter = key;
        break;
      }
    }
    const queue = this.queues.get(submitter)!;
    const job = queue.shift()!;
    this.queues.delete(submitter);
    if (queue.length > 0) this.queues.set(submitter, queue);
    this.queued--;
    this.lastServed = submitter;
    return job;
  }

  private takeAll(): Pending[] {
    const jobs = [...this.queues.values()].flat();
    this.queues.clear();
    this.queued = 0;
    return jobs;
  }

  private ensureWorker(): Worker {
    if (this.worker) return this.worker;
    const source = import.meta.url.endsWith('.ts');
    const worker = new Worker(new URL(source ? './worker.ts' : './worker.js', import.meta.url), {
      execArgv: sourceWorkerArgv(import.meta.url),
      resourceLimits: { maxOldGenerationSizeMb: WORKER_HEAP_MB },
    });
    worker.unref();
    worker.on('message', (answer: Answer) => this.answer(answer));
    worker.on('error', (error) => this.fail(outOfMemory(error) ? new StintError('INVALID_SPEC', `the task file needs more than ${WORKER_HEAP_MB} MB to read`, {}) : error));
    worker.on('exit', () => {
      if (this.worker === worker) this.fail(new StintError('INTERNAL', 'the task parser stopped', {}));
    });
    this.worker = worker;
    return worker;
  }

  private finish(): Pending | null {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const job = this.current;
    this.current = null;
    return job;
  }

  private answer(answer: Answer): void {
    if ('ready' in answer) {
      this.ready = true;
      return this.next();
    }
    if (answer.id !== this.current?.id) return;
    const job = this.finish()!;
    if ('file' in answer) job.resolve(answer.file);
    else job.reject(new StintError(isErrorCode(answer.error.code) ? answer.error.code : 'INTERNAL', answer.error.message, answer.error.details));
    this.next();
  }

  /**
   * The current file failed with the worker: the worker is replaced for the next one. A worker that
   * fails before it is ready fails every queued file instead (it would fail again).
   */
  private fail(error: unknown): void {
    const worker = this.worker;
    const started = this.ready;
    this.worker = null;
    this.ready = false;
    void worker?.terminate();
    const job = this.finish();
    job?.reject(error);
    if (!job && !started) for (const queued of this.takeAll()) queued.reject(error);
    this.next();
  }
}

function outOfMemory(error: unknown): boolean {
  return (error as { code?: string }).code === 'ERR_WORKER_OUT_OF_MEMORY';
}
