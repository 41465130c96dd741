// A job as the simulator runs it: its trace row plus what happened to it. Owned by the engine;
// policies read it and start or stop jobs only through the engine's PassContext.
// Always: remaining > 0 while not done; queued counts every second spent pending (before the first
// start and after each preemption); gpuSeconds counts every second GPUs were held, lost work included.

import type { Allocation, SimCluster } from './cluster.js';
import type { TraceJob } from './trace.js';

export type SimState = 'future' | 'pending' | 'running' | 'done';

export interface SimJob {
  readonly trace: TraceJob;
  state: SimState;
  /** Seconds of work left (SRTF resumes here; a restarted job starts again from its duration). */
  remaining: number;
  /** When the current run started / when the job became pending last. */
  startedAt: number;
  pendingSince: number;
  end: number;
  /** Total seconds pending so far. */
  queued: number;
  allocation: Allocation | null;
  preemptions: number;
  gpuSeconds: number;
  /** Bumped at each stop, so a completion scheduled for an older run is ignored. */
  run: number;
}

export function newSimJob(trace: TraceJob): SimJob {
  return { trace, state: 'future', remaining: trace.duration, startedAt: 0, pendingSince: trace.submit, end: 0, queued: 0, allocation: null, preemptions: 0, gpuSeconds: 0, run: 0 };
}

/** What a policy may see and do during one pass. */
export interface PassContext {
  readonly now: number;
  readonly cluster: SimCluster;
  /** Running jobs (do not mutate). */
  readonly running: ReadonlySet<SimJob>;
  readonly runningById: ReadonlyMap<number, SimJob>;
  /** Starts a pending job on the allocation, which must fit now (the engine takes it). */
  start(job: SimJob, allocation: Allocation): void;
  /**
   * Stops a running job and makes it pending again. `resume`: it keeps the work done (checkpoint,
   * SRTF); otherwise it starts over (a stint preemption: the job is retried from the beginning).
   */
  stop(job: SimJob, resume: boolean): void;
}

/** A scheduling policy of the simulator. The engine calls `pass` after every instant with news. */
export interface SimPolicy {
  readonly name: string;
  /** A job became pending (arrival or stop). */
  enqueue(job: SimJob, now: number): void;
  /** A running job ended at `now` (fair-share usage, bookkeeping). */
  finished(job: SimJob, now: number): void;
  /**
   * One scheduling pass at `ctx.now`. `freed`: GPUs were released since the last pass;
   * `arrived`: jobs were enqueued. Jobs are started and stopped through `ctx`.
   */
  pass(ctx: PassContext, news: { freed: boolean; arrived: boolean }): void;
  /** Pending jobs right now (for queue length). */
  pendingCount(): number;
}
