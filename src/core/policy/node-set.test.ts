import { describe, expect, it } from 'vitest';
import { seededRandom } from './fixtures.js';
import { NodeSet } from './node-set.js';

function members(set: NodeSet): number[] {
  const found: number[] = [];
  for (let n = set.next(0); n >= 0; n = set.next(n + 1)) found.push(n);
  return found;
}

describe('NodeSet', () => {
  it('yields its members in ascending order across word boundaries', () => {
    const set = new NodeSet(5000);
    for (const n of [4999, 0, 31, 32, 1023, 1024, 1025, 2047]) set.add(n);
    set.add(32);
    expect(members(set)).toEqual([0, 31, 32, 1023, 1024, 1025, 2047, 4999]);
    expect(set.size).toBe(8);
    expect(set.next(33)).toBe(1023);
    expect(set.next(5000)).toBe(-1);
  });

  it('forgets deleted members, including the last of a word', () => {
    const set = new NodeSet(3000);
    for (const n of [5, 40, 2500]) set.add(n);
    set.delete(40);
    set.delete(40);
    expect(members(set)).toEqual([5, 2500]);
    expect(set.next(6)).toBe(2500);
    expect(set.size).toBe(2);
  });

  it('agrees with a plain sorted list under random changes', () => {
    const random = seededRandom(7);
    const set = new NodeSet(4096);
    const plain = new Set<number>();
    for (let step = 0; step < 5000; step++) {
      const n = Math.floor(random() * 4096);
      if (random() < 0.6) {
        set.add(n);
        plain.add(n);
      } else {
        set.delete(n);
        plain.delete(n);
      }
    }
    expect(members(set)).toEqual([...plain].sort((a, b) => a - b));
    expect(set.size).toBe(plain.size);
  });
});
