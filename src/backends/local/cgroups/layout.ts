// Which cgroup hierarchies this host has, read from /proc/self/mountinfo: cgroup v1 controllers
// (each at its own mount point, some co-mounted such as `cpu,cpuacct`) or one cgroup2 mount. A
// hybrid host (v1 controllers plus an empty cgroup2 at /sys/fs/cgroup/unified) counts as v1: the
// controllers stint needs are on the v1 side there. Pure: parsing only; the caller reads the files.
// Invariant: a hierarchy is only ever named by its mount point as the kernel reported it.

export type CgroupVersion = 'v1' | 'v2';

/** The v1 controllers an attempt's cgroup is made in (memory is the one that must be there). */
export const V1_CONTROLLERS = ['memory', 'cpu', 'cpuacct', 'cpuset', 'devices', 'pids', 'freezer'] as const;
export type V1Controller = (typeof V1_CONTROLLERS)[number];

/** The v2 controllers stint enables for its subtree (where the root offers them). */
export const V2_CONTROLLERS = ['memory', 'cpu', 'cpuset', 'pids'] as const;

export type CgroupLayout =
  /** `others`: the remaining hierarchies (blkio, name=systemd, a hybrid's cgroup2), where a container engine may also make cgroups under the attempt's. */
  | { version: 'v1'; mounts: Partial<Record<V1Controller, string>>; others?: string[] }
  | { version: 'v2'; root: string; controllers: string[] };

interface CgroupMount {
  mountPoint: string;
  fsType: 'cgroup' | 'cgroup2';
  options: string[];
}

/** Octal escapes of mountinfo (`\040` for a space). */
function unescape(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(Number.parseInt(octal, 8)));
}

/** The cgroup and cgroup2 mounts of a mountinfo text (or a /proc/mounts text, detected per line). */
export function cgroupMounts(text: string): CgroupMount[] {
  const found: CgroupMount[] = [];
  for (const line of text.split('\n')) {
    const fields = line.trim().split(' ');
    const dash = fields.indexOf('-');
    if (dash >= 6) {
      const fsType = fields[dash + 1];
      if (fsType === 'cgroup' || fsType === 'cgroup2') found.push({ mountPoint: unescape(fields[4]!), fsType, options: (fields[dash + 3] ?? '').split(',') });
    } else if (fields.length >= 4 && (fields[2] === 'cgroup' || fields[2] === 'cgroup2')) {
      // /proc/mounts: `cgroup /sys/fs/cgroup/memory cgroup rw,memory 0 0`
      found.push({ mountPoint: unescape(fields[1]!), fsType: fields[2], options: fields[3]!.split(',') });
    }
  }
  return found;
}

/**
 * The layout stint uses, or null when there is none. `v2Controllers` reads the cgroup.controllers
 * file of a cgroup2 mount point (passed in, so parsing stays pure).
 */
export function cgroupLayout(text: string, v2Controllers: (root: string) => string | null): CgroupLayout | null {
  const mounts = cgroupMounts(text);
  const v1: Partial<Record<V1Controller, string>> = {};
  for (const mount of mounts) {
    if (mount.fsType !== 'cgroup') continue;
    for (const controller of V1_CONTROLLERS) {
      if (mount.options.includes(controller) && v1[controller] === undefined) v1[controller] = mount.mountPoint;
    }
  }
  if (v1.memory !== undefined) {
    const used = new Set(Object.values(v1));
    // A hybrid host's cgroup2 mount too: runc makes the container's cgroup there as well.
    const others = [...new Set(mounts.filter((m) => !used.has(m.mountPoint)).map((m) => m.mountPoint))];
    return { version: 'v1', mounts: v1, ...(others.length > 0 && { others }) };
  }
  for (const mount of mounts) {
    if (mount.fsType !== 'cgroup2') continue;
    const controllers = (v2Controllers(mount.mountPoint) ?? '').trim().split(/\s+/).filter(Boolean);
    if (controllers.includes('memory')) return { version: 'v2', root: mount.mountPoint, controllers };
  }
  return null;
}

/** The distinct hierarchy roots an attempt's cgroup is made in (co-mounted controllers once). */
export function hierarchyRoots(layout: CgroupLayout): string[] {
  if (layout.version === 'v2') return [layout.root];
  return [...new Set(V1_CONTROLLERS.map((c) => layout.mounts[c]).filter((m): m is string => m !== undefined))];
}

/** Every hierarchy an attempt's subtree may have cgroups in: the ones stint makes and the others. */
export function cleanupRoots(layout: CgroupLayout): string[] {
  return layout.version === 'v2' ? [layout.root] : [...hierarchyRoots(layout), ...(layout.others ?? [])];
}
