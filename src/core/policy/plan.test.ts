import { describe, expect, it } from 'vitest';
import { demand, gpus, node, pendingJob, runningJob } from './fixtures.js';
import { orderQueue, plan } from './plan.js';
import type { ClusterState, Plan } from './types.js';

const NOW = 1_700_000_000_000;
const MINUTE = 60_000;
const a100 = (count: number, fields = {}) => demand({ gpuName: 'A100', gpus: count, ...fields });

function placedIds(result: Plan): number[] {
  return result.placements.map((p) => p.jobId);
}

function placementOf(result: Plan, jobId: number) {
  const placement = result.placements.find((p) => p.jobId === jobId);
  if (placement === undefined) throw new Error(`job ${jobId} was not placed`);
  return placement;
}

describe('orderQueue', () => {
  it('orders by priority, then submission time, then id', () => {
    const jobs = [
      pendingJob(5, [], { priority: 0, submittedAt: 10 }),
      pendingJob(3, [], { priority: 1, submittedAt: 30 }),
      pendingJob(4, [], { priority: 1, submittedAt: 20 }),
      pendingJob(2, [], { priority: 0, submittedAt: 10 }),
      pendingJob(1, [], { priority: -1, submittedAt: 0 }),
    ];
    expect(orderQueue(jobs).map((j) => j.id)).toEqual([4, 3, 2, 5, 1]);
    expect(jobs[0]!.id).toBe(5);
  });
});

describe('plan: placing on free GPUs', () => {
  const cluster = (running: ClusterState['running'] = []): ClusterState => ({
    nodes: [node('box', gpus('A100', 4))],
    running,
  });

  it('gives six 2×A100 jobs on a 4×A100 node exactly two disjoint placements', () => {
    const jobs = [1, 2, 3, 4, 5, 6].map((id) => pendingJob(id, [a100(2)]));
    const result = plan(jobs, cluster(), NOW);
    expect(result.placements.map((p) => [p.jobId, p.gpuIndices])).toEqual([
      [1, [0, 1]],
      [2, [2, 3]],
    ]);
    expect([...result.waiting.keys()]).toEqual([3, 4, 5, 6]);
    expect([...result.waiting.values()].map((w) => w.position)).toEqual([0, 1, 2, 3]);
  });

  it('gives the next job the GPUs freed when a job ends', () => {
    const jobs = [3, 4, 5, 6].map((id) => pendingJob(id, [a100(2)]));
    const still = runningJob(2, 'box', [2, 3]);
    const result = plan(jobs, cluster([still]), NOW);
    expect(result.placements.map((p) => [p.jobId, p.gpuIndices])).toEqual([[3, [0, 1]]]);
  });

  it('starts higher priority first, then the earlier submitted', () => {
    const jobs = [
      pendingJob(1, [a100(4)], { priority: 0, submittedAt: 1 }),
      pendingJob(2, [a100(4)], { priority: 5, submittedAt: 9 }),
      pendingJob(3, [a100(4)], { priority: 5, submittedAt: 3 }),
    ];
    const result = plan(jobs, cluster(), NOW);
    expect(placedIds(result)).toEqual([3]);
    expect(result.waiting.get(2)?.position).toBe(0);
    expect(result.waiting.get(1)?.position).toBe(1);
  });

  it('picks the node with the fewest free matching GPUs that fits, ties by node order', () => {
    const nodes = [node('big', gpus('A100', 8)), node('small-1', gpus('A100', 4)), node('small-2', gpus('A100', 4))];
    const running = [runningJob(90, 'small-1', [0, 1])];
    const result = plan([pendingJob(1, [a100(2)]), pendingJob(2, [a100(3)])], { nodes, running }, NOW);
    expect(placementOf(result, 1)).toMatchObject({ node: 'small-1', gpuIndices: [2, 3] });
    expect(placementOf(result, 2)).toMatchObject({ node: 'small-2', gpuIndices: [0, 1, 2] });
  });

  it('matches GPU names case-insensitively and never uses unhealthy GPUs', () => {
    const nodes = [node('box', gpus('A100', 4, [0, 2]))];
    const result = plan([pendingJob(1, [demand({ gpuName: 'a100', gpus: 2 })]), pendingJob(2, [a100(1)])], { nodes, running: [] }, NOW);
    expect(placementOf(result, 1).gpuIndices).toEqual([1, 3]);
    expect(result.waiting.has(2)).toBe(true);
  });
});

