// sinfo -N: nodes, partitions, typed GPUs and health (fixtures: test/fixtures/slurm/SOURCES.md).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { nodeHealthy, parseGres, parseSinfo } from './sinfo.js';

const fixture = (path: string) => readFileSync(new URL(`../../../test/fixtures/slurm/${path}`, import.meta.url), 'utf8');

describe('sinfo -N', () => {
  it('reads the test cluster: typed GPUs named for matching, partitions, states', () => {
    const { inventory, nodes } = parseSinfo(fixture('22.05/sinfo-N.txt'), 'hpc');
    expect(inventory.nodes.map((n) => [n.name, n.cpus, n.memoryGb, n.gpus.length])).toEqual([['n1', 8, 15, 4], ['n2', 8, 15, 4], ['n3', 8, 15, 4]]);
    expect(inventory.nodes[0]!.gpus[3]).toEqual({ index: 3, name: 'A100', model: 'a100', memoryMb: 0, vendor: 'nvidia', healthy: true });
    expect(nodes.map((n) => [n.name, n.partitions, n.state, n.gresTypes])).toEqual([
      ['n1', ['debug'], 'mixed', ['a100']], ['n2', ['debug'], 'idle', ['a100']], ['n3', ['second'], 'mixed', ['a100']],
    ]);
  });

  it('merges a node listed in several partitions and marks drained or down nodes unhealthy', () => {
    const text = ['g1|gpu*|allocated|64|515000|gpu:h100:8(S:0-1)|none', 'g1|long|allocated|64|515000|gpu:h100:8(S:0-1)|none',
      'g2|gpu*|drained|64|515000|gpu:h100:8(S:0-1)|bad gpu 3', 'g3|gpu*|down*|64|515000|gpu:4,shard:16|Not responding', 'c1|cpu|idle|128|256000|(null)|none'].join('\n');
    const { inventory, nodes } = parseSinfo(text, 'hpc');
    expect(nodes.map((n) => [n.name, n.partitions, n.reason])).toEqual([['g1', ['gpu', 'long'], 'none'], ['g2', ['gpu'], 'bad gpu 3'], ['g3', ['gpu'], 'Not responding'], ['c1', ['cpu'], 'none']]);
    expect(inventory.nodes.map((n) => [n.name, n.gpus.length, n.gpus[0]?.name, n.gpus[0]?.healthy])).toEqual([
      ['g1', 8, 'H100', true], ['g2', 8, 'H100', false], ['g3', 4, 'GPU', false], ['c1', 0, undefined, undefined],
    ]);
  });

  it('knows which states can run work', () => {
    expect(['idle', 'mixed', 'allocated', 'completing', 'planned'].map(nodeHealthy)).toEqual([true, true, true, true, true]);
    expect(['drained', 'draining', 'down', 'down*', 'idle*', 'fail', 'maint', 'unknown', 'inval'].map(nodeHealthy)).toEqual(Array(9).fill(false));
    expect(parseGres('gpu:a100:2(S:0),gpu:v100:1,shard:4')).toEqual([{ type: 'a100', count: 2 }, { type: 'v100', count: 1 }]);
  });
});
