// The one module that changes job state. Every change is checked against the state machine,
// written atomically with its event (and attempt / GPU holds) by the store, and announced to
// listeners (log followers, the scheduler's wake-up). Nothing else calls store.transition.

import { StintError } from '../core/errors.js';
import { canTransition, type EndReason, type JobState } from '../core/job-state.js';
import type { Clock } from '../core/clock.js';
import type { Store, Transition } from '../store/types.js';

export interface StateChange {
  jobId: number;
  from: JobState;
  to: JobState;
  reason: string;
}

export class JobTransitions {
  private readonly listeners = new Set<(change: StateChange) => void>();

  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
  ) {}

  onChange(listener: (change: StateChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Applies a change if the job is still in `from`; false if it moved meanwhile. */
  async apply(change: Omit<Transition, 'at'> & { at?: number }): Promise<boolean> {
    if (!canTransition(change.from, change.to)) {
      throw new StintError('CONFLICT', `job ${change.jobId} cannot go from ${change.from} to ${change.to}`, {
        jobId: change.jobId,
        from: change.from,
        to: change.to,
      });
    }
    const applied = await this.store.transition({ ...change, at: change.at ?? this.clock.now() });
    if (applied) this.announce({ jobId: change.jobId, from: change.from, to: change.to, reason: change.reason });
    return applied;
  }

  /** Ends the current attempt and moves the job to `to` in one change, releasing its GPUs. */
  async endAttempt(args: {
    jobId: number;
    from: JobState;
    to: JobState;
    attempt: number;
    exitCode: number | null;
    signal: string | null;
    endReason: EndReason;
    reason: string;
  }): Promise<boolean> {
    const at = this.clock.now();
    return this.apply({
      jobId: args.jobId,
      from: args.from,
      to: args.to,
      reason: args.reason,
      at,
      set: { exitCode: args.exitCode, signal: args.signal, endedAt: at },
      endAttempt: { attempt: args.attempt, exitCode: args.exitCode, signal: args.signal, endReason: args.endReason },
    });
  }

  private announce(change: StateChange): void {
    for (const listener of this.listeners) {
      try {
        listener(change);
      } catch {
        // A listener's failure must never undo or block a committed change.
      }
    }
  }
}
