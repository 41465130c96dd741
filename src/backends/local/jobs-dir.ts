// Where the local backend keeps job directories. Default <home>/jobs; `--jobs-dir DIR` chooses
// another. A root server runs jobs as other accounts, which must reach their own job directory:
// when an ancestor of the default is closed to them (a home under /root, 0700), the default moves
// to /var/lib/stint/jobs-<hash of the home>, and the server says so at start.
// Invariants: the jobs directory exists, is owned by the server, is 0711 (others may pass through
// to their own job's directory but list nothing) and is writable by no one else, and no account
// but root and the server's can rename any directory above it.

import { createHash } from 'node:crypto';
import { chmod, lstat, mkdir, realpath, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { StintError } from '../../core/errors.js';
import { serverUid } from './attempt-files.js';

export const SHARED_JOBS_ROOT = '/var/lib/stint';

/** Creates the jobs directory and returns its path; `explicit` is --jobs-dir. */
export async function prepareJobsDir(home: string, explicit: string | undefined): Promise<string> {
  const chosen = explicit === undefined ? await defaultJobsDir(home) : { dir: resolve(explicit) };
  if (chosen.reason) process.stderr.write(`stint: job directories are in ${chosen.dir}: ${chosen.reason} (choose another with --jobs-dir)\n`);
  await mkdir(chosen.dir, { recursive: true, mode: 0o711 });
  const found = await stat(chosen.dir);
  if (!found.isDirectory() || found.uid !== serverUid()) {
    throw new StintError('INVALID_REQUEST', `--jobs-dir ${chosen.dir}: not a directory owned by the server's account (uid ${serverUid()})`, { field: '--jobs-dir', value: chosen.dir });
  }
  await chmod(chosen.dir, 0o711);
  await assertNoOneElseCanSwap(chosen.dir);
  return chosen.dir;
}

/**
 * Every directory above the jobs directory must be one that no job's account can rename or
 * replace: owned by root or the server, and writable by others only with the sticky bit (/tmp).
 * Otherwise the owner of an ancestor could swap the jobs directory for a link while the server
 * runs and make root create and chown job directories wherever the link points.
 */
async function assertNoOneElseCanSwap(dir: string): Promise<void> {
  const real = await realpath(dir);
  for (let current = dirname(real); ; current = dirname(current)) {
    const found = await lstat(current);
    const ownerOk = found.uid === 0 || found.uid === serverUid();
    const writable = (found.mode & 0o022) !== 0 && (found.mode & 0o1000) === 0;
    if (!ownerOk || writable) {
      throw new StintError('INVALID_REQUEST', `jobs directory ${real}: its parent ${current} (uid ${found.uid}, mode ${(found.mode & 0o7777).toString(8)}) could be changed by another account, which could then swap the jobs directory; use a directory whose parents are root's and writable only by root (or sticky, like /tmp), or choose one with --jobs-dir`, { field: '--jobs-dir', value: dir, parent: current });
    }
    if (current === dirname(current)) return;
  }
}

async function defaultJobsDir(home: string): Promise<{ dir: string; reason?: string }> {
  const dir = join(home, 'jobs');
  if (serverUid() !== 0) return { dir };
  const closed = await closedAncestor(home);
  if (closed === null) return { dir };
  const hash = createHash('sha256').update(resolve(home)).digest('hex').slice(0, 12);
  return { dir: join(SHARED_JOBS_ROOT, `jobs-${hash}`), reason: `${closed} is closed to other accounts, so jobs running as them could not reach ${dir}` };
}

/** The first existing ancestor of `path` (or itself) that other accounts cannot pass through. */
async function closedAncestor(path: string): Promise<string | null> {
  for (let current = resolve(path); ; current = dirname(current)) {
    const found = await stat(current).catch(() => null);
    if (found && (found.mode & 0o001) === 0) return current;
    if (current === dirname(current)) return null;
  }
}
