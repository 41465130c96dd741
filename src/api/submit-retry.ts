// Submitting with retries that can never make a job twice: every try of one submission carries
// the same Idempotency-Key, so when an answer was lost (the connection broke, the server died
// after its commit, a proxy answered 502-504) the next try returns the job the first one made.
// Browser-safe (no node: imports), for the CLI and the web app alike. Invariants: one key per
// submission, never reused for another; only errors that may hide a committed job are retried;
// the tries are bounded (attempts, and a delay that doubles up to maxDelayMs, with jitter).

import { StintError } from '../core/errors.js';
import type { SubmitRequest } from './schemas.js';
import type { StintClient } from './client.js';

export interface SubmitRetryOptions {
  /** One key for all tries of this submission (default: a new random UUID). */
  idempotencyKey?: string;
  /** Tries in all, the first included (default 8). */
  attempts?: number;
  /** Wait before the second try; doubles after each (default 250 ms). */
  baseDelayMs?: number;
  /** The longest wait between two tries (default 4 s). */
  maxDelayMs?: number;
  /** Told before each wait, e.g. to say so on stderr. */
  onRetry?: (error: StintError, attempt: number, delayMs: number) => void;
}

type Submitter = Pick<StintClient, 'submit'>;

export function newIdempotencyKey(): string {
  return globalThis.crypto.randomUUID();
}

/** Whether a failed submit may have been committed anyway, so that a retry with its key is due. */
export function isRetryableSubmitError(error: unknown): error is StintError {
  if (!(error instanceof StintError)) return false;
  if (error.code === 'SERVER_UNREACHABLE' || error.code === 'BACKEND_ERROR') return true;
  // A proxy or gateway answered 502-504 without stint's error body.
  const status = error.details.status;
  return error.code === 'INTERNAL' && typeof status === 'number' && status >= 502 && status <= 504;
}

/**
 * Submits, retrying with the same Idempotency-Key after connection errors and 502-504. `client`
 * may be a function, called before every try (a client whose server moved, as in the chaos test).
 */
export async function submitWithRetry(client: Submitter | (() => Submitter), request: SubmitRequest, options: SubmitRetryOptions = {}) {
  const idempotencyKey = options.idempotencyKey ?? newIdempotencyKey();
  const attempts = Math.max(1, options.attempts ?? 8);
  let delay = options.baseDelayMs ?? 250;
  for (let attempt = 1; ; attempt++) {
    const target = typeof client === 'function' ? client() : client;
    try {
      return { ...(await target.submit(request, { idempotencyKey })), idempotencyKey, attempts: attempt };
    } catch (error) {
      if (!isRetryableSubmitError(error) || attempt >= attempts) throw error;
      const wait = Math.min(delay, options.maxDelayMs ?? 4000) * (0.75 + Math.random() / 2);
      options.onRetry?.(error, attempt, wait);
      await new Promise((resolve) => setTimeout(resolve, wait));
      delay *= 2;
    }
  }
}
