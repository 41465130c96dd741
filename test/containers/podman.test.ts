// Podman detection against the real podman of this machine (root), and the rlimit choice from
// recorded /proc texts.
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Podman, detectUlimits } from '../../src/containers/podman.js';

const LIMITS = 'Limit                     Soft Limit           Hard Limit           Units\nMax processes             96368                96368                processes\nMax open files            1024                 20000                files\n';

describe('podman', () => {
  it('asks for the hard rlimits (capped) only when it cannot raise them', () => {
    expect(detectUlimits('CapEff:\t000001fffeffffff\n', LIMITS)).toEqual(['nofile=20000:20000', 'nproc=32768:32768']);
    expect(detectUlimits('CapEff:\t000001ffffffffff\n', LIMITS)).toEqual([]);
  });

  it('detects podman and a runtime, and runs podman with its own environment only', async () => {
    const home = await mkdtemp(join(tmpdir(), 'stint-podman-'));
    const podman = await Podman.detect({ home, env: { HOME: '/root', LD_PRELOAD: '/evil.so' } });
    if ('unavailable' in podman) throw new Error(podman.unavailable);
    expect(podman.binary).toMatch(/^\/.*podman$/);
    expect(podman.globalArgs).toEqual(['--runtime', podman.runtime, '--cgroup-manager', 'cgroupfs', '--events-backend', 'file']);
    expect(Object.keys(podman.env).sort()).toEqual(['CONTAINERS_CONF', 'HOME', 'PATH']);
    expect(await readFile(podman.configFile, 'utf8')).toContain(`stint = ["${podman.runtime}"]`);
    const version = await podman.run(['version', '--format', '{{.Client.Version}}']);
    expect(version).toMatchObject({ code: 0, stdout: expect.stringMatching(/^\d+\.\d+/) });
    expect(podman.command(['ps'])).toEqual(['/usr/bin/env', '-i', `PATH=${podman.env.PATH}`, `CONTAINERS_CONF=${podman.configFile}`, 'HOME=/root', podman.binary, ...podman.globalArgs, 'ps']);
  });

  it('says why when the runtime given does not exist', async () => {
    const home = await mkdtemp(join(tmpdir(), 'stint-podman-'));
    expect(await Podman.detect({ home, runtime: '/nonexistent/runc' })).toEqual({ unavailable: expect.stringContaining('/nonexistent/runc') });
  });
});
