// A long simulated run of a small cluster under quota: jobs start when their quota allows and a
// node has room; the head of the queue may preempt (victims go back to the queue at once, with a
// new attempt). It checks that no two jobs ever preempt each other back and forth, and that every
// victim was a preemptible borrower that had run long enough.

import { describe, expect, it } from 'vitest';
import { gpus, node, seededRandom } from '../policy/fixtures.js';
import { classifyRunning, QuotaLedger } from './borrowing.js';
import { MINUTE, pending, running } from './fixtures.js';
import { choosePreemptions } from './preemption.js';
import type { PreemptionKind, QuotaConfig, QuotaPendingJob, QuotaRunningJob } from './types.js';

interface SimJob extends QuotaPendingJob {
  durationMs: number;
}

interface Preemption {
  at: number;
  by: number;
  victim: number;
  kind: PreemptionKind;
}

interface Sim {
  now: number;
  queue: SimJob[];
  running: (QuotaRunningJob & { job: SimJob })[];
  done: number[];
  preemptions: Preemption[];
}

const nodes = [node('n1', gpus('A100', 4)), node('n2', gpus('A100', 4))];

function freeOn(sim: Sim, name: string): number {
  const held = sim.running.filter((r) => r.node === name).reduce((sum, r) => sum + r.gpus, 0);
  return 4 - held;
}

function start(sim: Sim, job: SimJob, nodeName: string, victims: QuotaRunningJob[] = []): void {
  const startedByPreempting = victims.map((v) => ({ id: v.id, project: v.project, priority: v.priority }));
  sim.running.push({ ...running(job.id, { ...job, node: nodeName, startedAt: sim.now, startedByPreempting }), job });
  sim.queue = sim.queue.filter((q) => q.id !== job.id);
}

function finishDue(sim: Sim): void {
  for (const r of sim.running.filter((r) => sim.now - r.startedAt >= r.job.durationMs)) sim.done.push(r.id);
  sim.running = sim.running.filter((r) => sim.now - r.startedAt < r.job.durationMs);
}

function checkVictims(sim: Sim, head: SimJob, victims: QuotaRunningJob[], config: QuotaConfig, minRuntimeMs: number): void {
  const standing = classifyRunning(sim.running, config);
  for (const v of victims) {
    expect(v.preemptible).toBe(true);
    expect(standing.get(v.id)).toBe('borrowing');
    expect(sim.now - v.startedAt).toBeGreaterThanOrEqual(minRuntimeMs);
    expect(v.id).not.toBe(head.id);
  }
}

/** One pass: queue order, start what fits; the first job that cannot start may preempt. */
function schedulePass(sim: Sim, config: QuotaConfig, minRuntimeMs: number): void {
  const ledger = new QuotaLedger(config, sim.running);
  const order = [...sim.queue].sort((a, b) => b.priority - a.priority || a.submittedAt - b.submittedAt || a.id - b.id);
  let headSeen = false;
  for (const job of order) {
    if (!ledger.check(job).allowed) continue;
    const fit = nodes.map((n) => n.name).find((name) => freeOn(sim, name) >= job.gpus);
    if (fit !== undefined) {
      start(sim, job, fit);
      ledger.add(job);
      continue;
    }
    if (headSeen) continue;
    headSeen = true;
    const choice = choosePreemptions(job, sim.running, config, nodes, sim.now, { minRuntimeMs });
    if (choice === null) continue;
    const victims = sim.running.filter((r) => choice.victims.includes(r.id));
    checkVictims(sim, job, victims, config, minRuntimeMs);
    for (const v of victims) sim.preemptions.push({ at: sim.now, by: job.id, victim: v.id, kind: choice.kind });
    sim.running = sim.running.filter((r) => !choice.victims.includes(r.id));
    sim.queue.push(...victims.map((v) => v.job));
    start(sim, job, choice.node, victims);
    ledger.add(job);
  }
}

function simulate(jobs: SimJob[], config: QuotaConfig, minRuntimeMs: number, endMs: number): Sim {
  const sim: Sim = { now: 0, queue: [], running: [], done: [], preemptions: [] };
  const arrivals = [...jobs].sort((a, b) => a.submittedAt - b.submittedAt);
  for (; sim.now <= endMs && sim.done.length < jobs.length; sim.now += MINUTE) {
    while (arrivals.length > 0 && arrivals[0]!.submittedAt <= sim.now) sim.queue.push(arrivals.shift()!);
    finishDue(sim);
    schedulePass(sim, config, minRuntimeMs);
    for (const name of ['n1', 'n2']) expect(freeOn(sim, name)).toBeGreaterThanOrEqual(0);
  }
  return sim;
}

/** Pairs (a, b) where a preempted b and, at any time, b preempted a. */
function backAndForth(preemptions: readonly Preemption[]): [number, number][] {
  const seen = new Set(preemptions.map((p) => `${p.by}>${p.victim}`));
  return preemptions.filter((p) => seen.has(`${p.victim}>${p.by}`)).map((p) => [p.by, p.victim]);
}

