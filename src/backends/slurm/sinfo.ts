// Reads the cluster's nodes from one `sinfo -N` call: node, partition, state, CPUs, memory and
// GPUs (gres, typed or not). Pure. A node listed once per partition becomes one node with all its
// partitions. GPUs of a drained, draining, down, failed or not-responding node are unhealthy, so
// `stint gpus` shows them and admission does not count them.

import type { Gpu, Inventory, Node } from '../../core/inventory.js';

export const SINFO_ARGS = ['-h', '-N', '-o', '%N|%P|%T|%c|%m|%G|%E'];

export interface SlurmNode extends Node {
  partitions: string[];
  /** Slurm's state word, e.g. idle, mixed, allocated, drained, down*. */
  state: string;
  reason: string;
  /** The cluster's spellings of its GPU types (gres types are case-sensitive). */
  gresTypes: string[];
}

const UNHEALTHY = /^(drain|drained|draining|down|fail|failing|maint|reboot|unknown|inval|not_responding|future)/;

export function nodeHealthy(state: string): boolean {
  // a trailing * means "not responding"; ~ powered off; # powering up; ! powering down
  if (state.endsWith('*')) return false;
  return !UNHEALTHY.test(state.toLowerCase().replace(/[~#!%$@^-]+$/, ''));
}

/** `gpu:a100:4(S:0-1),gpu:2,shard:8` → [{type: 'a100', count: 4}, {type: null, count: 2}]. */
export function parseGres(gres: string): Array<{ type: string | null; count: number }> {
  const out: Array<{ type: string | null; count: number }> = [];
  for (const item of gres.split(/,(?![^(]*\))/)) {
    const clean = item.replace(/\(.*\)$/, '').trim();
    const parts = clean.split(':');
    if (parts[0] !== 'gpu') continue;
    const count = Number(parts[parts.length - 1]);
    if (!Number.isInteger(count)) continue;
    out.push({ type: parts.length >= 3 ? parts.slice(1, -1).join(':') : null, count });
  }
  return out;
}

export function parseSinfo(text: string, backend: string): { inventory: Inventory; nodes: SlurmNode[] } {
  const nodes = new Map<string, SlurmNode>();
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const [name = '', partition = '', state = '', cpus = '0', memory = '0', gres = '', ...reason] = line.split('|');
    const existing = nodes.get(name);
    const partitionName = partition.replace(/\*$/, '');
    if (existing) {
      if (!existing.partitions.includes(partitionName)) existing.partitions.push(partitionName);
      continue;
    }
    const healthy = nodeHealthy(state);
    const gpus: Gpu[] = [];
    const gresTypes: string[] = [];
    for (const g of parseGres(gres)) {
      if (g.type) gresTypes.push(g.type);
      for (let i = 0; i < g.count; i++) {
        gpus.push({ index: gpus.length, name: g.type ? g.type.toUpperCase() : 'GPU', model: g.type ?? 'gpu', memoryMb: 0, vendor: 'nvidia', healthy });
      }
    }
    nodes.set(name, {
      name, gpus, cpus: Number(cpus) || 0, memoryGb: Math.floor((Number(memory) || 0) / 1024),
      partitions: [partitionName], state, reason: reason.join('|').trim(), gresTypes,
    });
  }
  const list = [...nodes.values()];
  return { inventory: { backend, nodes: list.map(({ name, gpus, cpus, memoryGb, state, partitions }) => ({ name, gpus, cpus, memoryGb, state, partitions: [...partitions] })) }, nodes: list };
}
