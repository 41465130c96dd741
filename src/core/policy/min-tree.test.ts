import { describe, expect, it } from 'vitest';
import { seededRandom } from './fixtures.js';
import { MinTree } from './min-tree.js';

describe('MinTree', () => {
  it('starts empty (Infinity) and reports the lowest position of the minimum', () => {
    const tree = new MinTree(5);
    expect(tree.min()).toBe(Infinity);
    tree.set(3, 7);
    tree.set(1, 7);
    tree.set(4, 9);
    expect([tree.min(), tree.argmin()]).toEqual([7, 1]);
    tree.set(1, 10);
    expect([tree.min(), tree.argmin()]).toEqual([7, 3]);
  });

  it('agrees with a plain array under random changes', () => {
    const random = seededRandom(3);
    const tree = new MinTree(37);
    const plain = new Array<number>(37).fill(Infinity);
    for (let step = 0; step < 2000; step++) {
      const position = Math.floor(random() * 37);
      const value = random() < 0.1 ? Infinity : Math.floor(random() * 50);
      tree.set(position, value);
      plain[position] = value;
      const min = Math.min(...plain);
      expect(tree.min()).toBe(min);
      if (min !== Infinity) expect(tree.argmin()).toBe(plain.indexOf(min));
    }
  });
});
