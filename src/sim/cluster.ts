// The simulated cluster: identical nodes of G GPUs, which GPUs of each node are busy, and
// consolidated gang placement (after Helios' `consolidate` placer): a job of g ≤ G GPUs goes on
// one node, the one with the fewest free GPUs that still fits (best fit); a job of g > G GPUs takes
// ⌊g/G⌋ wholly free nodes plus, for the remainder, the best-fit node among the others — the fewest
// nodes possible. Also the `Node[]` view the core policy (`plan`) reads.
// Always: a GPU is held by at most one job; free counts and busy masks agree; release gives back
// exactly what an allocation took.

import type { Node } from '../core/inventory.js';

/** One node's share of a job's allocation. */
export interface Piece {
  node: number;
  gpuIndices: number[];
}

export type Allocation = Piece[];

export class SimCluster {
  readonly totalGpus: number;
  /** Free GPUs per node. */
  private readonly free: number[];
  /** Busy GPUs per node as a bit mask (bit i = GPU i). */
  private readonly busy: number[];
  /** Nodes by free count: byFree[k] = nodes with exactly k free GPUs. */
  private readonly byFree: Set<number>[];
  private freeTotal: number;
  /** Ids of the jobs holding GPUs on each node. */
  private readonly holders: Set<number>[];

  constructor(
    readonly nodeCount: number,
    readonly gpusPerNode: number,
  ) {
    if (gpusPerNode > 30) throw new RangeError('at most 30 GPUs per node are simulated');
    this.totalGpus = nodeCount * gpusPerNode;
    this.free = new Array<number>(nodeCount).fill(gpusPerNode);
    this.busy = new Array<number>(nodeCount).fill(0);
    this.byFree = Array.from({ length: gpusPerNode + 1 }, () => new Set<number>());
    for (let n = 0; n < nodeCount; n++) this.byFree[gpusPerNode]!.add(n);
    this.freeTotal = this.totalGpus;
    this.holders = Array.from({ length: nodeCount }, () => new Set<number>());
  }

  /** Free GPUs on the node. */
  freeOn(node: number): number {
    return this.free[node]!;
  }

  /** Ids of the jobs holding GPUs on the node. */
  jobsOn(node: number): ReadonlySet<number> {
    return this.holders[node]!;
  }

  /**
   * Ascending node indices: for each free count k ≥ 1, the `perCount` lowest-indexed nodes with
   * exactly k free GPUs. Best fit with ties by node index, made `perCount` times, never picks a
   * node outside this set (each placement removes at most one node from the front of a count).
   */
  nodesForPlacements(perCount: number): number[] {
    const seen = new Array<number>(this.gpusPerNode + 1).fill(0);
    const out: number[] = [];
    for (let n = 0; n < this.nodeCount; n++) {
      const k = this.free[n]!;
      if (k > 0 && seen[k]! < perCount) {
        seen[k]!++;
        out.push(n);
      }
    }
    return out;
  }

  get freeGpus(): number {
    return this.freeTotal;
  }

  /** Whether a job of this size could ever run here. */
  canEverHold(gpus: number): boolean {
    return gpus <= this.totalGpus;
  }

  /** Consolidated placement, or null when it does not fit now. Nothing is taken until `take`. */
  find(gpus: number): Allocation | null {
    if (gpus > this.freeTotal || gpus < 1) return null;
    const G = this.gpusPerNode;
    if (gpus <= G) {
      const node = this.bestFit(gpus);
      return node < 0 ? null : [{ node, gpuIndices: this.lowestFree(node, gpus) }];
    }
    const whole = Math.floor(gpus / G);
    const rest = gpus % G;
    const full = this.byFree[G]!;
    if (full.size < whole) return null;
    const nodes: number[] = [];
    for (const n of full) {
      if (nodes.length === whole) break;
      nodes.push(n);
    }
    const pieces: Allocation = nodes.map((node) => ({ node, gpuIndices: this.lowestFree(node, G) }));
    if (rest === 0) return pieces;
    const taken = new Set(nodes);
    const node = this.bestFit(rest, taken);
    if (node < 0) return null;
    pieces.push({ node, gpuIndices: this.lowestFree(node, rest) });
    return pieces;
  }

  /** Finds and takes; null when it does not fit now. */
  place(gpus: number, holder = 0): Allocation | null {
    const allocation = this.find(gpus);
    if (allocation) this.take(allocation, holder);
    return allocation;
  }

  take(allocation: Allocation, holder = 0): void {
    for (const { node, gpuIndices } of allocation) {
      this.holders[node]!.add(holder);
      let mask = this.busy[node]!;
      for (const g of gpuIndices) {
        if (mask & (1 << g)) throw new Error(`simulator invariant broken: GPU ${g} of node ${node} is already held`);
        mask |= 1 << g;
      }
      this.busy[node] = mask;
      this.setFree(node, this.free[node]! - gpuIndices.length);
    }
  }

  release(allocation: Allocation, holder = 0): void {
    for (const { node, gpuIndices } of allocation) {
      this.holders[node]!.delete(holder);
      let mask = this.busy[node]!;
      for (const g of gpuIndices) {
        if (!(mask & (1 << g))) throw new Error(`simulator invariant broken: GPU ${g} of node ${node} is not held`);
        mask &= ~(1 << g);
      }
      this.busy[node] = mask;
      this.setFree(node, this.free[node]! + gpuIndices.length);
    }
  }

  nodeName(node: number): string {
    return `n${node}`;
  }

  nodeIndex(name: string): number {
    return Number(name.slice(1));
  }

  /** The inventory the core policy sees: every node with G healthy GPUs of one type `GPU`. */
  inventory(): Node[] {
    return Array.from({ length: this.nodeCount }, (_, n) => ({
      name: this.nodeName(n),
      cpus: 0,
      memoryGb: 0,
      gpus: Array.from({ length: this.gpusPerNode }, (_, index) => ({ index, name: 'GPU', model: 'GPU', memoryMb: 0, vendor: 'fake' as const, healthy: true })),
    }));
  }

  private bestFit(gpus: number, exclude?: ReadonlySet<number>): number {
    for (let k = gpus; k <= this.gpusPerNode; k++) {
      for (const n of this.byFree[k]!) if (!exclude?.has(n)) return n;
    }
    return -1;
  }

  private lowestFree(node: number, count: number): number[] {
    const mask = this.busy[node]!;
    const out: number[] = [];
    for (let g = 0; g < this.gpusPerNode && out.length < count; g++) if (!(mask & (1 << g))) out.push(g);
    return out;
  }

  private setFree(node: number, to: number): void {
    const from = this.free[node]!;
    this.byFree[from]!.delete(node);
    this.byFree[to]!.add(node);
    this.free[node] = to;
    this.freeTotal += to - from;
  }
}
