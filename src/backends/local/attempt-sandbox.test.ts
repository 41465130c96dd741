// The arithmetic of an attempt's confinement: which memory limit applies (the task's, else the
// server's per-GPU default), when an end counts as out of memory, and how the evidence reads.
import { describe, expect, it } from 'vitest';
import { taskSpec } from '../contract.js';
import { endedOutOfMemory, formatBytes, outOfMemoryDetail, requestedLimits, type SandboxSettings } from './attempt-sandbox.js';

const settings = (defaultMemoryPerGpuBytes: number | null): SandboxSettings => ({
  host: { confinement: { enforced: false, cgroup: null, privateTmp: false }, cgroups: null, namespace: false },
  defaultMemoryPerGpuBytes, pidsLimit: 16384, gpuDevices: new Map(),
});

describe('attempt limits', () => {
  it('takes the task\'s memory, else the per-GPU default times its GPUs, else none', () => {
    const stated = taskSpec('true');
    stated.resources = [{ ...stated.resources[0]!, memoryGb: { value: 0.25, orMore: false }, cpus: { value: 2, orMore: false } }];
    expect(requestedLimits(settings(2 ** 34), { spec: stated, gpus: [0, 1] })).toEqual({ memoryBytes: 2 ** 28, cpus: 2, pidsMax: 16384 });
    expect(requestedLimits(settings(2 ** 34), { spec: taskSpec('true'), gpus: [0, 1] })).toEqual({ memoryBytes: 2 ** 35, cpus: null, pidsMax: 16384 });
    expect(requestedLimits(settings(2 ** 34), { spec: taskSpec('true'), gpus: [] }).memoryBytes).toBeNull();
    expect(requestedLimits(settings(null), { spec: taskSpec('true'), gpus: [0] }).memoryBytes).toBeNull();
  });
});

describe('out of memory', () => {
  const limit = 256 * 2 ** 20;
  it('is any oom kill in the subtree; for a container, a SIGKILL at the limit', () => {
    expect(endedOutOfMemory({ peakBytes: limit, limitBytes: limit, oomKills: 1 }, 1, false)).toBe(true);
    expect(endedOutOfMemory({ peakBytes: limit, limitBytes: limit, oomKills: 0 }, 137, false)).toBe(false);
    expect(endedOutOfMemory({ peakBytes: limit, limitBytes: limit, oomKills: 0 }, 137, true)).toBe(true);
    expect(endedOutOfMemory({ peakBytes: limit / 2, limitBytes: limit, oomKills: 0 }, 137, true)).toBe(false);
    expect(endedOutOfMemory(null, 137, true)).toBe(false);
  });

  it('says peak, limit and how the job\'s shell ended', () => {
    expect(formatBytes(1.02 * 2 ** 30)).toBe('1.02 GiB');
    expect(formatBytes(limit)).toBe('256 MiB');
    expect(outOfMemoryDetail({ peakBytes: limit, limitBytes: limit, oomKills: 1 }, 'killed by SIGKILL')).toBe("peak 256 MiB, limit 256 MiB (1 oom kill in the job's cgroup; the job's shell: killed by SIGKILL)");
  });
});
