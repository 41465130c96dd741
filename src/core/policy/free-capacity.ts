// Free capacity of the cluster during one scheduling pass, indexed so that the best-fit node for a
// demand is found without scanning every node. Owns each node's free GPUs (by type), CPUs and
// memory, and, per GPU type, the set of nodes holding exactly k free GPUs of that type. GPU types
// are numbered (type ids) in first-seen order; names match case-insensitively.
// Always: a GPU is free here only if it is healthy and held by no running job and no placement
// made earlier in the pass; capacity only ever shrinks during a pass (there is no "release"), which
// is what keeps the remembered misses of `findBest` true.

import type { Node } from '../inventory.js';
import { KnownMisses } from './known-misses.js';
import { NodeSet } from './node-set.js';
import type { Demand, RunningJob } from './types.js';

/** Something that holds resources on a node until `endsAt` (Infinity = unknown). */
export interface Hold {
  node: number;
  gpuIndices: readonly number[];
  cpus: number;
  memoryGb: number;
  endsAt: number;
}

/** Where a demand fits: the node, the GPU type id used (null = no GPU) and its free count there. */
export interface Fit {
  node: number;
  gpuType: number | null;
  k: number;
}

export interface NodeFree {
  readonly name: string;
  readonly totalCpus: number;
  readonly totalMemoryGb: number;
  /** Healthy GPUs, busy or free: their indices and, at the same position, their type ids. */
  readonly healthyIndex: readonly number[];
  readonly healthyType: readonly number[];
  /** Healthy GPUs per type id. */
  readonly healthyCount: readonly number[];
  /** Free healthy GPU indices per type id, ascending. */
  readonly free: number[][];
  freeGpuCount: number;
  cpus: number;
  memoryGb: number;
}

/** The type id of a healthy GPU of the node, or -1 (unhealthy or unknown). */
export function typeOfGpu(node: NodeFree, index: number): number {
  const at = node.healthyIndex.indexOf(index);
  return at < 0 ? -1 : node.healthyType[at]!;
}

export function indexNodes(nodes: readonly Node[]): Map<string, number> {
  return new Map(nodes.map((node, i) => [node.name, i]));
}

/** Running jobs as holds; those on nodes the cluster no longer lists are dropped. */
export function runningHolds(running: readonly RunningJob[], nodeIndex: ReadonlyMap<string, number>): Hold[] {
  const holds: Hold[] = [];
  for (const job of running) {
    const node = nodeIndex.get(job.node);
    if (node === undefined) continue;
    const endsAt = job.endsBy ?? Infinity;
    holds.push({ node, gpuIndices: job.gpuIndices, cpus: job.cpus, memoryGb: job.memoryGb, endsAt });
  }
  return holds;
}

/** Nodes grouped into buckets by how many free GPUs (of one type, or of all) they hold. */
class BucketIndex {
  private readonly buckets: NodeSet[] = [];
  private top: number;

  constructor(
    maxK: number,
    nodeCount: number,
    private readonly minK: number,
  ) {
    for (let k = 0; k <= maxK; k++) this.buckets.push(new NodeSet(k >= minK ? nodeCount : 0));
    this.top = maxK;
  }

  move(node: number, from: number, to: number): void {
    if (from >= this.minK && from < this.buckets.length) this.buckets[from]!.delete(node);
    if (to >= this.minK && to < this.buckets.length) this.buckets[to]!.add(node);
  }

  /** The node with the fewest free GPUs ≥ min that passes `fits`, ties by node order. */
  best(min: number, fits: (node: number) => boolean): Fit | null {
    for (let k = Math.max(min, this.minK); k <= this.maxFree(); k++) {
      const bucket = this.buckets[k]!;
      if (bucket.size === 0) continue;
      for (let n = bucket.next(0); n >= 0; n = bucket.next(n + 1)) {
        if (fits(n)) return { node: n, gpuType: null, k };
      }
    }
    return null;
  }

  /** The most free GPUs any one node holds (0 when none). */
  maxFree(): number {
    while (this.top > 0 && this.buckets[this.top]!.size === 0) this.top--;
    return this.top;
  }
}

/** Removes and returns the `count` lowest indices of the ascending `free` list, skipping `exclude`. */
function takeLowest(free: number[], count: number, exclude?: ReadonlySet<number>): number[] {
  const taken: number[] = [];
  for (const index of free) {
    if (taken.length >= count) break;
    if (!exclude?.has(index)) taken.push(index);
  }
  if (taken.length < count) throw new Error(`policy invariant broken: ${count} GPUs asked, ${taken.length} free`);
  const rest = free.filter((index) => !taken.includes(index));
  free.splice(0, free.length, ...rest);
  return taken;
}

function isAscending(list: readonly number[]): boolean {
  for (let i = 1; i < list.length; i++) if (list[i - 1]! > list[i]!) return false;
  return true;
}

export class FreeCapacity {
  readonly nodes: NodeFree[];
  /** Per type id: the name to show people (the first spelling seen). */
  readonly typeNames: string[] = [];
  /** Per type id: the most healthy GPUs of that type on one node. */
  readonly maxHealthy: number[] = [];
  private readonly typeByKey = new Map<string, number>();
  private readonly typesByName = new Map<string, readonly number[]>();
  private allTypes: readonly number[] = [];
  private readonly byType: BucketIndex[] = [];
  private readonly all: BucketIndex;
  private readonly misses = new KnownMisses();

