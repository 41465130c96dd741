import { describe, expect, it } from 'vitest';
import { DEFAULT_IDLE_RULE, idleAction, parseIdleRule, ruleFor, watches } from './idle.js';

describe('idle-GPU policy', () => {
  const rule = { project: 'vision', thresholdPercent: 5, warnAfterSeconds: 60, stopAfterSeconds: 120, appliesTo: 'interactive' as const };

  it('warns once after the warn time and stops after the stop time', () => {
    expect(idleAction(rule, null, null, 1_000_000)).toBe('none');
    expect(idleAction(rule, 0, null, 59_000)).toBe('none');
    expect(idleAction(rule, 0, null, 60_000)).toBe('warn');
    expect(idleAction(rule, 0, 60_000, 90_000)).toBe('none');
    expect(idleAction(rule, 0, 60_000, 120_000)).toBe('stop');
    expect(idleAction({ ...rule, stopAfterSeconds: null }, 0, 60_000, 10_000_000)).toBe('none');
  });

  it('picks the project rule, then the stored default, then the server default; batch jobs only with applies=all', () => {
    const star = { ...rule, project: '*', thresholdPercent: 9 };
    expect(ruleFor([rule, star], 'vision', DEFAULT_IDLE_RULE)).toBe(rule);
    expect(ruleFor([rule, star], 'nlp', DEFAULT_IDLE_RULE)).toBe(star);
    expect(ruleFor([], null, DEFAULT_IDLE_RULE)).toBe(DEFAULT_IDLE_RULE);
    expect(ruleFor([], null, null)).toBeNull();
    expect(watches(rule, false)).toBe(false);
    expect(watches({ ...rule, appliesTo: 'all' }, false)).toBe(true);
  });

  it('reads a rule and names a bad setting', () => {
    expect(parseIdleRule('threshold=10,warn=90s,stop=never,applies=all', 'p')).toEqual({ project: 'p', thresholdPercent: 10, warnAfterSeconds: 90, stopAfterSeconds: null, appliesTo: 'all' });
    expect(parseIdleRule('warn=1h,stop=30m')).toMatch(/before warn/);
    expect(parseIdleRule('limit=3')).toMatch(/"limit" is not a setting/);
  });
});