describe('plan: demands with alternatives', () => {
  const nodes = [node('mixed', [...gpus('H100', 2), ...gpus('A100', 2, [], 2)])];

  it('takes the first alternative that fits, in order, and reports which', () => {
    const running = [runningJob(90, 'mixed', [0, 1])];
    const job = pendingJob(1, [demand({ gpuName: 'H100', gpus: 1 }), a100(1)], { ordered: true });
    const result = plan([job], { nodes, running }, NOW);
    expect(placementOf(result, 1)).toMatchObject({ demandIndex: 1, gpuIndices: [2] });
  });

  it('prefers an earlier alternative when several fit', () => {
    const job = pendingJob(1, [a100(2), demand({ gpuName: 'H100', gpus: 1 })], { ordered: false });
    const result = plan([job], { nodes, running: [] }, NOW);
    expect(placementOf(result, 1)).toMatchObject({ demandIndex: 0, gpuIndices: [2, 3] });
  });

  it('gives an any-type demand GPUs of one type only', () => {
    const running = [runningJob(90, 'mixed', [0])];
    const result = plan([pendingJob(1, [demand({ gpus: 2 })])], { nodes, running }, NOW);
    expect(placementOf(result, 1).gpuIndices).toEqual([2, 3]);
  });
});

describe('plan: CPUs and memory', () => {
  it('places CPU-only jobs with no GPUs, preferring nodes without free GPUs', () => {
    const nodes = [node('gpu', gpus('A100', 4)), node('cpu', [], 32, 128)];
    const result = plan([pendingJob(1, [demand({ cpus: 8, memoryGb: 16 })])], { nodes, running: [] }, NOW);
    expect(placementOf(result, 1)).toMatchObject({ node: 'cpu', gpuIndices: [], cpus: 8, memoryGb: 16 });
  });

  it('blocks a job whose GPUs are free when the node lacks CPUs', () => {
    const nodes = [node('box', gpus('A100', 4), 16, 256)];
    const running = [runningJob(90, 'box', [0], { cpus: 12, endsBy: NOW + 10 * MINUTE })];
    const result = plan([pendingJob(1, [a100(1, { cpus: 8 })])], { nodes, running }, NOW);
    expect(result.placements).toEqual([]);
    const wait = result.waiting.get(1)!;
    expect(wait.reason).toContain('not enough CPUs or memory');
    expect(wait.estimatedStartAt).toBe(NOW + 10 * MINUTE);
  });

  it('accounts memory across placements of one pass', () => {
    const nodes = [node('box', gpus('A100', 4), 64, 100)];
    const jobs = [pendingJob(1, [a100(1, { memoryGb: 60 })]), pendingJob(2, [a100(1, { memoryGb: 60 })])];
    const result = plan(jobs, { nodes, running: [] }, NOW);
    expect(placedIds(result)).toEqual([1]);
  });
});

