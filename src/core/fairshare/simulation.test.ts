// The acceptance criterion at the policy level: two users each submit 100 one-GPU jobs of
// equal length at the same moment onto 4 GPUs. A small event loop with a virtual clock (not the
// server) starts jobs by multifactor priority, recomputing usage and fair share before each start.

import { describe, expect, it } from 'vitest';
import { FairPassOrder, type PassJob } from './pass-order.js';
import { DEFAULT_PRIORITY_CONFIG, multifactorPriority } from './priority.js';
import { DEFAULT_FAIR_SHARE_OPTIONS, buildShareTree, fairShare } from './tree.js';
import { DEFAULT_USAGE_CONFIG, HOUR_MS, usageAt, type AttemptUsage } from './usage.js';

const T0 = 1_700_000_000_000;
const GPUS = 4;
const JOB_MS = HOUR_MS;
const tree = buildShareTree({ projects: [{ name: 'lab', users: [{ name: 'alice' }, { name: 'bob' }] }] });

interface Start {
  user: string;
  at: number;
}

/** Chooses which pending jobs start now, given `free` GPUs; returns them in start order. */
type Starter = (pending: PassJob[], free: number, attempts: AttemptUsage[], now: number) => PassJob[];

function submit(firstUser: string, secondUser: string): PassJob[] {
  const jobs = (user: string, firstId: number) =>
    Array.from({ length: 100 }, (_, i) => ({ id: firstId + i, user, project: 'lab', priority: 0, submittedAt: T0, gpus: 1, allocation: { gpus: 1, cpus: 0, memoryGb: 0 } }));
  return [...jobs(firstUser, 1), ...jobs(secondUser, 101)];
}

function attemptOf(job: PassJob, now: number): AttemptUsage {
  return { user: job.user, project: job.project, ...job.allocation, startedAt: now, endedAt: null };
}

/** Recomputes usage, fair share and every pending job's priority before each single start. */
const oneAtATime: Starter = (pending, free, attempts, now) => {
  const started: PassJob[] = [];
  for (let n = 0; n < free && pending.length > 0; n++) {
    const usage = usageAt(attempts, now, DEFAULT_USAGE_CONFIG);
    const shares = fairShare(tree, usage, DEFAULT_FAIR_SHARE_OPTIONS, pending);
    const context = { now, clusterGpus: GPUS, fairShare: shares.factor };
    const scored = pending.map((job) => ({ job, priority: multifactorPriority(job, context).priority }));
    scored.sort((a, b) => b.priority - a.priority || a.job.submittedAt - b.job.submittedAt || a.job.id - b.job.id);
    const best = scored[0]!.job;
    pending.splice(pending.indexOf(best), 1);
    attempts.push(attemptOf(best, now));
    started.push(best);
  }
  return started;
};

/** One pass per event, as the scheduler would run it: FairPassOrder re-ranks after each placement. */
const onePass: Starter = (pending, free, attempts, now) => {
  const usage = usageAt(attempts, now, DEFAULT_USAGE_CONFIG);
  const input = { tree, usage, now, clusterGpus: GPUS, usageConfig: DEFAULT_USAGE_CONFIG, fairShare: DEFAULT_FAIR_SHARE_OPTIONS, priority: DEFAULT_PRIORITY_CONFIG };
  const order = new FairPassOrder(pending, input);
  const started: PassJob[] = [];
  for (let job = order.next(); job !== undefined && started.length < free; job = order.next()) {
    order.placed(job);
    attempts.push(attemptOf(job, now));
    started.push(job);
  }
  for (const job of started) pending.splice(pending.indexOf(job), 1);
  return started;
};

function simulate(jobs: PassJob[], starter: Starter): { starts: Start[]; attempts: AttemptUsage[]; events: number[] } {
  const pending = [...jobs];
  const attempts: AttemptUsage[] = [];
  const starts: Start[] = [];
  const events: number[] = [];
  let now = T0;
  while (pending.length > 0 || attempts.some((a) => a.endedAt === null)) {
    for (const a of attempts) if (a.endedAt === null && a.startedAt + JOB_MS <= now) a.endedAt = a.startedAt + JOB_MS;
    const free = GPUS - attempts.filter((a) => a.endedAt === null).length;
    for (const job of starter(pending, free, attempts, now)) starts.push({ user: job.user, at: now });
    events.push(now);
    const running = attempts.filter((a) => a.endedAt === null);
    if (running.length === 0) break;
    now = Math.min(...running.map((a) => a.startedAt + JOB_MS));
  }
  return { starts, attempts, events };
}

function longestRun(users: string[]): number {
  let longest = 0;
  let run = 0;
  users.forEach((user, i) => {
    run = i > 0 && users[i - 1] === user ? run + 1 : 1;
    longest = Math.max(longest, run);
  });
  return longest;
}

/** Each user's fraction of the GPU-time delivered up to `at`. */
function gpuTimeShare(attempts: AttemptUsage[], at: number): Map<string, number> {
  const byUser = new Map<string, number>();
  let total = 0;
  for (const a of attempts) {
    const held = Math.max(0, Math.min(a.endedAt ?? at, at) - a.startedAt) * a.gpus;
    byUser.set(a.user, (byUser.get(a.user) ?? 0) + held);
    total += held;
  }
  return new Map([...byUser].map(([user, time]) => [user, time / total]));
}

describe.each([
  ['recomputing priorities before each start', oneAtATime],
  ['one FairPassOrder per scheduling pass', onePass],
])('two users, 100 one-GPU jobs each, 4 GPUs: %s', (_, starter) => {
  for (const [first, second] of [['alice', 'bob'], ['bob', 'alice']] as const) {
    it(`alternates and shares GPU-time evenly when ${first}'s jobs carry the lower ids`, () => {
      const { starts, attempts, events } = simulate(submit(first, second), starter);
      expect(starts).toHaveLength(200);
      expect(longestRun(starts.slice(0, 20).map((s) => s.user))).toBeLessThanOrEqual(2);
      for (const at of events.slice(1)) {
        for (const share of gpuTimeShare(attempts, at).values()) expect(Math.abs(share - 0.5)).toBeLessThanOrEqual(0.1);
      }
      expect(events[events.length - 1]).toBe(T0 + 50 * JOB_MS);
    });
  }

  it('gives the same start sequence either way', () => {
    const a = simulate(submit('alice', 'bob'), oneAtATime).starts;
    const b = simulate(submit('alice', 'bob'), starter).starts;
    expect(b).toEqual(a);
  });
});

describe('without the in-use charge', () => {
  it('hands all four GPUs of the first instant to the user whose jobs sort first (why the charge exists)', () => {
    const historyOnly: Starter = (pending, free, attempts, now) => {
      const usage = usageAt(attempts, now, DEFAULT_USAGE_CONFIG);
      const input = { tree, usage, now, clusterGpus: GPUS, usageConfig: DEFAULT_USAGE_CONFIG, fairShare: { inUseChargeMs: 0 }, priority: DEFAULT_PRIORITY_CONFIG };
      const order = new FairPassOrder(pending, input);
      const started: PassJob[] = [];
      for (let job = order.next(); job !== undefined && started.length < free; job = order.next()) started.push(job);
      for (const job of started) {
        pending.splice(pending.indexOf(job), 1);
        attempts.push(attemptOf(job, now));
      }
      return started;
    };
    const { starts } = simulate(submit('alice', 'bob'), historyOnly);
    expect(starts.slice(0, 4).map((s) => s.user)).toEqual(['alice', 'alice', 'alice', 'alice']);
  });
});
