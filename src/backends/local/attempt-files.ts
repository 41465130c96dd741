// The files of a job on the local backend, laid out so that a job cannot change what the server
// (often root) reads, writes or signals:
//   <jobs>/<id>/               server-owned 0711 (traversal only)
//   <jobs>/<id>/work/          the job's account, 0700 (its workdir)
//   <jobs>/<id>/checkpoints/   the job's account, 0700
//   <jobs>/<id>/attempt-<n>/   server-owned 0711: env.sh, setup.sh, run.sh, launch.sh, pgid, exit,
//                              limits (server, 0600), output.log (the job's account, 0600, created
//                              here) and tmp/ (the job's account, 0700: its private /tmp and TMPDIR)
// Invariants: every directory the server writes into is owned by the server and writable by no
// one else, checked with lstat before use; files are created with O_EXCL|O_NOFOLLOW; the only
// things handed to the job's account are work/, checkpoints/ and output.log, by lchown/fchown,
// never following a link; files the server reads back are opened with O_NOFOLLOW|O_NONBLOCK and
// must be regular files.

import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { execFile } from 'node:child_process';
import { chmod, lchown, lstat, mkdir, open, readdir, rm, rmdir } from 'node:fs/promises';
import { join } from 'node:path';
import { StintError } from '../../core/errors.js';
import { unpackWorkdir } from '../../workdir/unpack.js';
import { SYSTEM_PROGRAMS } from '../system-programs.js';

const { O_CREAT, O_EXCL, O_NOFOLLOW, O_NONBLOCK, O_RDONLY, O_WRONLY } = constants;

export interface Account {
  uid: number;
  gid: number;
}

export interface AttemptPaths {
  jobDir: string;
  workdir: string;
  checkpoints: string;
  attemptDir: string;
}

/** The server's own uid: the owner every state directory must have. */
export const serverUid = (): number => process.getuid?.() ?? 0;

/**
 * Creates (or checks) everything an attempt needs before its files are written. `owner` is the
 * job's account when it is not the server's; the workdir archive is unpacked into a fresh work/
 * (the first attempt only), which is handed to the owner after unpacking.
 */
export async function prepareAttempt(jobsDir: string, jobId: number, attempt: number, owner: Account | null, archive: string | null): Promise<AttemptPaths> {
  const jobDir = join(jobsDir, String(jobId));
  const paths = { jobDir, workdir: join(jobDir, 'work'), checkpoints: join(jobDir, 'checkpoints'), attemptDir: join(jobDir, `attempt-${attempt}`) };
  await serverDirectory(jobDir, 0o711);
  const freshWork = await freshDirectory(paths.workdir, 0o700);
  if (freshWork && archive) await unpackWorkdir(archive, paths.workdir);
  // Still the server's (fresh, or a launch that crashed before handing it over): no one else
  // could write in it, so walking it is safe.
  if (owner && (freshWork || (await serversOwn(paths.workdir, owner)))) await giveTree(paths.workdir, owner);
  const freshCheckpoints = await freshDirectory(paths.checkpoints, 0o700);
  if (owner && (freshCheckpoints || (await serversOwn(paths.checkpoints, owner)))) await giveTree(paths.checkpoints, owner);
  await serverDirectory(paths.attemptDir, 0o711);
  // Left by a launch that never started (a crash in between): nothing in it is followed.
  await Promise.all(ATTEMPT_FILES.map((name) => rm(join(paths.attemptDir, name), { force: true })));
  return paths;
}

const ATTEMPT_FILES = ['env.sh', 'setup.sh', 'run.sh', 'launch.sh', 'output.log', 'pgid', 'exit', 'limits'];

/**
 * The attempt's private temporary directory, `<attempt>/tmp`: made fresh by the server (mkdir
 * never follows a link and fails on an existing name) in its own attempt directory, then handed
 * to the job's account. One left by an earlier launch of this attempt that never started is
 * removed first, as the job's account (removeJobTmp).
 */
export async function createJobTmp(attemptDir: string, owner: Account | null): Promise<string> {
  const path = join(attemptDir, 'tmp');
  await removeJobTmp(attemptDir, owner);
  await mkdir(path, { mode: 0o700 });
  if (owner) await lchown(path, owner.uid, owner.gid);
  return path;
}

/**
 * Removes the attempt's tmp/. The job's account owns everything in it, so its contents are
 * deleted AS that account (setpriv + find -delete, which follows no link); the server then only
 * removes the emptied directory from its own attempt directory. The server's own account (or a
 * non-root server) removes it directly: the job could do nothing the server could not.
 */
