// The cgroup layouts of a hybrid v1 host (this development machine), a pure v2 host and a host
// with none, read from recorded mountinfo texts, and the limit writes each gets: v2 only runs on
// other hosts, so its files are checked here.
import { describe, expect, it } from 'vitest';
import { cgroupLayout, cgroupMounts, hierarchyRoots } from './layout.js';
import { type AttemptLimits, chooseCpus, cpuQuotaUs, formatCpuList, limitWrites, parseCpuList, procsFiles } from './limits.js';

const HYBRID = `31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct
34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
36 31 0:33 / /sys/fs/cgroup/devices rw,relatime - cgroup cgroup rw,devices
37 31 0:34 / /sys/fs/cgroup/freezer rw,relatime - cgroup cgroup rw,freezer
39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
`;
const PURE_V2 = `22 1 0:21 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:9 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot
23 1 0:22 / /proc rw,nosuid,nodev,noexec,relatime shared:12 - proc proc rw
`;
const NONE = '23 1 0:22 / /proc rw,nosuid - proc proc rw\n';
const PROC_MOUNTS = 'cgroup2 /sys/fs/cgroup cgroup2 rw,nosuid,nodev,noexec,relatime 0 0\n';

const limits: AttemptLimits = { memoryBytes: 256 * 2 ** 20, cpus: 1.5, cpuList: '2-3', memList: '0', pidsMax: 16384, deniedDevices: [{ major: 195, minor: 0 }, { major: 195, minor: 2 }] };

describe('cgroup layout', () => {
  it('reads a hybrid host as v1, co-mounted controllers once', () => {
    const layout = cgroupLayout(HYBRID, () => '');
    expect(layout).toEqual({ version: 'v1', mounts: { memory: '/sys/fs/cgroup/memory', cpu: '/sys/fs/cgroup/cpu,cpuacct', cpuacct: '/sys/fs/cgroup/cpu,cpuacct', cpuset: '/sys/fs/cgroup/cpuset', devices: '/sys/fs/cgroup/devices', pids: '/sys/fs/cgroup/pids', freezer: '/sys/fs/cgroup/freezer' }, others: ['/sys/fs/cgroup/systemd', '/sys/fs/cgroup/unified'] });
    expect(hierarchyRoots(layout!)).toHaveLength(6);
  });

  it('reads a pure v2 host (mountinfo or /proc/mounts) with the controllers its root offers', () => {
    const offered = (root: string) => (root === '/sys/fs/cgroup' ? 'cpuset cpu io memory hugetlb pids rdma misc\n' : null);
    expect(cgroupLayout(PURE_V2, offered)).toEqual({ version: 'v2', root: '/sys/fs/cgroup', controllers: ['cpuset', 'cpu', 'io', 'memory', 'hugetlb', 'pids', 'rdma', 'misc'] });
    expect(cgroupLayout(PROC_MOUNTS, offered)).toMatchObject({ version: 'v2', root: '/sys/fs/cgroup' });
    // A cgroup2 tree without the memory controller cannot hold a memory limit.
    expect(cgroupLayout(PURE_V2, () => 'cpu pids')).toBeNull();
    expect(cgroupLayout(NONE, () => null)).toBeNull();
  });

  it('decodes escaped mount points', () => {
    expect(cgroupMounts('41 31 0:38 / /sys/fs/cgroup/my\\040tree rw - cgroup2 cgroup2 rw\n')[0]!.mountPoint).toBe('/sys/fs/cgroup/my tree');
  });
});

describe('limit writes', () => {
  it('v1: cpuset first, memory before memsw (optional), CFS quota, pids, devices denied by number', () => {
    const layout = cgroupLayout(HYBRID, () => '')!;
    const at = '/stint/0123456789ab/job-4-1';
    expect(limitWrites(layout, at, limits)).toEqual([
      { path: `/sys/fs/cgroup/cpuset${at}/cpuset.cpus`, value: '2-3' },
      { path: `/sys/fs/cgroup/cpuset${at}/cpuset.mems`, value: '0' },
      { path: `/sys/fs/cgroup/memory${at}/memory.limit_in_bytes`, value: '268435456' },
      { path: `/sys/fs/cgroup/memory${at}/memory.memsw.limit_in_bytes`, value: '268435456', optional: true },
      { path: `/sys/fs/cgroup/cpu,cpuacct${at}/cpu.cfs_period_us`, value: '100000' },
      { path: `/sys/fs/cgroup/cpu,cpuacct${at}/cpu.cfs_quota_us`, value: '150000' },
      { path: `/sys/fs/cgroup/pids${at}/pids.max`, value: '16384' },
      { path: `/sys/fs/cgroup/devices${at}/devices.deny`, value: 'c 195:0 rwm' },
      { path: `/sys/fs/cgroup/devices${at}/devices.deny`, value: 'c 195:2 rwm' },
    ]);
    expect(procsFiles(layout, at)).toHaveLength(6);
  });

  it('v2: one directory, memory.max with no swap, cpu.max, pids.max; no devices file', () => {
    const layout = cgroupLayout(PURE_V2, () => 'cpuset cpu memory pids')!;
    const at = '/stint/0123456789ab/job-4-1';
    expect(limitWrites(layout, at, limits)).toEqual([
      { path: `/sys/fs/cgroup${at}/cpuset.cpus`, value: '2-3' },
      { path: `/sys/fs/cgroup${at}/memory.max`, value: '268435456' },
      { path: `/sys/fs/cgroup${at}/memory.swap.max`, value: '0', optional: true },
      { path: `/sys/fs/cgroup${at}/cpu.max`, value: '150000 100000' },
      { path: `/sys/fs/cgroup${at}/pids.max`, value: '16384' },
    ]);
    expect(procsFiles(layout, at)).toEqual([`/sys/fs/cgroup${at}/cgroup.procs`]);
    // Nothing asked, nothing written.
    expect(limitWrites(layout, at, { memoryBytes: null, cpus: null, cpuList: null, memList: null, pidsMax: null, deniedDevices: [] })).toEqual([]);
  });

  it('keeps a tiny CPU quota at the kernel minimum', () => {
    expect(cpuQuotaUs(0.001)).toBe(1000);
    expect(cpuQuotaUs(2)).toBe(200_000);
  });
});

describe('cpuset choice', () => {
  it('reads and writes CPU lists', () => {
    expect(parseCpuList('0-3,8,10-11\n')).toEqual([0, 1, 2, 3, 8, 10, 11]);
    expect(parseCpuList('')).toEqual([]);
    expect(formatCpuList([5, 0, 1, 2, 8, 9])).toBe('0-2,5,8-9');
  });

  it('takes ceil(cpus) of the least used allowed CPUs, ties to the lower number', () => {
    const used = new Map([[0, 2], [1, 1], [3, 1]]);
    expect(chooseCpus([0, 1, 2, 3], used, 1)).toEqual([2]);
    expect(chooseCpus([0, 1, 2, 3], used, 1.5)).toEqual([1, 2]);
    expect(chooseCpus([0, 1, 2, 3], used, 3)).toEqual([1, 2, 3]);
    expect(chooseCpus([0, 1], used, 8)).toEqual([0, 1]);
  });
});
