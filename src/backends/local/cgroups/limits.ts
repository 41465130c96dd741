// What an attempt's cgroup is set to, as a list of file writes: pure, so both cgroup versions are
// tested on fixtures (only v1 runs on the development machine). Also the CPU-list arithmetic of
// the cpuset choice: ceil(cpus) CPUs, the least used by other running stint attempts.
// Must hold: memory and swap limits are written in an order the kernel accepts (v1 memsw must be
// at least the memory limit, so memory first); devices are denied by exact major:minor, everything
// else stays allowed; a write marked optional is one whose file a kernel may lack (swap accounting).

import type { CgroupLayout, V1Controller } from './layout.js';

export interface DeviceNumber {
  major: number;
  minor: number;
}

export interface AttemptLimits {
  memoryBytes: number | null;
  /** The task's `cpus` (CPU quota); null: no quota. */
  cpus: number | null;
  /** The cpuset chosen (`0-1,4`); null: the parent's. */
  cpuList: string | null;
  /** The memory nodes of the cpuset (v1 needs them set; the parent's). */
  memList: string | null;
  pidsMax: number | null;
  /** Character devices the attempt may not open (the GPUs it does not hold). */
  deniedDevices: DeviceNumber[];
}

export interface CgroupWrite {
  path: string;
  value: string;
  /** The kernel may not have this file (swap accounting off): skipped when absent. */
  optional?: boolean;
}

export const CFS_PERIOD_US = 100_000;

/** The attempt's directory in one v1 controller, or in the v2 tree. */
export function cgroupDir(layout: CgroupLayout, relative: string, controller: V1Controller = 'memory'): string | null {
  if (layout.version === 'v2') return layout.root + relative;
  const mount = layout.mounts[controller];
  return mount === undefined ? null : mount + relative;
}

/** Every cgroup.procs the job's shell writes its pid into before it drops (one per hierarchy). */
export function procsFiles(layout: CgroupLayout, relative: string): string[] {
  if (layout.version === 'v2') return [`${layout.root}${relative}/cgroup.procs`];
  const dirs = new Set<string>();
  for (const mount of Object.values(layout.mounts)) dirs.add(`${mount}${relative}/cgroup.procs`);
  return [...dirs];
}

/** The writes that set an attempt's limits, in order. */
export function limitWrites(layout: CgroupLayout, relative: string, limits: AttemptLimits): CgroupWrite[] {
  return layout.version === 'v1' ? v1Writes(layout, relative, limits) : v2Writes(layout.root + relative, layout.controllers, limits);
}

function v1Writes(layout: Extract<CgroupLayout, { version: 'v1' }>, relative: string, limits: AttemptLimits): CgroupWrite[] {
  const writes: CgroupWrite[] = [];
  const at = (controller: V1Controller, file: string, value: string, optional = false) => {
    const mount = layout.mounts[controller];
    if (mount !== undefined) writes.push({ path: `${mount}${relative}/${file}`, value, ...(optional && { optional }) });
  };
  // A v1 cpuset starts empty: it must get CPUs and memory nodes before any task can join it.
  if (limits.cpuList !== null) at('cpuset', 'cpuset.cpus', limits.cpuList);
  if (limits.memList !== null) at('cpuset', 'cpuset.mems', limits.memList);
  if (limits.memoryBytes !== null) {
    at('memory', 'memory.limit_in_bytes', String(limits.memoryBytes));
    at('memory', 'memory.memsw.limit_in_bytes', String(limits.memoryBytes), true);
  }
  if (limits.cpus !== null) {
    at('cpu', 'cpu.cfs_period_us', String(CFS_PERIOD_US));
    at('cpu', 'cpu.cfs_quota_us', String(cpuQuotaUs(limits.cpus)));
  }
  if (limits.pidsMax !== null) at('pids', 'pids.max', String(limits.pidsMax));
  for (const device of limits.deniedDevices) at('devices', 'devices.deny', `c ${device.major}:${device.minor} rwm`);
  return writes;
}

function v2Writes(dir: string, controllers: string[], limits: AttemptLimits): CgroupWrite[] {
  const writes: CgroupWrite[] = [];
  const has = (c: string) => controllers.includes(c);
  if (limits.cpuList !== null && has('cpuset')) writes.push({ path: `${dir}/cpuset.cpus`, value: limits.cpuList });
  if (limits.memoryBytes !== null) {
    writes.push({ path: `${dir}/memory.max`, value: String(limits.memoryBytes) });
    writes.push({ path: `${dir}/memory.swap.max`, value: '0', optional: true });
  }
  if (limits.cpus !== null && has('cpu')) writes.push({ path: `${dir}/cpu.max`, value: `${cpuQuotaUs(limits.cpus)} ${CFS_PERIOD_US}` });
  if (limits.pidsMax !== null && has('pids')) writes.push({ path: `${dir}/pids.max`, value: String(limits.pidsMax) });
  // v2 has no devices files (a BPF program would be needed): GPU nodes are hidden by the mount namespace.
  return writes;
}

/** The CPU quota per period for `cpus` CPUs (at least 1 ms, the kernel's minimum). */
export function cpuQuotaUs(cpus: number): number {
  return Math.max(1000, Math.round(cpus * CFS_PERIOD_US));
}

/** `0-3,8,10-11` → [0,1,2,3,8,10,11]; an empty or unreadable list → []. */
export function parseCpuList(text: string): number[] {
  const cpus: number[] = [];
  for (const part of text.trim().split(',')) {
    const match = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (!match) continue;
    const from = Number(match[1]);
    const to = match[2] === undefined ? from : Number(match[2]);
    for (let cpu = from; cpu <= to && cpu - from < 4096; cpu++) cpus.push(cpu);
  }
  return cpus;
}

/** [0,1,2,5] → `0-2,5`. */
export function formatCpuList(cpus: readonly number[]): string {
  const sorted = [...new Set(cpus)].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j]! + 1) j++;
    parts.push(i === j ? String(sorted[i]) : `${sorted[i]}-${sorted[j]}`);
    i = j + 1;
  }
  return parts.join(',');
}

/**
 * ceil(cpus) CPUs out of `allowed`, the least used first (`used`: how many running attempts hold
 * each CPU), ties to the lower number; all of `allowed` when it has no more than that.
 */
export function chooseCpus(allowed: readonly number[], used: ReadonlyMap<number, number>, cpus: number): number[] {
  const count = Math.max(1, Math.ceil(cpus));
  if (allowed.length <= count) return [...allowed];
  return [...allowed]
    .sort((a, b) => (used.get(a) ?? 0) - (used.get(b) ?? 0) || a - b)
    .slice(0, count)
    .sort((a, b) => a - b);
}
