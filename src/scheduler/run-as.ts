// Which Unix account a job runs as. A server that is not root runs every job as its own user. A
// root server runs a job as the Unix account an admin mapped its owner to; the server's own user
// (the single-user admin) runs as the server's user; anyone else is refused, unless the server was
// started with --allow-root-jobs: a job never runs as root unless an admin allowed it. A job's owner
// is looked up by its user id (a reused name is another user).

import { execFileSync } from 'node:child_process';
import { StintError } from '../core/errors.js';
import type { UserStore } from '../store/users.js';

import type { RunAs } from '../backends/backend.js';

export type { RunAs };

export interface RunAsPolicy {
  serverIsRoot: boolean;
  /** The server's own OS user (the single-user admin). */
  serverUser: string;
  allowRootJobs: boolean;
}

/** null: run as the server's own user. Throws FORBIDDEN when the owner may not run jobs here. */
export async function runAsFor(owner: string, users: UserStore, policy: RunAsPolicy, ownerId?: number | null): Promise<RunAs | null> {
  if (!policy.serverIsRoot) return null;
  // A job is its owner's by id: a removed user's job keeps that user's account, never the one of
  // a later user who took the name.
  const user = ownerId === undefined || ownerId === null ? await users.getUser(owner) : await users.getUserById(ownerId);
  const mapped = user?.unixUser ?? null;
  if (mapped !== null && mapped !== 'root') return unixAccount(mapped);
  // The server's own user is the single-user admin it made: a later member of that name is not it.
  if (mapped === 'root' || (owner === policy.serverUser && user?.role === 'admin') || policy.allowRootJobs) return null;
  throw new StintError(
    'FORBIDDEN',
    `the server runs as root and user ${owner} is not mapped to a Unix account, so the job would run as root (rule run-as.mapped-account); an admin maps one with \`stint admin user map ${owner} UNIX_USER\`, or starts the server with --allow-root-jobs`,
    { rule: 'run-as.mapped-account', user: owner },
  );
}

/** The account's uid, gid and home from the system's user database (getent, so LDAP/NSS work). */
export function unixAccount(name: string): RunAs {
  let line: string;
  try {
    line = execFileSync('getent', ['passwd', name], { encoding: 'utf8', timeout: 5000 }).trim();
  } catch {
    throw new StintError('INVALID_REQUEST', `no Unix account named ${name} on the server's machine`, { field: 'unixUser', value: name });
  }
  const [user, , uid, gid, , home, shell] = line.split(':');
  return { user: user ?? name, uid: Number(uid), gid: Number(gid), home: home || '/', ...(shell ? { shell } : {}) };
}
