// What a container attempt takes from the job's Unix account, resolved by the root server from the
// system database (never from anything the account controls): its supplementary groups
// (`id -G`, the same list setpriv --init-groups gives a bare job) and its home, mounted at its own
// path. Must hold: a home is mounted only when it is a real directory (not a link, which podman as
// root would follow) at a path podman's `-v` can carry; a home that is missing is skipped, not made.

import { execFileSync } from 'node:child_process';
import { lstatSync } from 'node:fs';
import type { RunAs } from '../../backend.js';
import { SYSTEM_PROGRAMS } from '../../system-programs.js';
import type { ContainerMount } from '../container-port.js';

const ID_BINARY = SYSTEM_PROGRAMS.id;

/** The account's group ids (primary first, as `id -G` lists them); [gid] when they cannot be read. */
export function accountGroups(account: RunAs, id = ID_BINARY): number[] {
  try {
    const out = execFileSync(id, ['-G', '--', account.user], { encoding: 'utf8', env: { PATH: '/usr/bin:/bin' }, timeout: 10_000, stdio: ['ignore', 'pipe', 'ignore'] });
    const groups = out.trim().split(/\s+/).map(Number).filter((g) => Number.isInteger(g) && g >= 0);
    return groups.length > 0 ? groups : [account.gid];
  } catch {
    return [account.gid];
  }
}

/** `-v HOME:HOME` for the account's home when it is a plain directory; null otherwise (no such home, a link, odd characters). */
export function homeMount(account: RunAs): ContainerMount | null {
  const home = account.home;
  if (!home.startsWith('/') || home === '/' || /[:,\0\n\r]/.test(home)) return null;
  try {
    const stat = lstatSync(home);
    return stat.isDirectory() ? { host: home, container: home, readOnly: false } : null;
  } catch {
    return null;
  }
}
