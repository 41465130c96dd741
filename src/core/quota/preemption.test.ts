import { describe, expect, it } from 'vitest';
import { gpus, node } from '../policy/fixtures.js';
import { MINUTE, pending, running } from './fixtures.js';
import { choosePreemptions, fewestFreeing } from './preemption.js';
import type { QuotaConfig } from './types.js';

const config: QuotaConfig = {
  projects: [{ project: 'A', guaranteed: { A100: 2 } }],
  users: [{ user: 'capped', maxGpus: 1 }],
};
/** The same, with project B guaranteed 2 GPUs too. */
const bothGuaranteed: QuotaConfig = { ...config, projects: [...config.projects, { project: 'B', guaranteed: { A100: 2 } }] };
const oneNode = [node('n1', gpus('A100', 4))];
const NOW = 60 * MINUTE;

/** Project B holds all four GPUs of n1 with one-GPU jobs started at 0, 10, 20 and 30 minutes. */
function bHoldsAll(overrides: Record<number, Partial<Parameters<typeof running>[1]>> = {}) {
  return [1, 2, 3, 4].map((id) => running(id, { project: 'B', startedAt: (id - 1) * 10 * MINUTE, ...overrides[id] }));
}

describe('reclaim: a project below its guarantee takes GPUs back from borrowers', () => {
  it('chooses exactly the youngest B jobs that free 2 GPUs (the issue scenario)', () => {
    const head = pending(10, { project: 'A', gpus: 2 });
    const choice = choosePreemptions(head, bHoldsAll(), config, oneNode, NOW);
    expect(choice).toMatchObject({ victims: [3, 4], for: 10, node: 'n1', kind: 'reclaim' });
    expect(choice?.reason).toContain('project A takes back its guaranteed A100 GPUs');
  });

  it('reclaims even from borrowers of higher priority', () => {
    const head = pending(10, { project: 'A', gpus: 2, priority: -5 });
    const choice = choosePreemptions(head, bHoldsAll({ 3: { priority: 9 }, 4: { priority: 9 } }), config, oneNode, NOW);
    expect(choice?.victims).toEqual([3, 4]);
  });

  it('never chooses a non-preemptible job', () => {
    const head = pending(10, { project: 'A', gpus: 2 });
    const choice = choosePreemptions(head, bHoldsAll({ 4: { preemptible: false } }), config, oneNode, NOW);
    expect(choice?.victims).toEqual([2, 3]);
  });

  it('never preempts a job that has run less than the minimum runtime', () => {
    const head = pending(10, { project: 'A', gpus: 2 });
    const fresh = bHoldsAll({ 4: { startedAt: NOW - 4 * MINUTE } });
    expect(choosePreemptions(head, fresh, config, oneNode, NOW)?.victims).toEqual([2, 3]);
    expect(choosePreemptions(head, fresh, config, oneNode, NOW, { minRuntimeMs: 0 })?.victims).toEqual([3, 4]);
    const allFresh = bHoldsAll({ 1: { startedAt: NOW - MINUTE }, 2: { startedAt: NOW - MINUTE }, 3: { startedAt: NOW - MINUTE }, 4: { startedAt: NOW - MINUTE } });
    expect(choosePreemptions(head, allFresh, config, oneNode, NOW)).toBeNull();
  });

  it('frees the GPUs on one node: fewest jobs first, then the youngest set', () => {
    const nodes = [node('n1', gpus('A100', 2)), node('n2', gpus('A100', 2))];
    const scattered = [
      running(1, { project: 'B', node: 'n1', startedAt: 0 }),
      running(2, { project: 'B', node: 'n2', startedAt: 10 * MINUTE }),
      running(3, { project: 'B', node: 'n2', startedAt: 20 * MINUTE }),
      running(4, { project: 'B', node: 'n1', startedAt: 35 * MINUTE }),
    ];
    const head = pending(10, { project: 'A', gpus: 2 });
    // n1 loses 60 + 25 minutes of work, n2 50 + 40: n1 wins although job 3 is younger than job 1.
    expect(choosePreemptions(head, scattered, config, nodes, NOW)).toMatchObject({ victims: [1, 4], node: 'n1' });
    const oneBig = [...scattered.slice(0, 1), ...scattered.slice(3), running(5, { project: 'B', node: 'n2', gpus: 2, startedAt: 0 })];
    expect(choosePreemptions(head, oneBig, config, nodes, NOW)).toMatchObject({ victims: [5], node: 'n2' });
  });

  it('takes only borrowers: B jobs within its guarantee are safe', () => {
    const head = pending(10, { project: 'A', gpus: 2 });
    expect(choosePreemptions(head, bHoldsAll(), bothGuaranteed, oneNode, NOW)?.victims).toEqual([3, 4]);
    expect(choosePreemptions(head, bHoldsAll({ 4: { preemptible: false } }), bothGuaranteed, oneNode, NOW)).toBeNull();
  });
});

