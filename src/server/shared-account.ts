// The rule "one identity per user, or a refusal": when a backend runs every user's jobs under one
// Unix account (a non-root server, Slurm through one service account), a second user who may run
// jobs could read the first's files, secrets and the admin token through their own jobs. Such a
// user is refused, with why and how to fix it, unless the server was started with
// --shared-account-insecure. Viewers run nothing and are always accepted.

import type { Backend } from '../backends/backend.js';
import { StintError } from '../core/errors.js';
import type { UserRole, UserStore } from '../store/users.js';

export interface SharedAccountDeps {
  users: UserStore;
  backends: readonly Backend[];
  sharedAccountInsecure?: boolean;
}

/** Throws CONFLICT when `name` would become a second job-running user on a shared account. */
export async function assertOwnIdentity(deps: SharedAccountDeps, name: string, role: UserRole): Promise<void> {
  if (role === 'viewer' || deps.sharedAccountInsecure) return;
  const shared = deps.backends.find((b) => !b.identity.perUser);
  if (!shared || shared.identity.perUser) return;
  const runners = (await deps.users.listUsers()).filter((u) => u.role !== 'viewer' && u.name !== name);
  if (runners.length === 0) return;
  throw new StintError(
    'CONFLICT',
    `cannot add ${name} as ${role}: backend ${shared.name} cannot run jobs under each user's own Unix account (${shared.identity.why}), so ${name}'s jobs would share that account with ${runners.map((u) => u.name).join(', ')} and could read their files, secrets and the admin token (rule identity.one-account). `
      + 'Run the server as root and map each user to their own account (`stint admin user map NAME UNIX_USER`), or use per-user Slurm submission; add the user as a viewer; '
      + 'or start the server with --shared-account-insecure to accept the risk knowingly',
    { rule: 'identity.one-account', user: name, role, backend: shared.name, why: shared.identity.why, accepted: 'a viewer, a server running as root, or --shared-account-insecure' },
  );
}

/**
 * Throws CONFLICT when the Unix account `uid` is already mapped to another active user: two
 * users on one account read each other's files and secrets (/proc/<pid>/environ) through their
 * jobs, as on a shared-account backend. `--shared-account-insecure` accepts it knowingly.
 */
export async function assertAccountNotShared(
  deps: SharedAccountDeps & { uidOf: (unixUser: string) => number },
  name: string,
  unixUser: string,
  uid: number,
): Promise<void> {
  if (deps.sharedAccountInsecure) return;
  const others = (await deps.users.listUsers()).filter((u) => u.name !== name && u.unixUser !== null);
  const sharing = others.filter((u) => u.unixUser === unixUser || safeUid(deps.uidOf, u.unixUser!) === uid).map((u) => u.name);
  if (sharing.length === 0) return;
  throw new StintError(
    'CONFLICT',
    `cannot map ${name} to Unix account ${unixUser} (uid ${uid}): it is already the account of ${sharing.join(', ')}, and users sharing an account can read each other's files and secrets through their jobs (rule identity.one-account). `
      + 'Give each user their own account (`useradd`), or start the server with --shared-account-insecure to accept the risk knowingly',
    { rule: 'identity.one-account', user: name, field: 'unixUser', value: unixUser, sharedWith: sharing },
  );
}

/** The uid of a mapped account; an account that vanished from the system shares nothing. */
function safeUid(uidOf: (unixUser: string) => number, unixUser: string): number | null {
  try {
    return uidOf(unixUser);
  } catch {
    return null;
  }
}
