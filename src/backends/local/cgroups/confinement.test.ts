// Why a host does not confine, in words: turned off, not root, no cgroup memory controller. And
// the device numbers the devices cgroup denies, decoded as the kernel encodes them.
import { statSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { deviceNumber } from '../attempt-sandbox.js';
import { probeConfinement } from './confinement.js';

const base = { jobsDir: '/var/lib/stint/jobs', unshare: '/usr/bin/unshare' };

describe('confinement probe', () => {
  it('names the reason a host does not confine', () => {
    expect(probeConfinement({ ...base, enabled: false, isRoot: true }).confinement).toEqual({ enforced: false, cgroup: null, privateTmp: false, reason: expect.stringMatching(/turned off/) });
    expect(probeConfinement({ ...base, enabled: true, isRoot: false }).confinement.reason).toMatch(/not root.*own TMPDIR/);
    const none = probeConfinement({ ...base, enabled: true, isRoot: true, mountinfo: '23 1 0:22 / /proc rw - proc proc rw\n' });
    expect(none.confinement.reason).toMatch(/no cgroup memory controller/);
    expect(none.cgroups).toBeNull();
  });
});

describe('device numbers', () => {
  it('decodes dev_t as glibc does', () => {
    expect(deviceNumber(statSync('/dev/full').rdev)).toEqual({ major: 1, minor: 7 });
    // major 511, minor 1048575 (minor bits above the first 8 sit above major's 12).
    expect(deviceNumber(0xfff1ffff)).toEqual({ major: 0x1ff, minor: 0xfffff });
  });
});
