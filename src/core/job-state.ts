// Job states and the transitions allowed between them. This module is pure: it decides whether a
// change is legal; the scheduler (src/scheduler/transitions.ts) is the one module that applies
// changes to the store. Invariant: a terminal state is never left.

export const JOB_STATES = ['PENDING', 'STARTING', 'RUNNING', 'SUCCEEDED', 'FAILED', 'CANCELLED'] as const;
export type JobState = (typeof JOB_STATES)[number];

export const TERMINAL_STATES: readonly JobState[] = ['SUCCEEDED', 'FAILED', 'CANCELLED'];
export const ACTIVE_STATES: readonly JobState[] = ['STARTING', 'RUNNING'];

const ALLOWED: Record<JobState, readonly JobState[]> = {
  // PENDING -> FAILED: refused at launch (e.g. the workdir could not be unpacked).
  PENDING: ['STARTING', 'CANCELLED', 'FAILED'],
  // STARTING -> PENDING: the launch failed in a retryable way, or the node was lost.
  STARTING: ['RUNNING', 'SUCCEEDED', 'FAILED', 'CANCELLED', 'PENDING'],
  // RUNNING -> PENDING: preempted or node failure, retried as a new attempt.
  // RUNNING -> STARTING: an engine that places work (Slurm) requeued it itself; the new attempt
  // waits in the engine's queue, not in stint's.
  RUNNING: ['SUCCEEDED', 'FAILED', 'CANCELLED', 'PENDING', 'STARTING'],
  SUCCEEDED: [],
  FAILED: [],
  CANCELLED: [],
};

export function isTerminal(state: JobState): boolean {
  return TERMINAL_STATES.includes(state);
}

export function isActive(state: JobState): boolean {
  return ACTIVE_STATES.includes(state);
}

export function canTransition(from: JobState, to: JobState): boolean {
  return ALLOWED[from].includes(to);
}

/** Why an attempt ended, as the user reads it. */
export type EndReason =
  | 'exit'
  | 'cancelled'
  | 'timeout'
  | 'lost'
  | 'launch_failed'
  | 'preempted'
  | 'node_failure'
  | 'out_of_memory';

/** Maps how an attempt ended to the job's next state. */
export function stateAfterAttempt(end: { reason: EndReason; exitCode: number | null }): JobState {
  switch (end.reason) {
    case 'exit':
      return end.exitCode === 0 ? 'SUCCEEDED' : 'FAILED';
    case 'cancelled':
      return 'CANCELLED';
    case 'timeout':
    case 'lost':
    case 'launch_failed':
    case 'preempted':
    case 'node_failure':
    case 'out_of_memory':
      return 'FAILED';
  }
}
