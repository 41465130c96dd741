// Golden files pin the `podman run` argv of a container attempt, one per kind of request
// (golden/run-*.txt, one argument per line, JSON-quoted); run with STINT_UPDATE_GOLDEN=1 to
// rewrite them after an intended change. JOB_SHELL (the launcher's, pinned by its own golden)
// is shown as <JOB_SHELL>.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { ContainerRequest } from '../container-port.js';
import { JOB_SHELL } from '../launcher-script.js';
import { buildRunArgs, containerGpuEnv, type RunArgsInput } from './run-args.js';

function golden(name: string, args: string[]): void {
  const text = `${args.map((a) => (a === JOB_SHELL ? '<JOB_SHELL>' : JSON.stringify(a))).join('\n')}\n`;
  const path = new URL(`./golden/${name}`, import.meta.url);
  if (process.env.STINT_UPDATE_GOLDEN === '1' || !existsSync(path)) writeFileSync(path, text);
  expect(text).toBe(readFileSync(path, 'utf8'));
}

const REQUEST: ContainerRequest = {
  imageId: 'docker:pytorch/pytorch:2.3.0', attemptName: 'ab12-job-4-1', owner: { id: 7, name: 'alice' }, runAs: { uid: 1001, gid: 1001, groups: [1001, 44, 27] },
  cgroupParent: '/stint/ab12/job-4-1', gpus: [2, 3],
  mounts: [
    { host: '/var/lib/stint/jobs/4/attempt-1/work', container: '/var/lib/stint/jobs/4/attempt-1/work', readOnly: false },
    { host: '/home/alice', container: '/home/alice', readOnly: false },
  ],
  workdir: '/var/lib/stint/jobs/4/attempt-1/work', memoryBytes: 17179869184, cpus: 4, pidsLimit: 4096,
};

const INPUT: RunArgsInput = {
  request: REQUEST, name: 'stint-ab12-job-4-1', imageId: 'e260bd07b436f59d3ec0c9e3a5b8b3d8bfb3bd1b9ea27d8bd6d7d4f7c3a5b6c7',
  devices: ['nvidia.com/gpu=2', 'nvidia.com/gpu=3'], ulimitArgs: ['--ulimit', 'nofile=20000:20000', '--ulimit', 'nproc=32768:32768'],
  serverIsRoot: true, self: { uid: 0, gid: 0 },
};

describe('podman run arguments', () => {
  it('match the golden files', () => {
    golden('run-gpus-limits.txt', buildRunArgs(INPUT));
    const bare: ContainerRequest = { ...REQUEST, runAs: null, cgroupParent: null, gpus: [], mounts: [], workdir: '/', memoryBytes: null, cpus: null, pidsLimit: null };
    golden('run-rootless-unconfined.txt', buildRunArgs({ ...INPUT, request: bare, devices: [], ulimitArgs: [], serverIsRoot: false, self: { uid: 1000, gid: 1000 } }));
  });

  it('renumbers the GPUs from 0 inside', () => {
    expect(containerGpuEnv([2, 3], 'nvidia')).toEqual({ CUDA_VISIBLE_DEVICES: '0,1', NVIDIA_VISIBLE_DEVICES: 'void' });
    expect(containerGpuEnv([5], 'amd')).toEqual({ ROCR_VISIBLE_DEVICES: '0', HIP_VISIBLE_DEVICES: '0', CUDA_VISIBLE_DEVICES: '0' });
  });

  it('refuses a mount path podman -v would split', () => {
    const request = { ...REQUEST, mounts: [{ host: '/data/a:b', container: '/x', readOnly: true }] };
    expect(() => buildRunArgs({ ...INPUT, request })).toThrow(/"\/data\/a:b" cannot be passed to podman -v/);
  });
});
