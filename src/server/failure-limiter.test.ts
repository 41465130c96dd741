// The failed-authentication limit with a clock the test moves: the window, Retry-After, other
// addresses, and the bound on remembered addresses.

import { describe, expect, it } from 'vitest';
import { StintError } from '../core/errors.js';
import { clientKey, FailureLimiter, RecentSet } from './failure-limiter.js';

function refusal(run: () => void): StintError | null {
  try {
    run();
    return null;
  } catch (error) {
    return error as StintError;
  }
}

describe('FailureLimiter', () => {
  it('refuses an address after its failures until the window ends, with the seconds left', () => {
    let now = 1_000_000;
    const limiter = new FailureLimiter({ now: () => now }, 3, 60_000);
    for (let i = 0; i < 3; i++) {
      expect(refusal(() => limiter.assertAllowed('10.0.0.1'))).toBeNull();
      limiter.failed('10.0.0.1');
    }
    const refused = refusal(() => limiter.assertAllowed('10.0.0.1'));
    expect(refused?.code).toBe('RATE_LIMITED');
    expect(refused?.details).toMatchObject({ limit: 3, windowSeconds: 60, retryAfterSeconds: 60 });
    expect(refusal(() => limiter.assertAllowed('10.0.0.2'))).toBeNull();
    now += 45_000;
    expect(refusal(() => limiter.assertAllowed('10.0.0.1'))?.details.retryAfterSeconds).toBe(15);
    now += 15_000;
    expect(refusal(() => limiter.assertAllowed('10.0.0.1'))).toBeNull();
  });

  it('remembers at most its cap of addresses, forgetting the least recently failing first', () => {
    const limiter = new FailureLimiter({ now: () => 0 }, 1, 60_000, 100);
    for (let i = 0; i < 1_000; i++) limiter.failed(`10.0.${i >> 8}.${i & 255}`);
    expect(refusal(() => limiter.assertAllowed('10.0.3.231'))?.code).toBe('RATE_LIMITED');
    expect(refusal(() => limiter.assertAllowed('10.0.0.0'))).toBeNull();
    expect((limiter as unknown as { windows: Map<string, unknown> }).windows.size).toBe(100);
  });
});

describe('RecentSet', () => {
  it('keeps the newest entries up to its cap', () => {
    const set = new RecentSet(2);
    set.add('a');
    set.add('b');
    set.add('a');
    set.add('c');
    expect([set.has('a'), set.has('b'), set.has('c')]).toEqual([true, false, true]);
  });
});

describe('clientKey', () => {
  it('counts an IPv6 /64 as one client and an IPv4-mapped address as its IPv4', () => {
    expect(clientKey('2001:db8:1:2:aaaa::1')).toBe('2001:db8:1:2::/64');
    expect(clientKey('2001:db8:1:2:bbbb:cccc:dddd:eeee')).toBe('2001:db8:1:2::/64');
    expect(clientKey('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(clientKey('::1')).toBe('0:0:0:0::/64');
    expect(clientKey('::ffff:127.0.0.2')).toBe('127.0.0.2');
    expect(clientKey('127.0.0.2')).toBe('127.0.0.2');
  });

  it('makes the addresses of one /64 share one budget', () => {
    const limiter = new FailureLimiter({ now: () => 0 }, 3);
    for (let i = 1; i <= 3; i++) limiter.failed(`2001:db8:1:2::${i}`);
    expect(() => limiter.assertAllowed('2001:db8:1:2::99')).toThrow(/failed authentications/);
    expect(() => limiter.assertAllowed('2001:db8:1:3::1')).not.toThrow();
  });
});
