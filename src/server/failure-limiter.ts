// The limit on failed authentications per client address (review finding L3): after MAX_FAILURES
// failures within WINDOW_MS, an address is refused with 429 RATE_LIMITED and a Retry-After until
// its window ends, without asking the database. Invariants: memory is bounded (at most
// MAX_ADDRESSES addresses are remembered; the least recently failing one is forgotten first);
// only failures count, so a client whose tokens are good is never slowed. No library: the rule
// is a fixed window per address held in one Map (insertion order is the LRU order), which
// @fastify/rate-limit would add a dependency and a per-request cost on every route for.

import { isIPv6 } from 'node:net';
import type { Clock } from '../core/clock.js';
import { StintError } from '../core/errors.js';

export const MAX_FAILURES = 20;
export const WINDOW_MS = 60_000;
const MAX_ADDRESSES = 10_000;

interface Window {
  startedAt: number;
  failures: number;
}

export class FailureLimiter {
  private readonly windows = new Map<string, Window>();

  constructor(
    private readonly clock: Clock,
    private readonly maxFailures = MAX_FAILURES,
    private readonly windowMs = WINDOW_MS,
    private readonly maxAddresses = MAX_ADDRESSES,
  ) {}

  /** Throws RATE_LIMITED (details.retryAfterSeconds) while `address` has used up its failures. */
  assertAllowed(address: string): void {
    const window = this.current(clientKey(address));
    if (!window || window.failures < this.maxFailures) return;
    const retryAfterSeconds = Math.max(1, Math.ceil((window.startedAt + this.windowMs - this.clock.now()) / 1000));
    throw new StintError('RATE_LIMITED', `${this.maxFailures} failed authentications from ${address} within ${this.windowMs / 1000} s: this address is refused for ${retryAfterSeconds} s more (check the token: stint's tokens are in $STINT_HOME/token and from \`stint token create\`)`, { address, limit: this.maxFailures, windowSeconds: this.windowMs / 1000, retryAfterSeconds });
  }

  failed(address: string): void {
    const key = clientKey(address);
    const window = this.current(key) ?? { startedAt: this.clock.now(), failures: 0 };
    window.failures += 1;
    this.windows.delete(key);
    this.windows.set(key, window);
    if (this.windows.size > this.maxAddresses) this.windows.delete(this.windows.keys().next().value!);
  }

  private current(address: string): Window | null {
    const window = this.windows.get(address);
    if (!window) return null;
    if (this.clock.now() - window.startedAt < this.windowMs) return window;
    this.windows.delete(address);
    return null;
  }
}

/**
 * Whose budget a failure counts against: an IPv4 address (also written IPv4-mapped, ::ffff:a.b.c.d)
 * or an IPv6 /64, since one host commonly holds a whole /64 and would otherwise get 2^64 budgets.
 */
export function clientKey(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return mapped[1]!;
  if (!isIPv6(address)) return address;
  const [head = '', tail] = address.toLowerCase().split('::');
  const groups = head ? head.split(':') : [];
  const rest = tail === undefined ? [] : tail.split(':').filter(Boolean);
  const full = [...groups, ...Array<string>(Math.max(0, 8 - groups.length - rest.length)).fill('0'), ...rest];
  return `${full.slice(0, 4).map((g) => Number.parseInt(g, 16).toString(16)).join(':')}::/64`;
}

/** A set that forgets its oldest entry beyond `max` (the tokens that resolved recently). */
export class RecentSet {
  private readonly items = new Set<string>();

  constructor(private readonly max: number) {}

  has(item: string): boolean {
    return this.items.has(item);
  }

  add(item: string): void {
    this.items.delete(item);
    this.items.add(item);
    if (this.items.size > this.max) this.items.delete(this.items.values().next().value!);
  }

  delete(item: string): void {
    this.items.delete(item);
  }
}
