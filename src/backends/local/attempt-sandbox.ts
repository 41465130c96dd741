// What confines one local attempt, from start to end: its limits (the task's memory and cpus, the
// server's per-GPU memory default, the pids limit, the GPU device nodes it may not open), its
// cgroup, its private tmp/ and the launch plan the root part follows; and, once it has ended, the
// cleanup: evidence recorded (memory peak, limit, oom kills) in the root-owned `limits` file,
// every process left in its cgroup killed, the cgroup removed, tmp/ emptied as the job's account.
// Must hold: the evidence is written before the cgroup goes, once (O_EXCL), and read back from the
// file afterwards, so an out-of-memory end is still reported after a server restart; every step of
// the cleanup may be repeated.

import { statSync } from 'node:fs';
import { join } from 'node:path';
import type { Gpu } from '../../core/inventory.js';
import type { LaunchRequest } from '../backend.js';
import { type Account, createAttemptFile, createJobTmp, readStateFile, removeJobTmp } from './attempt-files.js';
import type { CgroupEvidence } from './cgroups/attempt-cgroup.js';
import type { HostConfinement } from './cgroups/confinement.js';
import { type AttemptLimits, chooseCpus, type DeviceNumber, formatCpuList } from './cgroups/limits.js';
import type { LaunchPlan } from './launcher-script.js';
import { procsFiles } from './cgroups/limits.js';

export const DEFAULT_PIDS_LIMIT = 16384;

export interface SandboxSettings {
  host: HostConfinement;
  /** `--default-memory-per-gpu`: the memory limit of a task that states none, per GPU it holds. */
  defaultMemoryPerGpuBytes: number | null;
  pidsLimit: number;
  /** Device numbers of the node's GPUs, by index (those with a device node). */
  gpuDevices: ReadonlyMap<number, { path: string; device: DeviceNumber }>;
}

/** Major and minor of each GPU's device node (stat of the node; GPUs without one are left out). */
export function gpuDeviceNumbers(gpus: readonly Gpu[]): Map<number, { path: string; device: DeviceNumber }> {
  const found = new Map<number, { path: string; device: DeviceNumber }>();
  for (const gpu of gpus) {
    if (gpu.devicePath === undefined) continue;
    try {
      const stat = statSync(gpu.devicePath);
      if (!stat.isCharacterDevice()) continue;
      found.set(gpu.index, { path: gpu.devicePath, device: deviceNumber(stat.rdev) });
    } catch {
      // no such node on this host: nothing to hide
    }
  }
  return found;
}

/** Linux's dev_t encoding (glibc's major()/minor()). */
export function deviceNumber(rdev: number): DeviceNumber {
  const high = Math.floor(rdev / 2 ** 32);
  const low = rdev % 2 ** 32;
  return { major: (((low >>> 8) & 0xfff) | (high & 0xfffff000)) >>> 0, minor: ((low & 0xff) | ((low >>> 12) & 0xfff00) | ((high & 0xfff) << 20)) >>> 0 };
}

/** Memory, CPUs and pids an attempt is held to (its cpuset is chosen when its cgroup is made). */
export function requestedLimits(settings: SandboxSettings, request: Pick<LaunchRequest, 'spec' | 'gpus'>): { memoryBytes: number | null; cpus: number | null; pidsMax: number } {
  const choice = request.spec.resources[0];
  const stated = choice?.memoryGb?.value;
  const memoryBytes = stated !== undefined ? Math.round(stated * 2 ** 30)
    : settings.defaultMemoryPerGpuBytes !== null && request.gpus.length > 0 ? settings.defaultMemoryPerGpuBytes * request.gpus.length : null;
  return { memoryBytes, cpus: choice?.cpus?.value ?? null, pidsMax: settings.pidsLimit };
}

export interface PreparedSandbox {
  plan: LaunchPlan;
  /** The attempt's cgroup relative to each hierarchy's root; null: not confined. */
  cgroup: string | null;
  /** TMPDIR as the job sees it. */
  tmpdir: string;
  memoryBytes: number | null;
  cpus: number | null;
}

/**
 * Makes the attempt's tmp/ and cgroup and returns the plan. `container`: the engine runs the job
 * (its argv is the plan; the container has its own /tmp, and the engine puts it under the cgroup).
 */
