// Demands known not to fit during one pass, kept as their smallest shapes. Capacity only shrinks
// during a pass, so a demand that found no node keeps finding none, and so does every demand at
// least as large with the same GPU name and the same skipped node.
// Always: `covers` is true only for demands that cannot fit now; the lists stay short (antichains,
// capped), so a check costs a few comparisons.

import type { Demand } from './types.js';

interface Shape {
  gpus: number;
  cpus: number;
  memoryGb: number;
}

/** Beyond this many incomparable misses per list, new ones are not remembered (only slower). */
const MAX_SHAPES = 64;

function atMost(small: Shape, large: Shape): boolean {
  return small.gpus <= large.gpus && small.cpus <= large.cpus && small.memoryGb <= large.memoryGb;
}

export class KnownMisses {
  /** Skipped node → GPU name as written ('' = any type) → smallest shapes that missed. */
  private readonly lists = new Map<number, Map<string, Shape[]>>();

  covers(skip: number, demand: Demand): boolean {
    const list = this.lists.get(skip)?.get(demand.gpuName ?? '');
    return list !== undefined && list.some((shape) => atMost(shape, demand));
  }

  add(skip: number, demand: Demand): void {
    let byName = this.lists.get(skip);
    if (byName === undefined) this.lists.set(skip, (byName = new Map()));
    const name = demand.gpuName ?? '';
    const shape = { gpus: demand.gpus, cpus: demand.cpus, memoryGb: demand.memoryGb };
    const kept = (byName.get(name) ?? []).filter((old) => !atMost(shape, old));
    if (kept.length < MAX_SHAPES) kept.push(shape);
    byName.set(name, kept);
  }
}
