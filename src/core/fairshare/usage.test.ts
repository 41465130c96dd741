import { describe, expect, it } from 'vitest';
import { seededRandom } from '../policy/fixtures.js';
import {
  DAY_MS,
  DEFAULT_BILLING,
  DEFAULT_USAGE_CONFIG,
  HOUR_MS,
  advance,
  billingRate,
  charge,
  chargeInterval,
  consumed,
  decay,
  foldFinished,
  usageAt,
  type AttemptUsage,
  type DecayedUsage,
} from './usage.js';

const H = 7 * DAY_MS;
const T0 = 1_700_000_000_000;
const ZERO: DecayedUsage = { value: 0, atMs: T0 };

/** ∫_from^to rate · 2^(-(now - t)/H) dt in hours, written independently of the implementation. */
function closedForm(rate: number, from: number, to: number, now: number, halfLife: number): number {
  const tau = halfLife / Math.LN2;
  return (rate * tau * (Math.pow(2, -(now - to) / halfLife) - Math.pow(2, -(now - from) / halfLife))) / HOUR_MS;
}

function attempt(fields: Partial<AttemptUsage>): AttemptUsage {
  return { user: 'alice', project: 'lab', gpus: 1, cpus: 0, memoryGb: 0, startedAt: T0, endedAt: null, ...fields };
}

describe('decay', () => {
  it('halves usage after one half-life and quarters it after two', () => {
    expect(decay(8, T0, T0 + H, H)).toBeCloseTo(4, 12);
    expect(decay(8, T0, T0 + 2 * H, H)).toBeCloseTo(2, 12);
    expect(advance({ value: 10, atMs: T0 }, T0 + H, H)).toEqual({ value: expect.closeTo(5, 12), atMs: T0 + H });
  });

  it('composes: decaying a→b then b→c equals a→c', () => {
    const twoSteps = decay(decay(3, T0, T0 + 5 * HOUR_MS, H), T0 + 5 * HOUR_MS, T0 + 9 * DAY_MS, H);
    expect(twoSteps).toBeCloseTo(decay(3, T0, T0 + 9 * DAY_MS, H), 12);
  });

  it('never moves back in time and does nothing with an infinite half-life', () => {
    expect(decay(5, T0, T0 - DAY_MS, H)).toBe(5);
    expect(advance({ value: 5, atMs: T0 }, T0 - DAY_MS, H)).toEqual({ value: 5, atMs: T0 });
    expect(decay(5, T0, T0 + 100 * DAY_MS, Infinity)).toBe(5);
  });

  it('refuses a half-life that is not positive', () => {
    expect(() => decay(1, 0, 1, 0)).toThrow(RangeError);
    expect(() => decay(1, 0, 1, Number.NaN)).toThrow(RangeError);
  });
});

describe('charge', () => {
  it('adds an amount at the accumulator time, and decays an older amount first', () => {
    expect(charge(ZERO, 5, T0, H).value).toBe(5);
    const later = charge({ value: 4, atMs: T0 }, 2, T0 + H, H);
    expect(later).toEqual({ value: expect.closeTo(4, 12), atMs: T0 + H });
    const older = charge({ value: 0, atMs: T0 + H }, 2, T0, H);
    expect(older).toEqual({ value: expect.closeTo(1, 12), atMs: T0 + H });
  });

  it('ignores negative amounts', () => {
    expect(charge({ value: 1, atMs: T0 }, -5, T0, H).value).toBe(1);
  });
});

describe('a running job charged over an interval', () => {
  it('equals the closed-form integral', () => {
    const end = T0 + 3 * DAY_MS;
    expect(consumed(2, T0, end, end, H)).toBeCloseTo(closedForm(2, T0, end, end, H), 10);
    expect(consumed(2, T0, end, end + 4 * DAY_MS, H)).toBeCloseTo(closedForm(2, T0, end, end + 4 * DAY_MS, H), 10);
  });

  it('charged hour by hour equals one charge over the whole interval', () => {
    let usage = ZERO;
    for (let hour = 0; hour < 72; hour++) usage = chargeInterval(usage, 2, T0 + hour * HOUR_MS, T0 + (hour + 1) * HOUR_MS, H);
    const whole = chargeInterval(ZERO, 2, T0, T0 + 72 * HOUR_MS, H);
    expect(usage.atMs).toBe(whole.atMs);
    expect(usage.value).toBeCloseTo(whole.value, 10);
    expect(whole.value).toBeCloseTo(closedForm(2, T0, T0 + 72 * HOUR_MS, T0 + 72 * HOUR_MS, H), 10);
  });

  it('charged at random split points equals the closed form', () => {
    const random = seededRandom(7);
    const end = T0 + 10 * DAY_MS;
    const cuts = Array.from({ length: 50 }, () => T0 + Math.floor(random() * (end - T0))).sort((a, b) => a - b);
    let usage = ZERO;
    let from = T0;
    for (const cut of [...cuts, end]) {
      usage = chargeInterval(usage, 3, from, cut, H);
      from = cut;
    }
    expect(usage.value).toBeCloseTo(closedForm(3, T0, end, end, H), 9);
  });

  it('is rate × hours without decay, and is far below it over many half-lives', () => {
    expect(consumed(4, T0, T0 + 10 * HOUR_MS, T0 + 10 * HOUR_MS, Infinity)).toBeCloseTo(40, 12);
    const long = consumed(1, T0, T0 + 70 * DAY_MS, T0 + 70 * DAY_MS, H);
    expect(long).toBeCloseTo((H / Math.LN2 / HOUR_MS) * (1 - 2 ** -10), 8);
  });

  it('grows while the job runs and shrinks after it ends; never negative', () => {
    const end = T0 + 2 * DAY_MS;
    let previous = 0;
    for (let now = T0; now <= end; now += HOUR_MS) {
      const value = consumed(1, T0, Math.min(now, end), now, H);
      expect(value).toBeGreaterThanOrEqual(previous);
      previous = value;
    }
    for (let now = end; now <= end + 30 * DAY_MS; now += DAY_MS) {
      const value = consumed(1, T0, end, now, H);
      expect(value).toBeLessThanOrEqual(previous);
      expect(value).toBeGreaterThanOrEqual(0);
      previous = value;
    }
  });
});

