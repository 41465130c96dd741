import { describe, expect, it } from 'vitest';
import { StintError } from '../errors.js';
import { seededRandom } from '../policy/fixtures.js';
import { HOUR_MS, type UsageTable } from './usage.js';
import { DEFAULT_SHARES, buildShareTree, fairShare, projectShares, usageTotals, userShares, type ShareTreeInput } from './tree.js';

/** Usage from a compact description: { project: { user: GPU-hours consumed } }. */
function usage(spec: Record<string, Record<string, number>>, held: Record<string, number> = {}): UsageTable {
  const table: UsageTable = new Map();
  for (const [project, users] of Object.entries(spec)) {
    table.set(project, new Map(Object.entries(users).map(([user, consumed]) => [user, { consumed, heldRate: held[user] ?? 0 }])));
  }
  return table;
}

const LAB: ShareTreeInput = { projects: [{ name: 'lab', shares: 1, users: [{ name: 'alice', shares: 1 }, { name: 'bob', shares: 1 }] }] };

describe('buildShareTree', () => {
  it('gives unlisted projects and users DEFAULT_SHARES', () => {
    const tree = buildShareTree({ projects: [{ name: 'vision', shares: 3, users: [{ name: 'alice', shares: 2 }] }] });
    expect(projectShares(tree, 'vision')).toBe(3);
    expect(projectShares(tree, 'nlp')).toBe(DEFAULT_SHARES);
    expect(userShares(tree, 'vision', 'alice')).toBe(2);
    expect(userShares(tree, 'vision', 'carol')).toBe(DEFAULT_SHARES);
    expect(userShares(tree, 'nlp', 'alice')).toBe(DEFAULT_SHARES);
  });

  it('refuses shares that are not positive and names listed twice, naming the field', () => {
    expect(() => buildShareTree({ projects: [{ name: 'a', shares: 0 }] })).toThrow(/projects\[0\]\.shares/);
    expect(() => buildShareTree({ projects: [{ name: 'a', users: [{ name: 'u', shares: -1 }] }] })).toThrow(/projects\[0\]\.users\[0\]\.shares/);
    expect(() => buildShareTree({ projects: [{ name: 'a' }, { name: 'a' }] })).toThrow(StintError);
    expect(() => buildShareTree({ projects: [{ name: 'a', users: [{ name: 'u' }, { name: 'u' }] }] })).toThrow(/listed twice/);
  });
});

