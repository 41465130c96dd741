// plan() with a fair-share order: one pass over two users' simultaneous submissions gives each
// user half of the free GPUs instead of serving whoever sorts first.
import { describe, expect, it } from 'vitest';
import { DEFAULT_FAIR_SHARE_OPTIONS, DEFAULT_PRIORITY_CONFIG, DEFAULT_USAGE_CONFIG, FairPassOrder, buildShareTree, usageAt } from '../fairshare/index.js';
import { plan } from './plan.js';
import type { Node } from '../inventory.js';
import type { PendingJob } from './types.js';

const node: Node = {
  name: 'n1',
  cpus: 64,
  memoryGb: 512,
  gpus: [0, 1, 2, 3].map((index) => ({ index, name: 'A100', model: 'A100', memoryMb: 40960, vendor: 'fake' as const, healthy: true })),
};

function jobs(user: string, firstId: number): PendingJob[] {
  return Array.from({ length: 8 }, (_, i) => ({
    id: firstId + i, priority: 0, submittedAt: 1000, user, project: 'lab', ordered: false, runtimeLimitMs: null,
    demands: [{ gpuName: 'A100', gpus: 1, cpus: 0, memoryGb: 0 }],
  }));
}

describe('plan with a fair-share order', () => {
  it('splits free GPUs between two users who submitted at the same moment', () => {
    const pending = [...jobs('alice', 1), ...jobs('bob', 101)];
    const passJobs = pending.map((j) => ({ ...j, user: j.user!, project: j.project!, gpus: 1, allocation: { gpus: 1, cpus: 0, memoryGb: 0 } }));
    const order = new FairPassOrder(passJobs, {
      tree: buildShareTree({ projects: [] }),
      usage: usageAt([], 2000, DEFAULT_USAGE_CONFIG),
      now: 2000,
      clusterGpus: 4,
      usageConfig: DEFAULT_USAGE_CONFIG,
      fairShare: DEFAULT_FAIR_SHARE_OPTIONS,
      priority: DEFAULT_PRIORITY_CONFIG,
    });
    const result = plan(pending, { nodes: [node], running: [] }, 2000, { order: { next: () => order.next(), placed: (job) => order.placed(job as (typeof passJobs)[number]) } });
    const users = result.placements.map((p) => (p.jobId < 100 ? 'alice' : 'bob'));
    expect(users.filter((u) => u === 'alice')).toHaveLength(2);
    expect(users.filter((u) => u === 'bob')).toHaveLength(2);
    expect(new Set(result.placements.flatMap((p) => p.gpuIndices)).size).toBe(4);
  });

  it('without an order, the first user in queue order takes every free GPU', () => {
    const pending = [...jobs('alice', 1), ...jobs('bob', 101)];
    const result = plan(pending, { nodes: [node], running: [] }, 2000);
    expect(result.placements.every((p) => p.jobId < 100)).toBe(true);
  });
});