export async function removeJobTmp(attemptDir: string, owner: Account | null, helpers: Pick<typeof SYSTEM_PROGRAMS, 'setpriv' | 'find' | 'chmod'> = SYSTEM_PROGRAMS): Promise<void> {
  const path = join(attemptDir, 'tmp');
  const found = await lstat(path).catch(() => null);
  if (found === null) return;
  if (!found.isDirectory()) {
    await rm(path, { force: true });
    return;
  }
  if (owner === null || owner.uid === serverUid()) {
    await rm(path, { recursive: true, force: true });
    return;
  }
  const asOwner = (command: string[]) => new Promise<void>((resolve) => {
    const args = [`--reuid=${owner.uid}`, `--regid=${owner.gid}`, '--init-groups', '--', ...command];
    execFile(helpers.setpriv, args, { cwd: '/', env: { PATH: '/usr/bin:/bin' }, timeout: 60_000 }, () => resolve());
  });
  // A directory the job made unwritable for itself is opened up first (its own files only).
  await asOwner([helpers.chmod, '-R', 'u+rwX', '--', path]);
  await asOwner([helpers.find, path, '-mindepth', '1', '-delete']);
  await rmdir(path).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== 'ENOENT') throw new StintError('CONFLICT', `${path} could not be emptied as uid ${owner.uid} (${error.code}); remove what is left by hand`, { path }, { cause: error });
  });
}

/** Creates a file that did not exist, never through a link; `owner` gets it by fchown. */
export async function createAttemptFile(path: string, content: string, owner: Account | null = null): Promise<void> {
  const file = await open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600);
  try {
    if (content) await file.writeFile(content);
    if (owner) await file.chown(owner.uid, owner.gid);
  } finally {
    await file.close();
  }
}

/** mkdir (not recursive); an existing one must be a real directory of the server's, writable by no one else. */
async function serverDirectory(path: string, mode: number): Promise<void> {
  if (await freshDirectory(path, mode)) return;
  const found = await lstat(path);
  if (!found.isDirectory() || found.uid !== serverUid() || (found.mode & 0o022) !== 0) {
    throw new StintError('CONFLICT', `${path} is not a directory owned by the stint server (uid ${serverUid()}) and writable only by it (found ${describe(found)}); it may be left from an older stint, whose job directories belonged to the job's account: move it away`, { path });
  }
  if ((found.mode & 0o777) !== mode) await chmod(path, mode);
}

/** true when the directory was created now (with `mode`); false when it was already there. */
async function freshDirectory(path: string, mode: number): Promise<boolean> {
  try {
    await mkdir(path, { mode });
    await chmod(path, mode);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    return false;
  }
}

/**
 * Checks an existing work/ or checkpoints/ (only stint can have made it: the job dir is the
 * server's): a real directory of the job's account, or still the server's (true: hand it over).
 */
async function serversOwn(path: string, owner: Account): Promise<boolean> {
  const found = await lstat(path);
  if (!found.isDirectory() || (found.uid !== owner.uid && found.uid !== serverUid())) {
    throw new StintError('CONFLICT', `${path} should be a directory owned by uid ${owner.uid} (found ${describe(found)})`, { path });
  }
  return found.uid === serverUid() && owner.uid !== serverUid();
}

/** Hands a freshly unpacked tree to the job's account: lchown every entry, never following a link. */
async function giveTree(root: string, owner: Account): Promise<void> {
  for (const entry of await readdir(root, { withFileTypes: true })) {
    const path = join(root, entry.name);
    if (entry.isDirectory()) await giveTree(path, owner);
    else await lchown(path, owner.uid, owner.gid);
  }
  await lchown(root, owner.uid, owner.gid);
}

function describe(found: { mode: number; uid: number; isSymbolicLink(): boolean; isDirectory(): boolean }): string {
  const kind = found.isSymbolicLink() ? 'a symlink' : found.isDirectory() ? 'a directory' : 'a file';
  return `${kind}, uid ${found.uid}, mode ${(found.mode & 0o7777).toString(8)}`;
}

/**
 * Reads a small state file (exit, pgid) of an attempt; null when absent, not a regular file, a
 * link, or not the server's. O_NONBLOCK: a FIFO planted there never blocks the server.
 */
export function readStateFile(path: string, maxBytes = 64): string | null {
  let fd: number;
  try {
    fd = openSync(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
  } catch {
    return null;
  }
  try {
    const found = fstatSync(fd);
    if (!found.isFile() || found.uid !== serverUid()) return null;
    const buffer = Buffer.alloc(maxBytes);
    const read = readSync(fd, buffer, 0, maxBytes, 0);
    return buffer.subarray(0, read).toString('utf8');
  } finally {
    closeSync(fd);
  }
}

/** Opens a log for reading: never through a link, only a regular file (see readLogFile). */
export async function openLogForReading(path: string) {
  const file = await open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ELOOP') throw new StintError('CONFLICT', `${path} is a symbolic link, which the server never follows; the log cannot be read`, { path }, { cause: error });
    // The job owns its log and may hold a write lease on it (fcntl F_SETLEASE): the server never waits for it.
    if (error.code === 'EAGAIN' || error.code === 'EWOULDBLOCK' || error.code === 'EBUSY') {
      throw new StintError('CONFLICT', `${path} is locked by the job (a file lease); the log cannot be read now, try again`, { path }, { cause: error });
    }
    throw error;
  });
  const found = await file.stat();
  if (!found.isFile()) {
    await file.close();
    throw new StintError('CONFLICT', `${path} is not a regular file; the log cannot be read`, { path });
  }
  return { file, size: found.size };
}