describe('fairShare (Fair Tree)', () => {
  it('gives equal factors for equal shares and equal usage', () => {
    const result = fairShare(buildShareTree(LAB), usage({ lab: { alice: 10, bob: 10 } }));
    expect(result.factor('lab', 'alice')).toBe(1);
    expect(result.factor('lab', 'bob')).toBe(1);
  });

  it('gives a user with high past usage a lower factor than a user with none in the same project', () => {
    const result = fairShare(buildShareTree(LAB), usage({ lab: { alice: 50 } }));
    expect(result.factor('lab', 'bob')).toBe(1);
    expect(result.factor('lab', 'alice')).toBe(0.5);
    const bob = result.members.find((m) => m.user === 'bob')!;
    expect(bob.userLevel).toBe(Infinity);
  });

  it('weights users by their shares: usage in proportion to shares ties', () => {
    const tree = buildShareTree({ projects: [{ name: 'lab', users: [{ name: 'alice', shares: 3 }, { name: 'bob', shares: 1 }] }] });
    const tied = fairShare(tree, usage({ lab: { alice: 30, bob: 10 } }));
    expect(tied.factor('lab', 'alice')).toBe(tied.factor('lab', 'bob'));
    const ahead = fairShare(tree, usage({ lab: { alice: 20, bob: 10 } }));
    expect(ahead.factor('lab', 'alice')).toBeGreaterThan(ahead.factor('lab', 'bob'));
  });

  it('weights projects by their shares: a project with 3× the shares may use 2× as much and still rank first', () => {
    const tree = buildShareTree({ projects: [{ name: 'vision', shares: 3 }, { name: 'nlp', shares: 1 }] });
    const result = fairShare(tree, usage({ vision: { alice: 20 }, nlp: { bob: 10 } }));
    expect(result.factor('vision', 'alice')).toBe(1);
    expect(result.factor('nlp', 'bob')).toBe(0.5);
    const alice = result.members[0]!;
    expect(alice.projectShare).toBeCloseTo(0.75, 12);
    expect(alice.projectUsage).toBeCloseTo(2 / 3, 12);
    expect(alice.projectLevel).toBeCloseTo(1.125, 12);
  });

  it('ranks every user of a project under its share above every user of a project over it', () => {
    const tree = buildShareTree({ projects: [{ name: 'light', shares: 1 }, { name: 'heavy', shares: 1 }] });
    // light's users: one heavy user; heavy's users: many users, each small, but the project used more in total.
    const table = usage({ light: { l1: 40, l2: 0 }, heavy: { h1: 10, h2: 10, h3: 10, h4: 10, h5: 5 } });
    const result = fairShare(tree, table);
    const lightFactors = ['l1', 'l2'].map((u) => result.factor('light', u));
    const heavyFactors = ['h1', 'h2', 'h3', 'h4', 'h5'].map((u) => result.factor('heavy', u));
    expect(Math.min(...lightFactors)).toBeGreaterThan(Math.max(...heavyFactors));
    expect(result.members.map((m) => m.user)).toEqual(['l2', 'l1', 'h5', 'h1', 'h2', 'h3', 'h4']);
    expect(result.members.map((m) => m.rank)).toEqual([7, 6, 5, 4, 4, 4, 4]);
  });

  it('gives unknown users and projects default shares', () => {
    const tree = buildShareTree({ projects: [{ name: 'vision', shares: 1, users: [{ name: 'alice', shares: 1 }] }] });
    const result = fairShare(tree, usage({ vision: { alice: 5, carol: 5 }, nlp: { dave: 10 } }));
    expect(result.factor('vision', 'carol')).toBe(result.factor('vision', 'alice'));
    expect(result.factor('nlp', 'dave')).toBe(result.factor('vision', 'alice'));
    expect(result.members.every((m) => m.factor === 1)).toBe(true);
  });

  it('counts held allocations as usage: a user running jobs now ranks below an idle one with equal history', () => {
    const table = usage({ lab: { alice: 0, bob: 0 } }, { alice: 1 });
    const result = fairShare(buildShareTree(LAB), table, { inUseChargeMs: HOUR_MS });
    expect(result.factor('lab', 'bob')).toBeGreaterThan(result.factor('lab', 'alice'));
    expect(result.members.find((m) => m.user === 'alice')!.usageHours).toBe(1);
    const historyOnly = fairShare(buildShareTree(LAB), table, { inUseChargeMs: 0 });
    expect(historyOnly.factor('lab', 'bob')).toBe(historyOnly.factor('lab', 'alice'));
  });

  it('ranks only the members asked for, while other users still count in their project usage', () => {
    const tree = buildShareTree({ projects: [{ name: 'a' }, { name: 'b' }] });
    const table = usage({ a: { idle: 100, x: 1 }, b: { y: 10 } });
    const result = fairShare(tree, table, undefined, [{ project: 'a', user: 'x' }, { project: 'b', user: 'y' }]);
    expect(result.members.map((m) => m.user)).toEqual(['y', 'x']);
    expect(result.factor('b', 'y')).toBe(1);
    expect(result.factor('a', 'x')).toBe(0.5);
    expect(() => result.factor('a', 'idle')).toThrow(RangeError);
  });

  it('keeps every factor in (0, 1] and keeps the order of a subset when more members are ranked', () => {
    const random = seededRandom(3);
    const spec: Record<string, Record<string, number>> = {};
    for (let p = 0; p < 6; p++) {
      spec[`p${p}`] = Object.fromEntries(Array.from({ length: 8 }, (_, u) => [`u${u}`, random() < 0.2 ? 0 : Math.round(random() * 100)]));
    }
    const tree = buildShareTree({ projects: [{ name: 'p0', shares: 4 }, { name: 'p1', shares: 2 }] });
    const all = fairShare(tree, usage(spec));
    expect(all.members).toHaveLength(48);
    for (const m of all.members) expect(m.factor > 0 && m.factor <= 1).toBe(true);
    const subset = all.members.filter((_, i) => i % 3 === 0);
    const partial = fairShare(tree, usage(spec), undefined, [...subset].reverse());
    expect(partial.members.map((m) => `${m.project}/${m.user}`)).toEqual(subset.map((m) => `${m.project}/${m.user}`));
  });
});

describe('usageTotals', () => {
  it('sums effective usage per project and per user across projects', () => {
    const table = usage({ a: { alice: 2, bob: 1 }, b: { alice: 3 } }, { bob: 2 });
    const totals = usageTotals(table, { inUseChargeMs: HOUR_MS });
    expect(totals.projects).toEqual(new Map([['a', 5], ['b', 3]]));
    expect(totals.users).toEqual(new Map([['alice', 5], ['bob', 3]]));
  });
});
