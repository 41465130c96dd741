// Consolidated gang placement on the simulated cluster.
import { describe, expect, it } from 'vitest';
import { SimCluster } from './cluster.js';

describe('SimCluster', () => {
  it('places small jobs best fit and wide jobs on whole nodes plus a best-fit remainder', () => {
    const cluster = new SimCluster(4, 8);
    const small = cluster.place(3, 1)!;
    expect(small).toEqual([{ node: 0, gpuIndices: [0, 1, 2] }]);
    // 5 fits best on node 0 (5 free) rather than on an empty node
    expect(cluster.find(5)).toEqual([{ node: 0, gpuIndices: [3, 4, 5, 6, 7] }]);
    // 12 = one whole node + 4 on the fullest node that still has 4 (node 0, 5 free)
    const wide = cluster.place(12, 2)!;
    expect(wide.map((p) => [p.node, p.gpuIndices.length])).toEqual([[1, 8], [0, 4]]);
    expect(cluster.freeGpus).toBe(32 - 15);
    // 20 needs 2 whole nodes (2 and 3) and 4 more elsewhere: node 0 has only 1 free
    expect(cluster.find(20)).toBeNull();
    expect(cluster.jobsOn(0)).toEqual(new Set([1, 2]));
    cluster.release(wide, 2);
    expect(cluster.freeGpus).toBe(29);
    expect(cluster.find(20)).not.toBeNull();
  });

  it('refuses to hand out a GPU twice', () => {
    const cluster = new SimCluster(1, 2);
    cluster.take([{ node: 0, gpuIndices: [0] }]);
    expect(() => cluster.take([{ node: 0, gpuIndices: [0] }])).toThrow(/already held/);
  });

  it('offers plan() the nodes best fit could pick', () => {
    const cluster = new SimCluster(5, 2);
    cluster.place(1, 1); // node 0: 1 free
    cluster.place(1, 2); // node 0 again (best fit): 0 free
    cluster.place(1, 3); // node 1: 1 free
    // counts: node 1 -> 1 free; nodes 2, 3, 4 -> 2 free. One node per count:
    expect(cluster.nodesForPlacements(1)).toEqual([1, 2]);
    expect(cluster.nodesForPlacements(2)).toEqual([1, 2, 3]);
  });
});
