// The retry decision: whether an attempt that ended this way gets another attempt under the job's
// retry policy, and when. Pure. Rules: `max` counts retries (attempt n may be followed by attempt
// n+1 while n <= max); a preempted job requeues at once (nothing is broken, it was asked to make
// room); after a node failure or a failure the wait doubles per attempt from `backoff` (default
// DEFAULT_BACKOFF_SECONDS) up to MAX_BACKOFF_SECONDS; a failure is retried only when the policy
// lists `failure` and, if it names exit codes, the attempt's exit code is one of them.

import type { RetryPolicy } from './spec/types.js';

export type RetryCause = 'preemption' | 'node_failure' | 'failure';

export const DEFAULT_BACKOFF_SECONDS = 10;
export const MAX_BACKOFF_SECONDS = 3600;

export type RetryDecision = { retry: true; delaySeconds: number; notBefore: number | null } | { retry: false; why: string };

export function retryDecision(policy: RetryPolicy, cause: RetryCause, attempt: number, exitCode: number | null, now: number): RetryDecision {
  if (!policy.on.includes(cause)) return { retry: false, why: `retries.on does not include ${cause}` };
  if (cause === 'failure' && policy.exitCodes.length > 0 && (exitCode === null || !policy.exitCodes.includes(exitCode))) {
    return { retry: false, why: `exit code ${exitCode ?? 'none'} is not in retries exit_codes [${policy.exitCodes.join(', ')}]` };
  }
  if (attempt > policy.max) return { retry: false, why: `no retries left (max ${policy.max})` };
  if (cause === 'preemption') return { retry: true, delaySeconds: 0, notBefore: null };
  const base = policy.backoffSeconds ?? DEFAULT_BACKOFF_SECONDS;
  const delaySeconds = Math.min(MAX_BACKOFF_SECONDS, base * 2 ** Math.max(0, attempt - 1));
  return { retry: true, delaySeconds, notBefore: delaySeconds > 0 ? now + delaySeconds * 1000 : null };
}

/** "requeued for attempt 3 in 20 s" */
export function describeRetry(decision: Extract<RetryDecision, { retry: true }>, attempt: number): string {
  return `requeued for attempt ${attempt + 1}${decision.delaySeconds > 0 ? ` in ${decision.delaySeconds} s (backoff)` : ''}`;
}
