import { describe, expect, it } from 'vitest';
import { buildShareTree, fairShare } from './tree.js';
import { DAY_MS, HOUR_MS, type UsageTable } from './usage.js';
import {
  DEFAULT_MAX_AGE_MS,
  DEFAULT_PRIORITY_CONFIG,
  DEFAULT_WEIGHTS,
  ageFactor,
  explicitFactor,
  multifactorPriority,
  sizeFactor,
  type PriorityContext,
  type PriorityJob,
} from './priority.js';

const NOW = 1_700_000_000_000;
const tree = buildShareTree({ projects: [{ name: 'lab', users: [{ name: 'light' }, { name: 'idle' }, { name: 'heavy' }, { name: 'urgent' }] }] });
const table: UsageTable = new Map([['lab', new Map([['heavy', { consumed: 500, heldRate: 0 }], ['urgent', { consumed: 800, heldRate: 0 }]])]]);
const context: PriorityContext = { now: NOW, clusterGpus: 8, fairShare: fairShare(tree, table).factor };

function job(user: string, fields: Partial<PriorityJob> = {}): PriorityJob {
  return { user, project: 'lab', priority: 0, submittedAt: NOW - HOUR_MS, gpus: 1, ...fields };
}

function rank(jobs: PriorityJob[]): string[] {
  return jobs
    .map((j) => ({ j, p: multifactorPriority(j, context).priority }))
    .sort((a, b) => b.p - a.p || a.j.submittedAt - b.j.submittedAt)
    .map(({ j }) => `${j.user}@${j.priority}`);
}

describe('factors', () => {
  it('age grows linearly to 1 at the max age and is 0 for a job from the future', () => {
    expect(ageFactor(NOW, NOW, DEFAULT_MAX_AGE_MS)).toBe(0);
    expect(ageFactor(NOW - 3.5 * DAY_MS, NOW, DEFAULT_MAX_AGE_MS)).toBeCloseTo(0.5, 12);
    expect(ageFactor(NOW - 30 * DAY_MS, NOW, DEFAULT_MAX_AGE_MS)).toBe(1);
    expect(ageFactor(NOW + DAY_MS, NOW, DEFAULT_MAX_AGE_MS)).toBe(0);
  });

  it('explicit maps -1000..1000 linearly onto 0..1', () => {
    expect(explicitFactor(-1000)).toBe(0);
    expect(explicitFactor(0)).toBe(0.5);
    expect(explicitFactor(1000)).toBe(1);
    expect(explicitFactor(5000)).toBe(1);
  });

  it('size is requested GPUs over cluster GPUs, or its complement when favouring small jobs', () => {
    expect(sizeFactor(2, 8, false)).toBe(0.25);
    expect(sizeFactor(2, 8, true)).toBe(0.75);
    expect(sizeFactor(16, 8, false)).toBe(1);
    expect(sizeFactor(0, 0, false)).toBe(0);
  });

  it('priority is the weighted sum of the factors it reports', () => {
    const { priority, factors } = multifactorPriority(job('heavy', { gpus: 4, submittedAt: NOW - DAY_MS, priority: 200 }), context);
    const w = DEFAULT_WEIGHTS;
    expect(priority).toBeCloseTo(w.fairShare * factors.fairShare + w.age * factors.age + w.explicit * factors.explicit + w.size * factors.size, 9);
    expect(factors).toEqual({ fairShare: 0.5, age: expect.closeTo(1 / 7, 12), explicit: 0.6, size: 0.5 });
  });
});

describe('default weights', () => {
  const w = DEFAULT_PRIORITY_CONFIG.weights;

  it('let fair share outweigh age and size together, and priority 1000 outweigh everything else', () => {
    expect(w.fairShare).toBeGreaterThan(w.age + w.size);
    expect(w.explicit * (explicitFactor(1000) - explicitFactor(0))).toBeGreaterThan(w.fairShare + w.age + w.size);
  });
});

describe('multifactorPriority ordering', () => {
  it('ranks a user with no usage before a heavy user at equal explicit priority', () => {
    expect(rank([job('heavy'), job('light')])).toEqual(['light@0', 'heavy@0']);
  });

  it('ranks explicit priority 1000 before both, even from the heaviest user', () => {
    expect(rank([job('heavy'), job('urgent', { priority: 1000 }), job('light')])).toEqual(['urgent@1000', 'light@0', 'heavy@0']);
  });

  it('lets fair share win over a week of waiting at equal explicit priority', () => {
    expect(rank([job('heavy', { submittedAt: NOW - 30 * DAY_MS }), job('light', { submittedAt: NOW })])).toEqual(['light@0', 'heavy@0']);
  });

  it('breaks ties by age: between users of equal fair share, and between jobs of one user', () => {
    const older = job('idle', { submittedAt: NOW - 2 * DAY_MS });
    const newer = job('light', { submittedAt: NOW - DAY_MS });
    expect(multifactorPriority(older, context).factors.fairShare).toBe(multifactorPriority(newer, context).factors.fairShare);
    expect(multifactorPriority(older, context).priority).toBeGreaterThan(multifactorPriority(newer, context).priority);
    expect(rank([newer, older])).toEqual(['idle@0', 'light@0']);
    const sameUser = job('light', { submittedAt: NOW - 3 * DAY_MS });
    expect(multifactorPriority(sameUser, context).priority).toBeGreaterThan(multifactorPriority(newer, context).priority);
  });
});