describe('billingRate', () => {
  it('charges the dominant resource in GPU-equivalents by default', () => {
    expect(billingRate({ gpus: 1, cpus: 16, memoryGb: 128 }, DEFAULT_BILLING)).toBe(1);
    expect(billingRate({ gpus: 0, cpus: 32, memoryGb: 8 }, DEFAULT_BILLING)).toBe(2);
    expect(billingRate({ gpus: 1, cpus: 0, memoryGb: 512 }, DEFAULT_BILLING)).toBe(4);
  });

  it('adds the weighted resources when combine is sum', () => {
    expect(billingRate({ gpus: 2, cpus: 16, memoryGb: 0 }, { ...DEFAULT_BILLING, combine: 'sum' })).toBe(3);
  });
});

describe('usageAt', () => {
  const config = DEFAULT_USAGE_CONFIG;
  const now = T0 + 2 * DAY_MS;

  it('sums finished and running attempts per (project, user); only running ones are held', () => {
    const table = usageAt(
      [
        attempt({ gpus: 2, startedAt: T0, endedAt: T0 + DAY_MS }),
        attempt({ gpus: 1, startedAt: T0 + DAY_MS }),
        attempt({ user: 'bob', gpus: 4, startedAt: T0, endedAt: T0 + HOUR_MS }),
      ],
      now,
      config,
    );
    const alice = table.get('lab')!.get('alice')!;
    expect(alice.consumed).toBeCloseTo(closedForm(2, T0, T0 + DAY_MS, now, H) + closedForm(1, T0 + DAY_MS, now, now, H), 10);
    expect(alice.heldRate).toBe(1);
    expect(table.get('lab')!.get('bob')).toEqual({ consumed: expect.closeTo(closedForm(4, T0, T0 + HOUR_MS, now, H), 10), heldRate: 0 });
  });

  it('adds stored accumulators decayed to now; folding an attempt gives the same usage', () => {
    const finished = attempt({ gpus: 3, startedAt: T0, endedAt: T0 + 5 * HOUR_MS });
    const folded = foldFinished(ZERO, finished, config);
    const fromAccumulator = usageAt([], now, config, [{ user: 'alice', project: 'lab', usage: folded }]);
    const fromAttempt = usageAt([finished], now, config);
    expect(fromAccumulator.get('lab')!.get('alice')!.consumed).toBeCloseTo(fromAttempt.get('lab')!.get('alice')!.consumed, 10);
    expect(() => foldFinished(ZERO, attempt({}), config)).toThrow(RangeError);
  });

  it('gives zero, never negative or NaN, for attempts that have not started or end before they start', () => {
    const random = seededRandom(11);
    const attempts = Array.from({ length: 200 }, () => {
      const startedAt = T0 + Math.floor((random() - 0.5) * 10 * DAY_MS);
      const endedAt = random() < 0.3 ? null : startedAt + Math.floor((random() - 0.3) * 5 * DAY_MS);
      return attempt({ user: `u${Math.floor(random() * 5)}`, gpus: Math.floor(random() * 8), cpus: Math.floor(random() * 64), startedAt, endedAt });
    });
    for (const users of usageAt(attempts, T0, config).values()) {
      for (const usage of users.values()) {
        expect(usage.consumed).toBeGreaterThanOrEqual(0);
        expect(Number.isFinite(usage.consumed)).toBe(true);
      }
    }
    const future = usageAt([attempt({ startedAt: T0 + DAY_MS })], T0, config).get('lab')!.get('alice')!;
    expect(future).toEqual({ consumed: 0, heldRate: 0 });
  });
});
