// Requeue under the retry policy: after an attempt ended (preempted, node failure, a failure with a
// listed exit code), decide with the pure rule in src/core/retry.ts and, if it allows, move the
// job back to PENDING for a new attempt in the same change that ends the old one (its exit code and
// log stay with it), with the backoff as the job's not-before time. Used by reconciliation and by
// the health checks; every change goes through JobTransitions.

import type { Clock } from '../core/clock.js';
import type { EndReason } from '../core/job-state.js';
import { describeRetry, retryDecision, type RetryCause } from '../core/retry.js';
import type { JobRow } from '../store/types.js';
import type { JobTransitions } from '../scheduler/transitions.js';

export interface AttemptEnd {
  endReason: EndReason;
  exitCode: number | null;
  signal: string | null;
  detail: string;
}

function causeOf(end: AttemptEnd): RetryCause | null {
  switch (end.endReason) {
    case 'preempted':
      return 'preemption';
    case 'node_failure':
      return 'node_failure';
    case 'exit':
      return end.exitCode === 0 ? null : 'failure';
    case 'out_of_memory':
    case 'lost':
      return 'failure';
    case 'cancelled':
    case 'timeout':
    case 'launch_failed':
      return null;
  }
}

/** Requeues the job if its retry policy allows; false (nothing written) if not. */
export async function requeueIfAllowed(transitions: JobTransitions, clock: Clock, job: JobRow, attempt: number, end: AttemptEnd): Promise<boolean> {
  const cause = causeOf(end);
  if (cause === null) return false;
  const decision = retryDecision(job.spec.retries, cause, attempt, end.exitCode, clock.now());
  if (!decision.retry) return false;
  const what =
    end.endReason === 'preempted' ? `preempted (${job.preemptReason ?? 'for another job'}; ${end.detail})`
    : end.endReason === 'exit' ? `failed (${end.detail})`
    : `${end.endReason.replaceAll('_', ' ')}: ${end.detail}`;
  return transitions.apply({
    jobId: job.id,
    from: job.state,
    to: 'PENDING',
    reason: `${what}; ${describeRetry(decision, attempt)}`,
    set: { preemptRequestedAt: null, notBefore: decision.notBefore },
    endAttempt: { attempt, exitCode: end.exitCode, signal: end.signal, endReason: end.endReason },
  });
}
