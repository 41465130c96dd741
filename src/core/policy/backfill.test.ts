import { describe, expect, it } from 'vitest';
import { demand, gpus, node, pendingJob, runningJob } from './fixtures.js';
import { plan } from './plan.js';
import type { ClusterState, Plan } from './types.js';

const NOW = 1_700_000_000_000;
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const a100 = (count: number, fields = {}) => demand({ gpuName: 'A100', gpus: count, ...fields });
const v100 = (count: number) => demand({ gpuName: 'V100', gpus: count });

/** One 4×A100 node with GPUs 0 and 1 busy until `busyUntil`, and one 2×V100 node. */
function cluster(busyUntil: number | null): ClusterState {
  return {
    nodes: [node('a', gpus('A100', 4)), node('v', gpus('V100', 2))],
    running: [runningJob(90, 'a', [0, 1], { endsBy: busyUntil })],
  };
}

/** The head (4×A100, priority 10) and one candidate behind it. */
function withHead(candidate: ReturnType<typeof pendingJob>, busyUntil: number | null = NOW + HOUR): Plan {
  const head = pendingJob(1, [a100(4)], { priority: 10, runtimeLimitMs: HOUR });
  return plan([head, candidate], cluster(busyUntil), NOW);
}

describe('EASY backfill behind a head that needs 4 GPUs, 2 busy for an hour', () => {
  it('reserves the GPUs the head will take and when', () => {
    const result = withHead(pendingJob(2, [v100(1)], { runtimeLimitMs: HOUR }));
    expect(result.reservation).toEqual({ jobId: 1, node: 'a', gpuIndices: [0, 1, 2, 3], demandIndex: 0, startAt: NOW + HOUR });
    expect(result.waiting.get(1)).toMatchObject({ estimatedStartAt: NOW + HOUR, position: 0 });
  });

  it('backfills a 1-GPU job that ends within 30 minutes', () => {
    const result = withHead(pendingJob(2, [a100(1)], { runtimeLimitMs: 30 * MINUTE }));
    expect(result.placements).toEqual([
      { jobId: 2, node: 'a', gpuIndices: [2], cpus: 0, memoryGb: 0, demandIndex: 0, backfilled: true },
    ]);
  });

  it('backfills a job that ends exactly at the shadow time', () => {
    const result = withHead(pendingJob(2, [a100(2)], { runtimeLimitMs: HOUR }));
    expect(result.placements.map((p) => p.jobId)).toEqual([2]);
  });

  it('holds a 2-hour job that would delay the head', () => {
    const result = withHead(pendingJob(2, [a100(1)], { runtimeLimitMs: 2 * HOUR }));
    expect(result.placements).toEqual([]);
    expect(result.waiting.get(2)).toEqual({
      reason: 'held for a higher-priority job: would delay job 1; expected to start in ~2 h',
      estimatedStartAt: NOW + 2 * HOUR,
      position: 1,
    });
  });

  it('holds a job with no runtime limit', () => {
    const result = withHead(pendingJob(2, [a100(1)]));
    expect(result.placements).toEqual([]);
    expect(result.waiting.get(2)?.reason).toMatch(/^held for a higher-priority job: would delay job 1/);
  });

  it('backfills a job of a GPU type the head does not need, whatever its limit', () => {
    const result = withHead(pendingJob(2, [v100(2)]));
    expect(result.placements).toEqual([expect.objectContaining({ jobId: 2, node: 'v', gpuIndices: [0, 1], backfilled: true })]);
  });

  it('does not mark jobs placed before any job had to wait as backfilled', () => {
    const jobs = [pendingJob(1, [a100(2)]), pendingJob(2, [a100(4)]), pendingJob(3, [v100(1)])];
    const result = plan(jobs, cluster(NOW + HOUR), NOW);
    expect(result.placements.map((p) => [p.jobId, p.backfilled])).toEqual([
      [1, false],
      [3, true],
    ]);
  });

  it('lets a long job use the reserved node’s GPUs the head will not take', () => {
    const nodes = [node('a', gpus('A100', 8))];
    const running = [runningJob(90, 'a', [0, 1, 2, 3, 4, 5], { endsBy: NOW + HOUR })];
    const head = pendingJob(1, [a100(4)], { priority: 10 });
    const result = plan([head, pendingJob(2, [a100(2)]), pendingJob(3, [a100(1)])], { nodes, running }, NOW);
    expect(result.reservation?.gpuIndices).toEqual([0, 1, 2, 3]);
    expect(result.placements.map((p) => [p.jobId, p.gpuIndices])).toEqual([[2, [6, 7]]]);
  });

  it('keeps the CPUs the head needs on the reserved node at the shadow time', () => {
    const nodes = [node('a', gpus('A100', 4), 16)];
    const running = [runningJob(90, 'a', [0, 1], { cpus: 8, endsBy: NOW + HOUR })];
    const head = pendingJob(1, [a100(4, { cpus: 12 })], { priority: 10 });
    const jobs = [head, pendingJob(2, [demand({ cpus: 6 })]), pendingJob(3, [demand({ cpus: 4 })])];
    const result = plan(jobs, { nodes, running }, NOW);
    expect(result.placements.map((p) => p.jobId)).toEqual([3]);
    expect(result.waiting.get(2)?.reason).toMatch(/would delay job 1/);
  });
});

describe('backfill when the head waits on a job with no runtime limit', () => {
  it('has no shadow time and lets only jobs outside its reservation start', () => {
    const jobs = [
      pendingJob(1, [a100(4)], { priority: 10, runtimeLimitMs: HOUR }),
      pendingJob(2, [a100(1)], { runtimeLimitMs: MINUTE }),
      pendingJob(3, [v100(1)]),
    ];
    const result = plan(jobs, cluster(null), NOW);
    expect(result.reservation).toMatchObject({ jobId: 1, startAt: null });
    expect(result.placements.map((p) => p.jobId)).toEqual([3]);
    expect(result.waiting.get(1)).toEqual({
      reason: 'waiting for 4 × A100: at most 2 free of 4 on one node; first in line, start unknown: a job it needs has no runtime limit',
      estimatedStartAt: null,
      position: 0,
    });
  });

  it('ignores endless jobs on nodes the head does not need', () => {
    const nodes = [node('a', gpus('A100', 4)), node('b', gpus('A100', 4))];
    const running = [runningJob(90, 'a', [0], { endsBy: null }), runningJob(91, 'b', [0, 1], { endsBy: NOW + HOUR })];
    const result = plan([pendingJob(1, [a100(4)])], { nodes, running }, NOW);
    expect(result.reservation).toEqual({ jobId: 1, node: 'b', gpuIndices: [0, 1, 2, 3], demandIndex: 0, startAt: NOW + HOUR });
  });

  it('picks the earliest node, then the earliest alternative', () => {
    const nodes = [node('a', gpus('A100', 4)), node('h', gpus('H100', 4))];
    const running = [
      runningJob(90, 'a', [0, 1, 2], { endsBy: NOW + 2 * HOUR }),
      runningJob(91, 'h', [0, 1, 2], { endsBy: NOW + HOUR }),
    ];
    const head = pendingJob(1, [a100(2), demand({ gpuName: 'H100', gpus: 2 })], { ordered: true });
    const result = plan([head], { nodes, running }, NOW);
    expect(result.reservation).toMatchObject({ node: 'h', demandIndex: 1, startAt: NOW + HOUR, gpuIndices: [0, 1] });
  });
});
