// The cgroup v2 side of an attempt's cgroups on a directory tree that stands in for /sys/fs/cgroup
// (only v1 runs on the development machine): controllers enabled down the path, limits written in
// one directory, evidence read from memory.events and memory.peak, the kill through cgroup.kill.
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AttemptCgroups, cgroupBase } from './attempt-cgroup.js';

describe('attempt cgroups on a v2 tree', () => {
  it('enables its controllers, writes the limits, reads the evidence and kills through cgroup.kill', async () => {
    const root = mkdtempSync(join(tmpdir(), 'stint-cg2-'));
    writeFileSync(join(root, 'cgroup.subtree_control'), 'cpu\n');
    const cgroups = new AttemptCgroups({ version: 'v2', root, controllers: ['cpuset', 'cpu', 'memory', 'pids'] }, cgroupBase('/var/lib/stint/jobs'));
    expect(cgroups.base).toMatch(/^\/stint\/[0-9a-f]{12}$/);
    cgroups.ensureBase();
    // The root already had cpu; the rest is enabled there and at each level stint made.
    expect(readFileSync(join(root, 'cgroup.subtree_control'), 'utf8')).toBe('+memory +cpuset +pids');
    expect(readFileSync(join(root, cgroups.base, 'cgroup.subtree_control'), 'utf8')).toBe('+memory +cpu +cpuset +pids');
    const at = cgroups.relative(4, 1);
    await cgroups.create(at, { memoryBytes: 2 ** 28, cpus: 1, cpuList: '1', memList: null, pidsMax: 100, deniedDevices: [] });
    const dir = join(root, at);
    expect(readFileSync(join(dir, 'memory.max'), 'utf8')).toBe(String(2 ** 28));
    expect(readFileSync(join(dir, 'cpu.max'), 'utf8')).toBe('100000 100000');
    // No swap accounting on this "kernel": the optional file is not created.
    expect(existsSync(join(dir, 'memory.swap.max'))).toBe(false);
    writeFileSync(join(dir, 'memory.events'), 'low 0\nhigh 0\nmax 7\noom 1\noom_kill 1\n');
    writeFileSync(join(dir, 'memory.peak'), `${2 ** 28}\n`);
    expect(cgroups.evidence(at)).toEqual({ peakBytes: 2 ** 28, limitBytes: 2 ** 28, oomKills: 1, limitHits: 7 });
    writeFileSync(join(dir, 'cgroup.kill'), '');
    await cgroups.kill(at);
    expect(readFileSync(join(dir, 'cgroup.kill'), 'utf8')).toBe('1');
    // Its cpuset counts as used when the next attempt's CPUs are chosen.
    expect(cgroups.cpuUse()).toEqual(new Map([[1, 1]]));
  });
});
