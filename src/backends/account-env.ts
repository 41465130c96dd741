// The login-like environment of a Unix account: what `login` would give its shell (HOME, USER,
// LOGNAME, SHELL, and the PATH of /etc/login.defs), never the server's own variables. Only
// root-owned system files are read (the account entry, resolved by getent, and /etc/login.defs);
// nothing in the account's home is read here: sourcing a profile is the job's business, after
// it has dropped to the account.

import { readFileSync } from 'node:fs';
import type { RunAs } from './backend.js';

/** Debian's ENV_PATH when /etc/login.defs names none. */
export const DEFAULT_USER_PATH = '/usr/local/bin:/usr/bin:/bin:/usr/local/games:/usr/games';
/** Debian's ENV_SUPATH when /etc/login.defs names none (an account of uid 0). */
export const DEFAULT_ROOT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export function loginEnvironment(account: RunAs, loginDefs = readLoginDefs()): Record<string, string> {
  return {
    HOME: account.home,
    USER: account.user,
    LOGNAME: account.user,
    SHELL: account.shell || '/bin/sh',
    PATH: loginPath(account.uid, loginDefs),
  };
}

/**
 * The PATH `login` sets: ENV_SUPATH for uid 0, ENV_PATH otherwise (`PATH=` prefix optional). As in
 * shadow's getdef, a later definition of the key replaces an earlier one.
 */
export function loginPath(uid: number, loginDefs: string): string {
  const key = uid === 0 ? 'ENV_SUPATH' : 'ENV_PATH';
  let found: string | null = null;
  for (const line of loginDefs.split('\n')) {
    const match = /^\s*(\S+)\s+(\S+)\s*$/.exec(line);
    if (!match || match[1] !== key) continue;
    const value = match[2]!.startsWith('PATH=') ? match[2]!.slice(5) : match[2]!;
    if (value !== '') found = value;
  }
  return found ?? (uid === 0 ? DEFAULT_ROOT_PATH : DEFAULT_USER_PATH);
}

function readLoginDefs(): string {
  try {
    return readFileSync('/etc/login.defs', 'utf8');
  } catch {
    return '';
  }
}
