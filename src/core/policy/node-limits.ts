// Whether a demand could ever fit on one node of the cluster, once everything running has ended:
// healthy GPUs of the type, total CPUs and total memory on the same node. Owns, per GPU type, the
// non-dominated node shapes (a cluster has few distinct shapes, so a check is a short scan).
// Always: `canEverFit` is exact — true iff some node's healthy capacity covers the demand.

import type { FreeCapacity, NodeFree } from './free-capacity.js';
import type { Demand, PendingJob } from './types.js';

interface Shape {
  gpus: number;
  cpus: number;
  memoryGb: number;
}

/** Above this many distinct shapes the dominance filter is skipped (it is quadratic). */
const MAX_FILTERED_SHAPES = 1024;
/** Up to this many shapes a direct scan is cheaper than building a cache key. */
const MAX_UNCACHED_SHAPES = 32;
/** The frontier key of whole nodes, for demands without GPUs (GPU types use their type id). */
const CPU_ONLY = -1;
const CPU_ONLY_KEYS = [CPU_ONLY];

function covers(a: Shape, b: Shape): boolean {
  return a.gpus >= b.gpus && a.cpus >= b.cpus && a.memoryGb >= b.memoryGb;
}

function nonDominated(shapes: Shape[]): Shape[] {
  if (shapes.length > MAX_FILTERED_SHAPES) return shapes;
  return shapes.filter((s, i) => !shapes.some((t, j) => j !== i && covers(t, s) && (!covers(s, t) || j < i)));
}

function addShape(into: Map<number, Map<string, Shape>>, type: number, shape: Shape): void {
  if (!into.has(type)) into.set(type, new Map());
  into.get(type)!.set(`${shape.gpus}|${shape.cpus}|${shape.memoryGb}`, shape);
}

function shapesOf(nodes: readonly NodeFree[]): Map<number, Map<string, Shape>> {
  const distinct = new Map<number, Map<string, Shape>>();
  for (const node of nodes) {
    const { totalCpus: cpus, totalMemoryGb: memoryGb } = node;
    addShape(distinct, CPU_ONLY, { gpus: 0, cpus, memoryGb });
    node.healthyCount.forEach((gpus, type) => gpus > 0 && addShape(distinct, type, { gpus, cpus, memoryGb }));
  }
  return distinct;
}

export class NodeLimits {
  private readonly frontiers = new Map<number, Shape[]>();
  private readonly cache = new Map<string, boolean>();
  private readonly useCache: boolean;

  constructor(private readonly capacity: FreeCapacity) {
    let shapeCount = 0;
    for (const [type, shapes] of shapesOf(capacity.nodes)) {
      const frontier = nonDominated([...shapes.values()]);
      this.frontiers.set(type, frontier);
      shapeCount += frontier.length;
    }
    this.useCache = shapeCount > MAX_UNCACHED_SHAPES;
  }

  neverFits(job: PendingJob): boolean {
    for (const demand of job.demands) if (this.canEverFit(demand)) return false;
    return true;
  }

  canEverFit(demand: Demand): boolean {
    if (!this.useCache) return this.fitsAnyShape(demand);
    const cacheKey = `${demand.gpuName ?? ''}|${demand.gpus}|${demand.cpus}|${demand.memoryGb}`;
    let answer = this.cache.get(cacheKey);
    if (answer === undefined) {
      answer = this.fitsAnyShape(demand);
      this.cache.set(cacheKey, answer);
    }
    return answer;
  }

  private fitsAnyShape(demand: Demand): boolean {
    const keys = demand.gpus <= 0 ? CPU_ONLY_KEYS : this.capacity.typeIdsFor(demand);
    for (const key of keys) {
      for (const s of this.frontiers.get(key) ?? []) {
        if (s.gpus >= demand.gpus && s.cpus >= demand.cpus && s.memoryGb >= demand.memoryGb) return true;
      }
    }
    return false;
  }
}
