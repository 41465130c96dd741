// Records an action in the audit log: who (the caller), what, on what, when (the server clock).
// Invariant: callers pass details without tokens or secret values; admin actions and
// cancellations of other users' jobs are recorded here before their answer is sent.

import type { Clock } from '../core/clock.js';
import type { UserStore } from '../store/users.js';
import type { Caller } from './access.js';

export async function recordAudit(
  deps: { users: UserStore; clock: Clock },
  caller: Caller,
  action: string,
  target: string,
  details: Record<string, unknown> = {},
): Promise<void> {
  await deps.users.appendAudit({ at: deps.clock.now(), actor: caller.name, action, target, details });
}
