import { describe, expect, it } from 'vitest';
import { isInside, isSafeEntryPath, isSafeLink, isSafeLinkShape } from './safe-paths.js';

describe('safe paths', () => {
  it('accepts plain relative entry paths only', () => {
    for (const ok of ['a', 'a/b.txt', '..hidden', 'a/..b', 'ü/x']) expect(isSafeEntryPath(ok)).toBe(true);
    for (const bad of ['', '/a', '../a', 'a/../b', 'a//b', './a', 'a/.', 'C:/x', 'a\\b', 'a\0b']) expect(isSafeEntryPath(bad)).toBe(false);
  });

  it('lets link targets climb only before they descend', () => {
    for (const ok of ['b', '../b', '../../x/y', './b', 'b/']) expect(isSafeLinkShape(ok)).toBe(true);
    for (const bad of ['', '/etc', 'x/../..', 'a/../b', 'C:\\x']) expect(isSafeLinkShape(bad)).toBe(false);
  });

  it('keeps links inside the root', () => {
    expect(isSafeLink('/job', '/job/a', '../b')).toBe(true);
    expect(isSafeLink('/job', '/job/a', '../../b')).toBe(false);
    expect(isInside('/job', '/job')).toBe(true);
    expect(isInside('/job', '/job/..x')).toBe(true);
    expect(isInside('/job', '/jobs')).toBe(false);
  });
});