  constructor(nodes: readonly Node[], holds: readonly Hold[]) {
    this.learnTypes(nodes);
    this.nodes = nodes.map((node) => this.freeOfNode(node));
    for (const hold of holds) this.applyHold(hold);
    for (const node of this.nodes) for (const list of node.free) if (!isAscending(list)) list.sort((a, b) => a - b);
    const mostGpus = this.nodes.reduce((most, node) => Math.max(most, node.healthyIndex.length), 0);
    this.all = new BucketIndex(mostGpus, nodes.length, 0);
    for (const max of this.maxHealthy) this.byType.push(new BucketIndex(max, nodes.length, 1));
    this.nodes.forEach((node, i) => {
      this.all.move(i, -1, node.freeGpuCount);
      node.free.forEach((list, type) => this.byType[type]!.move(i, -1, list.length));
    });
  }

  /** The type ids a demand may use: its named type (none if unknown here), or every type for "any". */
  typeIdsFor(demand: Demand): readonly number[] {
    if (demand.gpuName === null) return this.allTypes;
    let ids = this.typesByName.get(demand.gpuName);
    if (ids === undefined) {
      const id = this.typeByKey.get(demand.gpuName.toLowerCase());
      ids = id === undefined ? [] : [id];
      this.typesByName.set(demand.gpuName, ids);
    }
    return ids;
  }

  /** Best-fit node for the demand now (skipping node `skip`), or null. */
  findBest(demand: Demand, skip = -1): Fit | null {
    if (demand.gpus > 0 && this.mostFree(demand) < demand.gpus) return null;
    if (this.misses.covers(skip, demand)) return null;
    const fit = this.search(demand, skip);
    if (fit === null) this.misses.add(skip, demand);
    return fit;
  }

  /** Takes the demand's resources on the fitted node; returns the GPU indices given. */
  take(fit: Fit, demand: Demand, exclude?: ReadonlySet<number>): number[] {
    const node = this.nodes[fit.node]!;
    let taken: number[] = [];
    if (demand.gpus > 0 && fit.gpuType !== null) {
      const free = node.free[fit.gpuType]!;
      const before = free.length;
      taken = takeLowest(free, demand.gpus, exclude);
      this.byType[fit.gpuType]!.move(fit.node, before, free.length);
      this.all.move(fit.node, node.freeGpuCount, node.freeGpuCount - taken.length);
      node.freeGpuCount -= taken.length;
    }
    node.cpus -= demand.cpus;
    node.memoryGb -= demand.memoryGb;
    return taken;
  }

  /** The most free GPUs of a type on one node right now. */
  maxFree(type: number): number {
    return this.byType[type]?.maxFree() ?? 0;
  }

  /** The most free GPUs of one type the demand may use on one node right now. */
  mostFree(demand: Demand): number {
    let most = 0;
    for (const type of this.typeIdsFor(demand)) most = Math.max(most, this.maxFree(type));
    return most;
  }

  private search(demand: Demand, skip: number): Fit | null {
    const fits = (n: number): boolean => {
      const node = this.nodes[n]!;
      return n !== skip && node.cpus >= demand.cpus && node.memoryGb >= demand.memoryGb;
    };
    if (demand.gpus <= 0) return this.all.best(0, fits);
    let best: Fit | null = null;
    for (const gpuType of this.typeIdsFor(demand)) {
      const hit = this.byType[gpuType]!.best(demand.gpus, fits);
      if (hit && (best === null || hit.k < best.k || (hit.k === best.k && hit.node < best.node))) {
        best = { node: hit.node, gpuType, k: hit.k };
      }
    }
    return best;
  }

  private learnTypes(nodes: readonly Node[]): void {
    for (const node of nodes) for (const gpu of node.gpus) {
      if (!gpu.healthy || this.typesByName.has(gpu.name)) continue;
      const key = gpu.name.toLowerCase();
      let id = this.typeByKey.get(key);
      if (id === undefined) {
        id = this.typeNames.push(gpu.name) - 1;
        this.typeByKey.set(key, id);
        this.maxHealthy.push(0);
      }
      this.typesByName.set(gpu.name, [id]);
    }
    this.allTypes = this.typeNames.map((_, id) => id);
  }

  private freeOfNode(node: Node): NodeFree {
    const healthyIndex: number[] = [];
    const healthyType: number[] = [];
    const healthyCount = this.typeNames.map(() => 0);
    const free = this.typeNames.map((): number[] => []);
    for (const gpu of node.gpus) {
      if (!gpu.healthy) continue;
      const type = this.typesByName.get(gpu.name)![0]!;
      healthyIndex.push(gpu.index);
      healthyType.push(type);
      healthyCount[type]!++;
      free[type]!.push(gpu.index);
    }
    healthyCount.forEach((count, type) => (this.maxHealthy[type] = Math.max(this.maxHealthy[type]!, count)));
    // Written out field by field: object spread here costs ~10 µs a node in V8.
    return {
      name: node.name,
      totalCpus: node.cpus,
      totalMemoryGb: node.memoryGb,
      healthyIndex,
      healthyType,
      healthyCount,
      free,
      freeGpuCount: healthyIndex.length,
      cpus: node.cpus,
      memoryGb: node.memoryGb,
    };
  }

  private applyHold(hold: Hold): void {
    const node = this.nodes[hold.node]!;
    node.cpus -= hold.cpus;
    node.memoryGb -= hold.memoryGb;
    for (const index of hold.gpuIndices) {
      const type = typeOfGpu(node, index);
      const list = type < 0 ? undefined : node.free[type]!;
      const at = list === undefined ? -1 : list.indexOf(index);
      if (at < 0) continue;
      list!.splice(at, 1);
      node.freeGpuCount--;
    }
  }
}
