import { describe, expect, it } from 'vitest';
import { seededRandom } from '../policy/fixtures.js';
import { FairPassOrder, passPriority, type PassInput, type PassJob } from './pass-order.js';
import { DEFAULT_PRIORITY_CONFIG, multifactorPriority } from './priority.js';
import { DEFAULT_FAIR_SHARE_OPTIONS, buildShareTree, fairShare } from './tree.js';
import { DAY_MS, DEFAULT_USAGE_CONFIG, billingRate, memberUsage, type UsageTable } from './usage.js';

const NOW = 1_700_000_000_000;
const tree = buildShareTree({ projects: [{ name: 'p0', shares: 3 }, { name: 'p1', shares: 1 }, { name: 'p2', shares: 2 }] });

function scenario(seed: number, count: number): { jobs: PassJob[]; usage: UsageTable } {
  const random = seededRandom(seed);
  const usage: UsageTable = new Map();
  for (let p = 0; p < 3; p++) {
    for (let u = 0; u < 4; u++) {
      if (random() < 0.7) Object.assign(memberUsage(usage, `p${p}`, `u${u}`), { consumed: Math.round(random() * 200), heldRate: Math.floor(random() * 3) });
    }
  }
  const jobs = Array.from({ length: count }, (_, id) => {
    const gpus = 1 + Math.floor(random() * 4);
    return {
      id,
      user: `u${Math.floor(random() * 4)}`,
      project: `p${Math.floor(random() * 3)}`,
      priority: random() < 0.8 ? 0 : Math.floor(random() * 2001) - 1000,
      submittedAt: NOW - Math.floor(random() * 3 * DAY_MS),
      gpus,
      allocation: { gpus, cpus: 8 * gpus, memoryGb: 32 * gpus },
    };
  });
  return { jobs, usage };
}

function input(usage: UsageTable): PassInput {
  return { tree, usage, now: NOW, clusterGpus: 32, usageConfig: DEFAULT_USAGE_CONFIG, fairShare: DEFAULT_FAIR_SHARE_OPTIONS, priority: DEFAULT_PRIORITY_CONFIG };
}

function copy(usage: UsageTable): UsageTable {
  return new Map([...usage].map(([p, users]) => [p, new Map([...users].map(([u, m]) => [u, { ...m }]))]));
}

/** The reference: rank everything from scratch before each pick, with the placements so far held. */
function naiveOrder(jobs: PassJob[], usage: UsageTable, place: (index: number) => boolean): number[] {
  const table = copy(usage);
  const members = jobs.map((j) => ({ project: j.project, user: j.user }));
  const remaining = [...jobs];
  const order: number[] = [];
  while (remaining.length > 0) {
    const shares = fairShare(tree, table, DEFAULT_FAIR_SHARE_OPTIONS, members);
    const context = { now: NOW, clusterGpus: 32, fairShare: shares.factor };
    const scored = remaining.map((job) => ({ job, p: multifactorPriority(job, context).priority }));
    scored.sort((a, b) => b.p - a.p || a.job.submittedAt - b.job.submittedAt || a.job.id - b.job.id);
    const best = scored[0]!.job;
    remaining.splice(remaining.indexOf(best), 1);
    if (place(order.length)) memberUsage(table, best.project, best.user).heldRate += billingRate(best.allocation, DEFAULT_USAGE_CONFIG.billing);
    order.push(best.id);
  }
  return order;
}

function passOrder(jobs: PassJob[], usage: UsageTable, place: (index: number) => boolean): number[] {
  const order = new FairPassOrder(jobs, input(usage));
  const ids: number[] = [];
  for (let job = order.next(); job !== undefined; job = order.next()) {
    if (place(ids.length)) order.placed(job);
    ids.push(job.id);
  }
  return ids;
}

describe('FairPassOrder', () => {
  it('yields every job exactly once', () => {
    const { jobs, usage } = scenario(1, 500);
    const ids = passOrder(jobs, usage, (i) => i % 3 === 0);
    expect(ids).toHaveLength(500);
    expect(new Set(ids).size).toBe(500);
  });

  it('without placements, yields the order of multifactor priority at the start of the pass', () => {
    const { jobs, usage } = scenario(2, 300);
    const shares = fairShare(tree, usage, DEFAULT_FAIR_SHARE_OPTIONS, jobs);
    const expected = jobs
      .map((job) => ({ job, p: passPriority(job, shares, input(usage)).priority }))
      .sort((a, b) => b.p - a.p || a.job.submittedAt - b.job.submittedAt || a.job.id - b.job.id)
      .map(({ job }) => job.id);
    expect(passOrder(jobs, usage, () => false)).toEqual(expected);
  });

  it('with placements, yields what re-ranking from scratch before each pick yields', () => {
    for (const seed of [3, 4, 5]) {
      const { jobs, usage } = scenario(seed, 120);
      const place = (i: number) => i % 2 === 0 || i < 20;
      const placed = passOrder(jobs, usage, place);
      expect(placed).toEqual(naiveOrder(jobs, usage, place));
      expect(placed).not.toEqual(passOrder(jobs, usage, () => false));
    }
  });

  it('charges a placement as held usage without touching the caller’s table', () => {
    const { jobs, usage } = scenario(6, 50);
    const before = JSON.stringify([...usage].map(([p, users]) => [p, [...users]]));
    const order = new FairPassOrder(jobs, input(usage));
    const job = order.next()!;
    const usageOf = () => order.fairShare().members.find((m) => m.project === job.project && m.user === job.user)!.usageHours;
    const start = usageOf();
    order.placed(job);
    expect(usageOf()).toBeCloseTo(start + billingRate(job.allocation, DEFAULT_USAGE_CONFIG.billing), 9);
    expect(JSON.stringify([...usage].map(([p, users]) => [p, [...users]]))).toBe(before);
  });
});