describe('priority: a higher-priority job preempts lower-priority borrowers', () => {
  const none: QuotaConfig = { projects: [], users: [] };

  it('picks the fewest jobs, even an older one', () => {
    const jobs = [running(1, { gpus: 2, startedAt: 0 }), running(2, { startedAt: 20 * MINUTE }), running(3, { startedAt: 30 * MINUTE })];
    const choice = choosePreemptions(pending(10, { gpus: 2, priority: 10 }), jobs, none, oneNode, NOW);
    expect(choice).toMatchObject({ victims: [1], kind: 'priority' });
    expect(choice?.reason).toContain('job 10 (priority 10) outranks borrowing jobs of lower priority');
  });

  it('then the youngest', () => {
    const jobs = [1, 2, 3, 4].map((id) => running(id, { startedAt: id * MINUTE * 7 }));
    expect(choosePreemptions(pending(10, { priority: 1 }), jobs, none, oneNode, NOW)?.victims).toEqual([4]);
  });

  it('never preempts equal or higher priority, or jobs within their guarantee', () => {
    const equal = [1, 2, 3, 4].map((id) => running(id, { project: 'C' }));
    expect(choosePreemptions(pending(10, { project: 'C' }), equal, none, oneNode, NOW)).toBeNull();
    const withinB = [running(1, { project: 'B' }), running(2, { project: 'B' }), running(3, { project: 'A' }), running(4, { project: 'A' })];
    expect(choosePreemptions(pending(10, { project: 'C', priority: 99 }), withinB, bothGuaranteed, oneNode, NOW)).toBeNull();
  });

  it('is the fallback when the head would borrow, so cannot reclaim', () => {
    const jobs = [running(1, { project: 'A', gpus: 2 }), running(2, { project: 'B', gpus: 2, startedAt: MINUTE }), running(3, { project: 'B', startedAt: 2 * MINUTE })];
    const fiveGpus = [node('n1', gpus('A100', 5))];
    const head = pending(10, { project: 'A', priority: 3 });
    expect(choosePreemptions(head, jobs, bothGuaranteed, fiveGpus, NOW)).toMatchObject({ victims: [3], kind: 'priority' });
    expect(choosePreemptions({ ...head, priority: 0 }, jobs, bothGuaranteed, fiveGpus, NOW)).toBeNull();
  });
});

describe('when nothing is preempted', () => {
  const head = pending(10, { project: 'A', gpus: 2 });

  it('the head fits now, or once already terminating jobs end', () => {
    expect(choosePreemptions(head, bHoldsAll().slice(0, 2), config, oneNode, NOW)).toBeNull();
    const stopping = bHoldsAll({ 3: { terminating: true }, 4: { terminating: true } });
    expect(choosePreemptions(head, stopping, config, oneNode, NOW)).toBeNull();
  });

  it('the head is refused by its quota: a cap, or not preemptible beyond its guarantee', () => {
    expect(choosePreemptions({ ...head, user: 'capped' }, bHoldsAll(), config, oneNode, NOW)).toBeNull();
    const aHolds = [running(1, { project: 'A' }), ...bHoldsAll().slice(1)];
    expect(choosePreemptions({ ...head, preemptible: false, priority: 9 }, aHolds, config, oneNode, NOW)).toBeNull();
  });

  it('no node has enough healthy GPUs of the type', () => {
    const sick = [node('n1', gpus('A100', 4, [0, 1, 2]))];
    expect(choosePreemptions(head, [running(1, { project: 'B', node: 'n1' })], config, sick, NOW)).toBeNull();
    expect(choosePreemptions({ ...head, gpuType: 'H100' }, bHoldsAll(), config, oneNode, NOW)).toBeNull();
  });

  it('the only borrowers started by preempting a job of the head class', () => {
    const x = running(7, { project: 'C', gpus: 2, startedAt: 0, startedByPreempting: [{ id: 3, project: 'B', priority: 0 }] });
    const jobs = [running(1, { project: 'B', gpus: 2 }), x];
    const headB = pending(3, { project: 'B', gpus: 2 });
    const bConfig: QuotaConfig = { projects: [{ project: 'B', guaranteed: { A100: 4 } }], users: [] };
    expect(choosePreemptions(headB, jobs, bConfig, oneNode, NOW)).toBeNull();
    expect(choosePreemptions({ ...headB, id: 11 }, jobs, bConfig, oneNode, NOW)).toBeNull();
    expect(choosePreemptions({ ...headB, id: 11, priority: 1 }, jobs, bConfig, oneNode, NOW)?.victims).toEqual([7]);
  });
});

describe('fewestFreeing', () => {
  it('finds the smallest set, then the one with least work lost', () => {
    const jobs = [running(1, { gpus: 3, startedAt: 0 }), running(2, { gpus: 2, startedAt: 50 }), running(3, { gpus: 2, startedAt: 60 }), running(4, { gpus: 1, startedAt: 70 })];
    expect(fewestFreeing(jobs, 4, 100)?.map((j) => j.id)).toEqual([2, 3]);
    expect(fewestFreeing(jobs, 3, 100)?.map((j) => j.id)).toEqual([1]);
    expect(fewestFreeing(jobs, 1, 100)?.map((j) => j.id)).toEqual([4]);
    expect(fewestFreeing(jobs, 9, 100)).toBeNull();
  });
});
