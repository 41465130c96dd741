// Decides, once at backend start, how this host confines a local backend's jobs: a cgroup per
// attempt (v1 or v2, whichever it has) and a mount namespace per job (private /tmp, GPU device
// nodes of other jobs hidden). Where it cannot (not root, no writable cgroup controller, no
// unshare, turned off), jobs still run and the returned Confinement says why, in words a user can
// act on: the server prints it at start and `stint gpus` and the UI show it. Never silent.

import { existsSync, readFileSync } from 'node:fs';
import type { Confinement } from '../../../core/inventory.js';
import { AttemptCgroups, cgroupBase } from './attempt-cgroup.js';
import { cgroupLayout } from './layout.js';

export interface ConfinementOptions {
  jobsDir: string;
  /** false: an admin turned confinement off. */
  enabled: boolean;
  isRoot: boolean;
  /** /proc/self/mountinfo's text (tests pass fixtures). */
  mountinfo?: string;
  unshare: string;
  /** Paths jobs must still see under a private /tmp (the fake GPU device directory). */
  keepVisible?: string[];
}

export interface HostConfinement {
  confinement: Confinement;
  cgroups: AttemptCgroups | null;
  /** Jobs get their own mount namespace (GPU nodes hidden; /tmp private when privateTmp). */
  namespace: boolean;
}

function read(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}

const under = (path: string, dir: string) => path === dir || path.startsWith(`${dir}/`);

export function probeConfinement(options: ConfinementOptions): HostConfinement {
  const off = (reason: string): HostConfinement => ({ confinement: { enforced: false, reason, cgroup: null, privateTmp: false }, cgroups: null, namespace: false });
  if (!options.enabled) return off('confinement is turned off (the server was started with --no-confine); each job still gets its own TMPDIR');
  if (!options.isRoot) return off('the server is not root, so it can create neither cgroups nor mount namespaces; each job still gets its own TMPDIR');
  const layout = cgroupLayout(options.mountinfo ?? read('/proc/self/mountinfo') ?? '', (root) => read(`${root}/cgroup.controllers`));
  if (layout === null) return off('no cgroup memory controller is mounted (neither cgroup v1 nor a cgroup2 tree offering `memory` in /proc/self/mountinfo)');
  const cgroups = new AttemptCgroups(layout, cgroupBase(options.jobsDir));
  try {
    cgroups.ensureBase();
  } catch (error) {
    return off(`the cgroup ${cgroups.base} cannot be created (${(error as Error).message})`);
  }
  const notes: string[] = [];
  const namespace = existsSync(options.unshare);
  if (!namespace) notes.push(`${options.unshare} is missing: /tmp is not private and other jobs' GPU device nodes are hidden only by the devices cgroup`);
  const hidden = [options.jobsDir, ...(options.keepVisible ?? [])].filter((p) => under(p, '/tmp'));
  if (namespace && hidden.length > 0) notes.push(`/tmp is not private because ${hidden.join(' and ')} must stay visible to jobs; each job still gets its own TMPDIR`);
  if (layout.version === 'v2') notes.push('cgroup v2 has no devices controller here: other jobs\' GPU device nodes are hidden by the mount namespace only');
  const privateTmp = namespace && hidden.length === 0;
  return { confinement: { enforced: true, cgroup: layout.version, privateTmp, ...(notes.length > 0 && { notes }) }, cgroups, namespace };
}