function randomJobs(seed: number, count: number): SimJob[] {
  const random = seededRandom(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  return Array.from({ length: count }, (_, i) => {
    const project = pick(['A', 'B', 'C']);
    const gpuCount = pick([1, 1, 2, 2, 4]);
    // A job that is not preemptible may use only its project's guarantee (3 for A and B, 0 for C).
    const preemptible = project === 'C' || gpuCount > 3 || random() < 0.7;
    const fields = { user: pick(['ann', 'ben', 'cat', 'dan']), project, gpus: gpuCount, preemptible };
    const job = pending(i + 1, { ...fields, priority: pick([0, 0, 1, 2]), submittedAt: Math.floor(random() * 3000) * MINUTE });
    return { ...job, durationMs: (20 + Math.floor(random() * 180)) * MINUTE };
  });
}

const config: QuotaConfig = {
  projects: [
    { project: 'A', guaranteed: { A100: 3 } },
    { project: 'B', guaranteed: { A100: 3 } },
  ],
  users: [],
};

describe('no preemption cycles over a long simulated run', () => {
  for (const [seed, minRuntimeMs] of [[1, 0], [2, 0], [3, 5 * MINUTE], [4, 5 * MINUTE]] as const) {
    it(`seed ${seed}, minimum runtime ${minRuntimeMs / MINUTE} min: every job ends, no pair preempts each other`, () => {
      const jobs = randomJobs(seed, 150);
      const sim = simulate(jobs, config, minRuntimeMs, 40_000 * MINUTE);
      expect(sim.done.length).toBe(jobs.length);
      expect(backAndForth(sim.preemptions)).toEqual([]);
      expect(sim.preemptions.some((p) => p.kind === 'reclaim')).toBe(true);
      expect(sim.preemptions.some((p) => p.kind === 'priority')).toBe(true);
    });
  }
});

describe('two jobs that could otherwise take turns', () => {
  it('a job that preempted another keeps its GPUs until it ends, and is not preempted back', () => {
    // B is guaranteed 4 GPUs. Y (B, 4 GPUs) borrows behind B's older 2-GPU job, so X (project C,
    // priority 5) preempts Y. Once the older job ends, Y fits within B's guarantee and could take
    // X's GPUs back; the no-cycle rule keeps X running. Y starts when X ends, and X cannot
    // preempt it then, since Y is within its guarantee.
    const cluster = [node('n1', gpus('A100', 4)), node('n2', gpus('A100', 2))];
    const bConfig: QuotaConfig = { projects: [{ project: 'B', guaranteed: { A100: 4 } }], users: [] };
    const older = running(1, { project: 'B', gpus: 2, node: 'n2', startedAt: 0, preemptible: false });
    const x = pending(3, { project: 'C', gpus: 4, priority: 5 });
    const y = pending(2, { project: 'B', gpus: 4 });
    let now = 30 * MINUTE;
    const yRunning = running(2, { ...y, node: 'n1', startedAt: 10 * MINUTE });
    expect(choosePreemptions(x, [older, yRunning], bConfig, cluster, now)).toMatchObject({ victims: [2], kind: 'priority' });
    let current: QuotaRunningJob[] = [older, running(3, { ...x, node: 'n1', startedAt: now, startedByPreempting: [{ id: 2, project: 'B', priority: 0 }] })];
    let preemptions = 1;
    for (now += MINUTE; now < 24 * 60 * MINUTE; now += MINUTE) {
      if (now === 60 * MINUTE) current = current.filter((job) => job.id !== 1);
      if (now === 200 * MINUTE) current = [running(2, { ...y, node: 'n1', startedAt: now })];
      if (now < 200 * MINUTE && choosePreemptions(y, current, bConfig, cluster, now, { minRuntimeMs: 0 }) !== null) preemptions++;
      if (now > 200 * MINUTE && choosePreemptions(x, current, bConfig, cluster, now, { minRuntimeMs: 0 }) !== null) preemptions++;
    }
    expect(preemptions).toBe(1);
  });

  it('the rule is what keeps X: a B job of another priority class would take the GPUs back', () => {
    const cluster = [node('n1', gpus('A100', 4))];
    const bConfig: QuotaConfig = { projects: [{ project: 'B', guaranteed: { A100: 4 } }], users: [] };
    const x = running(3, { project: 'C', gpus: 4, priority: 5, startedByPreempting: [{ id: 2, project: 'B', priority: 0 }] });
    expect(choosePreemptions(pending(2, { project: 'B', gpus: 4 }), [x], bConfig, cluster, 60 * MINUTE)).toBeNull();
    const other = pending(9, { project: 'B', gpus: 4, priority: 1 });
    expect(choosePreemptions(other, [x], bConfig, cluster, 60 * MINUTE)).toMatchObject({ victims: [3], kind: 'reclaim' });
  });
});