describe('plan: jobs that can never fit', () => {
  it('skips them without blocking the jobs behind', () => {
    const nodes = [node('box', gpus('A100', 4))];
    const jobs = [pendingJob(1, [a100(8)], { priority: 9 }), pendingJob(2, [demand({ gpuName: 'TPU', gpus: 1 })]), pendingJob(3, [a100(4)])];
    const result = plan(jobs, { nodes, running: [] }, NOW);
    expect(result.placements).toEqual([expect.objectContaining({ jobId: 3, backfilled: false })]);
    expect(result.reservation).toBeNull();
    expect(result.waiting.get(1)).toEqual({
      reason: 'can never start: no node has 8 × A100 (at most 4 healthy on one node)',
      estimatedStartAt: null,
      position: 0,
    });
    expect(result.waiting.get(2)?.reason).toBe('can never start: no node has TPU GPUs (none here)');
  });

  it('counts a job needing more CPUs than any node has as never fitting', () => {
    const nodes = [node('box', gpus('A100', 4), 16)];
    const result = plan([pendingJob(1, [a100(1, { cpus: 32 })]), pendingJob(2, [a100(1)])], { nodes, running: [] }, NOW);
    expect(placedIds(result)).toEqual([2]);
    expect(result.waiting.get(1)?.reason).toBe('can never start: no node has 1 × A100, 32 CPUs');
  });
});

describe('plan: wait reasons', () => {
  it('tells the head how many GPUs are free and when it should start', () => {
    const nodes = [node('box', gpus('A100', 4))];
    const running = [runningJob(90, 'box', [0, 1, 2], { endsBy: NOW + 12 * MINUTE })];
    const jobs = [pendingJob(1, [a100(2)], { runtimeLimitMs: 60 * MINUTE }), pendingJob(2, [a100(2)])];
    const result = plan(jobs, { nodes, running }, NOW);
    expect(result.waiting.get(1)).toEqual({
      reason: 'waiting for 2 × A100: 1 free of 4; first in line, expected to start in ~12 min',
      estimatedStartAt: NOW + 12 * MINUTE,
      position: 0,
    });
    expect(result.waiting.get(2)?.reason).toBe('1 job ahead; needs 2 × A100; expected to start in ~12 min');
    expect(result.waiting.get(2)?.estimatedStartAt).toBe(NOW + 12 * MINUTE);
  });

  it('estimates later jobs from runtime limits and says unknown without them', () => {
    const nodes = [node('box', gpus('A100', 2))];
    const running = [runningJob(90, 'box', [0, 1], { endsBy: NOW + 30 * MINUTE })];
    const jobs = [
      pendingJob(1, [a100(2)], { runtimeLimitMs: 60 * MINUTE }),
      pendingJob(2, [a100(2)]),
      pendingJob(3, [a100(1)]),
    ];
    const result = plan(jobs, { nodes, running }, NOW);
    expect(result.waiting.get(1)?.estimatedStartAt).toBe(NOW + 30 * MINUTE);
    expect(result.waiting.get(2)?.estimatedStartAt).toBe(NOW + 90 * MINUTE);
    expect(result.waiting.get(3)).toEqual({ reason: '2 jobs ahead; needs 1 × A100', estimatedStartAt: null, position: 2 });
  });

  it('estimates per node: free GPUs spread over nodes do not add up', () => {
    const nodes = [node('a', gpus('A100', 4)), node('b', gpus('A100', 4))];
    const running = [runningJob(90, 'a', [0, 1]), runningJob(91, 'b', [0, 1], { endsBy: NOW + 30 * MINUTE })];
    const jobs = [pendingJob(1, [a100(4)], { runtimeLimitMs: 60 * MINUTE }), pendingJob(2, [a100(4)]), pendingJob(3, [a100(2)])];
    const result = plan(jobs, { nodes, running }, NOW);
    expect(result.placements.map((p) => [p.jobId, p.node, p.gpuIndices])).toEqual([[3, 'a', [2, 3]]]);
    expect(result.waiting.get(1)?.estimatedStartAt).toBe(NOW + 30 * MINUTE);
    expect(result.waiting.get(2)?.estimatedStartAt).toBe(NOW + 90 * MINUTE);
  });

  it('ignores running jobs on nodes the cluster no longer has', () => {
    const nodes = [node('box', gpus('A100', 2))];
    const running = [runningJob(90, 'gone', [0, 1])];
    expect(placedIds(plan([pendingJob(1, [a100(2)])], { nodes, running }, NOW))).toEqual([1]);
  });
});
