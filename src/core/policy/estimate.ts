// Best-effort start estimates for waiting jobs: a quick replay of the queue, in order, against the
// times at which each GPU becomes free (now, when a running job or a placement of this pass ends, or
// never), node by node. A job needing g GPUs of a type starts when some node first has g of them
// free; it takes that node's g earliest-free GPUs until its start + runtime limit (forever without
// one). CPUs, memory and backfill are not replayed, so estimates lean early; the head's estimate is
// its shadow time, booked here first. Cost per job: O(GPUs per node × log nodes).
// Always: an estimate is ≥ now; null means unknown (every way to run it waits on a job without a
// runtime limit, or it needs no GPU).

import { typeOfGpu, type FreeCapacity, type Hold } from './free-capacity.js';
import { MinTree } from './min-tree.js';
import type { Reservation } from './reservation.js';
import type { PendingJob } from './types.js';

/** The replay state of one GPU type over the nodes that have it. */
interface TypeReplay {
  /** Capacity node index → position here, or -1. */
  positionOf: Int32Array;
  /** Per position: when each of that node's GPUs of this type becomes free, ascending. */
  times: Float64Array[];
  /** trees[g - 1] holds, per position, when g GPUs are free there (times[g - 1]). */
  trees: MinTree[];
}

interface Choice {
  replay: TypeReplay;
  gpus: number;
  at: number;
}

function freeTimesByNode(capacity: FreeCapacity, holds: readonly Hold[], now: number): Map<number, number[]>[] {
  const byType = capacity.typeNames.map(() => new Map<number, number[]>());
  const add = (type: number, node: number, at: number) => {
    const list = byType[type]!.get(node);
    if (list) list.push(at);
    else byType[type]!.set(node, [at]);
  };
  capacity.nodes.forEach((node, i) => node.free.forEach((list, type) => list.forEach(() => add(type, i, now))));
  for (const hold of holds) {
    const node = capacity.nodes[hold.node]!;
    for (const index of hold.gpuIndices) {
      const type = typeOfGpu(node, index);
      if (type >= 0) add(type, hold.node, Math.max(hold.endsAt, now));
    }
  }
  return byType;
}

function replayOf(byNode: Map<number, number[]>, nodeCount: number, maxGpus: number): TypeReplay {
  const positionOf = new Int32Array(nodeCount).fill(-1);
  const times: Float64Array[] = [];
  const trees = Array.from({ length: maxGpus }, () => new MinTree(byNode.size));
  for (const [node, list] of byNode) {
    const sorted = Float64Array.from(list).sort().subarray(0, maxGpus);
    positionOf[node] = times.push(sorted) - 1;
    sorted.forEach((at, g) => trees[g]!.set(times.length - 1, at));
  }
  return { positionOf, times, trees };
}

export class StartEstimator {
  /** Per GPU type id. */
  private readonly replays: TypeReplay[];

  constructor(
    private readonly capacity: FreeCapacity,
    holds: readonly Hold[],
    private readonly now: number,
  ) {
    const byType = freeTimesByNode(capacity, holds, now);
    this.replays = byType.map((byNode, type) => replayOf(byNode, capacity.nodes.length, capacity.maxHealthy[type]!));
  }

  /** Books the head's GPUs on its reserved node from its shadow time. */
  book(reservation: Reservation, runtimeLimitMs: number | null): void {
    const { gpuType, node, startAt, demand } = reservation;
    if (gpuType === null || !Number.isFinite(startAt)) return;
    const replay = this.replays[gpuType]!;
    const position = replay.positionOf[node]!;
    if (position >= 0) this.take(replay, position, Math.ceil(demand.gpus), startAt, runtimeLimitMs);
  }

  /** The job's estimated start, booking its GPUs in the replay; null when unknown. */
  estimate(job: PendingJob): number | null {
    const best = this.earliest(job);
    if (best === null) return null;
    const position = best.replay.trees[best.gpus - 1]!.argmin();
    this.take(best.replay, position, best.gpus, best.at, job.runtimeLimitMs);
    return best.at;
  }

  /** The demand and GPU type that could start first, or null when none can in finite time. */
  private earliest(job: PendingJob): Choice | null {
    let best: Choice | null = null;
    for (const demand of job.demands) {
      const gpus = Math.ceil(demand.gpus);
      if (gpus <= 0) continue;
      for (const type of this.capacity.typeIdsFor(demand)) {
        const replay = this.replays[type]!;
        const at = gpus <= replay.trees.length ? replay.trees[gpus - 1]!.min() : Infinity;
        if (at < (best?.at ?? Infinity)) best = { replay, gpus, at };
      }
    }
    return best;
  }

  /** Gives the node's `gpus` earliest-free GPUs to a job running from `startAt`. */
  private take(replay: TypeReplay, position: number, gpus: number, startAt: number, limit: number | null): void {
    const times = replay.times[position]!;
    const endsAt = limit === null ? Infinity : Math.max(startAt, this.now) + limit;
    // Drop the first `gpus` times and insert as many `endsAt`, keeping the order; times after the
    // insertion point keep their places, so only the slots before it change.
    let read = Math.min(gpus, times.length);
    let write = 0;
    while (read < times.length && times[read]! <= endsAt) times[write++] = times[read++]!;
    while (write < read) times[write++] = endsAt;
    for (let g = 0; g < write; g++) replay.trees[g]!.set(position, times[g]!);
  }
}
