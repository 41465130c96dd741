// Each policy on tiny traces whose schedules are worked out by hand in the comments.
import { describe, expect, it } from 'vitest';
import { slurmPolicy, stintPolicy } from './core-policies.js';
import { replay } from './engine.js';
import type { SimJob, SimPolicy } from './job.js';
import { fifoPolicy, sjfPolicy, srtfPolicy } from './simple-policies.js';
import { simulate } from './simulate.js';
import type { TraceJob } from './trace.js';

const job = (id: number, submit: number, duration: number, gpus: number, tenant = 'A'): TraceJob => ({ id, submit, duration, gpus, tenant, user: tenant });
const noQuotas = { guarantees: new Map<string, number>(), limits: 'oracle' as const };

function run(policy: SimPolicy, jobs: TraceJob[], nodes: number, gpusPerNode: number, weights?: Map<string, number>) {
  const out = replay({ jobs, nodes, gpusPerNode, weights }, policy);
  const byId = new Map<number, SimJob>(out.jobs.map((j) => [j.trace.id, j]));
  return { ...out, end: (id: number) => byId.get(id)!.end, queued: (id: number) => byId.get(id)!.queued };
}

describe('fifo, sjf and srtf on one GPU', () => {
  // J1 0..100; J2 arrives at 1 (50 s), J3 at 2 (10 s).
  const jobs = [job(1, 0, 100, 1), job(2, 1, 50, 1), job(3, 2, 10, 1)];

  it('fifo runs them in submission order', () => {
    // J2 100..150, J3 150..160: JCT 100, 149, 158
    const r = run(fifoPolicy(), jobs, 1, 1);
    expect([r.end(1), r.end(2), r.end(3)]).toEqual([100, 150, 160]);
    expect(r.result.avgJct).toBeCloseTo(407 / 3, 12);
  });

  it('sjf runs the shortest waiting job first, without preempting', () => {
    // J3 100..110, J2 110..160: JCT 100, 159, 108
    const r = run(sjfPolicy(), jobs, 1, 1);
    expect([r.end(1), r.end(2), r.end(3)]).toEqual([100, 160, 110]);
    expect(r.result.preemptions).toBe(0);
  });

  it('srtf suspends the job with the longest remaining time and resumes it later', () => {
    // t=1: J2 (50) < J1's 99 left -> J1 suspended; t=2: J3 (10) < J2's 49 -> J2 suspended;
    // J3 2..12, J2 12..61 (49 left), J1 61..160 (99 left). Pending: J1 1..61 = 60, J2 2..12 = 10.
    const r = run(srtfPolicy(), jobs, 1, 1);
    expect([r.end(1), r.end(2), r.end(3)]).toEqual([160, 61, 12]);
    expect([r.queued(1), r.queued(2), r.queued(3)]).toEqual([60, 10, 0]);
    expect(r.result.preemptions).toBe(2);
    expect(r.result.avgJct).toBeCloseTo((160 + 60 + 10) / 3, 12);
  });
});

describe('slurm and stint backfill through the core policy', () => {
  // One node of 4 GPUs. J1 takes 3 GPUs 0..100. J2 (2 GPUs) waits for it: shadow time 100.
  // J3 (1 GPU, 50 s) arrives at 2 and ends at 52 <= 100: EASY backfill starts it at once.
  const jobs = [job(1, 0, 100, 3), job(2, 1, 100, 2), job(3, 2, 50, 1)];

  for (const make of [() => slurmPolicy(noQuotas), () => stintPolicy(noQuotas)]) {
    it(`${make().name} backfills the short job; fifo makes it wait`, () => {
      const r = run(make(), jobs, 1, 4);
      expect(r.queued(3)).toBe(0);
      expect(r.end(2)).toBe(200);
      expect(run(fifoPolicy(), jobs, 1, 4).queued(3)).toBe(98); // J3 starts with J2 at 100
    });
  }

  it('a job wider than a node starts on whole free nodes at once', () => {
    // 3 nodes of 8: J1 (4 GPUs) on one node; J2 (16 GPUs) takes the two free nodes at 1.
    const r = run(stintPolicy(noQuotas), [job(1, 0, 10, 4), job(2, 1, 10, 16)], 3, 8);
    expect(r.queued(2)).toBe(0);
    expect(r.end(2)).toBe(11);
  });

  it('a waiting gang job reserves its nodes: a long small job does not delay it', () => {
    // 2 nodes of 8: J1 (4 GPUs) 0..100. J2 (16 GPUs) needs both nodes: waits until 100.
    // J3 (1 GPU, 500 s) at 2 would delay J2 to 502; both nodes are reserved, so it waits: 110..610.
    const r = run(stintPolicy(noQuotas), [job(1, 0, 100, 4), job(2, 1, 10, 16), job(3, 2, 500, 1)], 2, 8);
    expect(r.end(2)).toBe(110);
    expect(r.queued(3)).toBe(108);
  });
});

describe('stint with tenant guarantees', () => {
  it('takes back a guarantee by preempting a borrower, which starts over', () => {
    // One node of 4 GPUs; A and B are guaranteed 2 each. A's J1 (4 GPUs, 1000 s) borrows B's 2.
    // At 400 (past the 5 min minimum run time) B's J2 (2 GPUs, 100 s) arrives: J1 is preempted,
    // J2 runs 400..500, J1 starts over at 500 and ends at 1500.
    const guarantees = new Map([['A', 2], ['B', 2]]);
    const jobs = [job(1, 0, 1000, 4, 'A'), job(2, 400, 100, 2, 'B')];
    const r = run(stintPolicy({ guarantees, limits: 'oracle' }), jobs, 1, 4, guarantees);
    expect(r.queued(2)).toBe(0);
    expect(r.end(1)).toBe(1500);
    expect(r.result.preemptions).toBe(1);
    // slurm has no guarantees: J2 waits for J1 to end at 1000
    const slurm = run(slurmPolicy({ guarantees, limits: 'oracle' }), jobs, 1, 4, guarantees);
    expect(slurm.queued(2)).toBe(600);
  });
});

describe('simulate with isolated tenant clusters', () => {
  it('replays each tenant on its own cluster and pools the jobs', () => {
    // A and B each get one node of 2 GPUs; C has no cluster; B's 4-GPU job is too large for its own.
    const jobs = [job(1, 0, 100, 2, 'A'), job(2, 0, 50, 2, 'B'), job(3, 5, 10, 1, 'C'), job(4, 6, 10, 4, 'B')];
    const quotas = [{ tenant: 'A', gpus: 2 }, { tenant: 'B', gpus: 2 }];
    const run = simulate({ jobs, shape: { nodes: 2, gpusPerNode: 2 }, quotas, isolate: true, limits: 'oracle' }, 'fifo');
    // Alone, A and B start at once: JCT 100 and 50, no queueing; makespan 100; busy 200 + 100 GPU-s of 4 GPUs x 100 s
    expect(run.result.jobs).toBe(2);
    expect(run.result.avgJct).toBe(75);
    expect(run.result.utilization).toBeCloseTo(300 / 400, 12);
    expect(run.result.jainIndex).toBeNull();
    expect(run.result.tenants.A).toEqual({ gpuSeconds: 200, share: 200 / 300, fairShare: 0.5 });
    expect(run.skipped.map((s) => s.id).sort()).toEqual([3, 4]);
  });
});