export async function prepareSandbox(settings: SandboxSettings, request: Pick<LaunchRequest, 'jobId' | 'attempt' | 'spec' | 'gpus'>, attemptDir: string, owner: Account | null, container?: (cgroup: string | null, limits: { memoryBytes: number | null; cpus: number | null; pidsMax: number }) => Promise<string[]>): Promise<PreparedSandbox> {
  const { host } = settings;
  const tmp = await createJobTmp(attemptDir, owner);
  const wanted = requestedLimits(settings, request);
  let cgroup: string | null = null;
  if (host.cgroups) {
    cgroup = host.cgroups.relative(request.jobId, request.attempt);
    const allowed = host.cgroups.allowed();
    const cpuList = wanted.cpus !== null ? formatCpuList(chooseCpus(allowed.cpus, host.cgroups.cpuUse(), wanted.cpus))
      : host.cgroups.layout.version === 'v1' && allowed.cpus.length > 0 ? formatCpuList(allowed.cpus) : null;
    // A container's own devices cgroup (runc: its defaults + the --device nodes) isolates its GPUs;
    // a deny rule here would make runc's default rules for that child cgroup fail (EPERM).
    const denied = container ? [] : [...settings.gpuDevices].filter(([index]) => !request.gpus.includes(index)).map(([, d]) => d.device);
    const limits: AttemptLimits = { ...wanted, cpuList, memList: host.cgroups.layout.version === 'v1' ? allowed.mems : null, deniedDevices: denied };
    await host.cgroups.create(cgroup, limits);
  }
  const base = { memoryBytes: wanted.memoryBytes, cpus: wanted.cpus, cgroup };
  if (container) return { ...base, plan: { runAs: null, cgroupProcs: [], binds: null, containerArgv: await container(cgroup, wanted) }, tmpdir: '/tmp' };
  const binds = host.namespace ? [...settings.gpuDevices].filter(([index]) => !request.gpus.includes(index)).map(([, d]) => ({ source: '/dev/null', target: d.path })) : null;
  if (binds && host.confinement.privateTmp) binds.push({ source: tmp, target: '/tmp' });
  const plan: LaunchPlan = { runAs: owner, cgroupProcs: host.cgroups && cgroup ? procsFiles(host.cgroups.layout, cgroup) : [], binds };
  return { ...base, plan, tmpdir: binds && host.confinement.privateTmp ? '/tmp' : tmp };
}

/**
 * After the attempt's shell has ended: records the evidence (once), kills what is left in its
 * cgroup (a `setsid` escapee), removes the cgroup and empties tmp/. Returns the evidence (null:
 * the attempt was not confined).
 */
export async function finishSandbox(settings: SandboxSettings, attemptDir: string, cgroup: string | null, owner: Account | null): Promise<CgroupEvidence | null> {
  const cgroups = settings.host.cgroups;
  let evidence = readEvidence(attemptDir);
  if (cgroups && cgroup) {
    if (evidence === null) {
      const found = cgroups.evidence(cgroup);
      if (found !== null) {
        await createAttemptFile(join(attemptDir, 'limits'), `${JSON.stringify(found)}\n`).catch((error: NodeJS.ErrnoException) => {
          if (error.code !== 'EEXIST') throw error;
        });
        evidence = readEvidence(attemptDir) ?? found;
      }
    }
    await cgroups.kill(cgroup);
    await cgroups.remove(cgroup).catch(() => undefined);
  }
  // What a job left that its own account cannot remove stays in the root-owned attempt
  // directory; it never keeps the attempt's end from being reported.
  await removeJobTmp(attemptDir, owner).catch(() => undefined);
  return evidence;
}

function readEvidence(attemptDir: string): CgroupEvidence | null {
  const text = readStateFile(join(attemptDir, 'limits'), 4096);
  if (text === null || !text.endsWith('\n')) return null;
  try {
    const parsed = JSON.parse(text) as Partial<CgroupEvidence>;
    return { peakBytes: parsed.peakBytes ?? null, limitBytes: parsed.limitBytes ?? null, oomKills: Number(parsed.oomKills) || 0, limitHits: Number(parsed.limitHits) || 0 };
  } catch {
    return null;
  }
}

/**
 * Whether the attempt ended out of memory: an oom kill in its subtree; or, for a container, a
 * SIGKILL after its cgroup reached its limit (on cgroup v1 the kill is counted in the container's
 * own cgroup, which the engine has removed by the time the attempt ends, and recent kernels keep
 * no failcnt: the peak at the limit is the evidence left).
 */
export function endedOutOfMemory(evidence: CgroupEvidence | null, exitCode: number | null, container: boolean): boolean {
  if (evidence === null) return false;
  if (evidence.oomKills > 0) return true;
  if (!container || exitCode !== 137) return false;
  const atLimit = evidence.limitBytes !== null && evidence.peakBytes !== null && evidence.peakBytes >= evidence.limitBytes * 0.98;
  return (evidence.limitHits ?? 0) > 0 || atLimit;
}

/** `1.02 GiB`, `256 MiB`. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${unit === 0 || Number.isInteger(value) ? value : value.toFixed(2)} ${units[unit]}`;
}

/** "peak 256 MiB, limit 256 MiB (1 oom kill; the job's shell: killed by SIGKILL)"; the scheduler says "out of memory: " before it. */
export function outOfMemoryDetail(evidence: CgroupEvidence, ended: string): string {
  const peak = evidence.peakBytes === null ? 'peak unknown' : `peak ${formatBytes(evidence.peakBytes)}`;
  const limit = evidence.limitBytes === null ? 'no limit' : `limit ${formatBytes(evidence.limitBytes)}`;
  const kills = evidence.oomKills > 0 ? `${evidence.oomKills} oom kill${evidence.oomKills === 1 ? '' : 's'} in the job's cgroup` : 'killed at the limit';
  return `${peak}, ${limit} (${kills}; the job's shell: ${ended})`;
}
