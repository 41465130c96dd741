import { describe, expect, it } from 'vitest';
import { aboutDuration } from './explain.js';

describe('aboutDuration', () => {
  it('shows minutes below two hours, hours below two days, then days', () => {
    expect(aboutDuration(1)).toBe('~1 min');
    expect(aboutDuration(12 * 60_000)).toBe('~12 min');
    expect(aboutDuration(119 * 60_000)).toBe('~119 min');
    expect(aboutDuration(150 * 60_000)).toBe('~2.5 h');
    expect(aboutDuration(72 * 3_600_000)).toBe('~3 days');
  });
});
