// A job's folder on the shared filesystem when the server itself reaches it (no SSH): what the
// server creates there, who owns it, and how the server reads a log back. The server may be root
// while the job runs as its owner's account, so nothing the job can write is trusted:
//   <workdir>/jobs/            server's, 0711
//   <workdir>/jobs/<id>/       server's, 0711: the job can pass through but create, rename or remove nothing
//     attempt-<n>/             the job's account, 0700, made fresh for each submission (never reused)
//       node.sh setup.sh run.sh job.sbatch   the job's account, 0600/0700 (no secrets: those travel on stdin, see client.ts)
//       output.log batch.out restart-<k>/    written by the job itself
//     work/ checkpoints/       the job's account, 0700, kept for every attempt of the job
// Invariants: the server creates every path with mkdir/O_EXCL|O_NOFOLLOW in a folder the job cannot
// write at that moment (an attempt folder is handed to the job's account only once it is filled);
// an existing attempt folder is an error, never reused; a workdir snapshot is unpacked into a fresh
// folder of the server's and handed over with lchown (links are never followed); a log is read
// with O_NOFOLLOW|O_NONBLOCK and only if it is a regular file owned by the job's account, so a job
// that swaps its log for a link, a FIFO or someone else's file gets a refusal, never their bytes.

import { constants } from 'node:fs';
import { chmod, chown, lchown, lstat, mkdir, open, readdir, rename, rm, stat } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { StintError } from '../../core/errors.js';
import { unpackWorkdir } from '../../workdir/unpack.js';
import type { LogChunk } from '../backend.js';
import type { FileToWrite } from './client.js';

/** The Unix account the attempt's files belong to; null: the server's own. */
export interface FileOwner {
  uid: number;
  gid: number;
}

export interface AttemptFolder {
  workdir: string;
  jobDir: string;
  attemptDir: string;
  owner: FileOwner | null;
  files: readonly FileToWrite[];
  workdirArchive: string | null;
}

const SERVER_UID = process.getuid?.() ?? 0;

/** Creates the attempt's folder and files as described above; throws BACKEND_ERROR naming the path on anything unexpected. */
export async function prepareAttemptFolder(folder: AttemptFolder): Promise<void> {
  const { workdir, jobDir, attemptDir, owner } = folder;
  await mkdir(workdir, { recursive: true, mode: 0o711 });
  if (owner) await checkReachable(workdir);
  await serverFolder(join(workdir, 'jobs'));
  await serverFolder(jobDir);
  try {
    await mkdir(attemptDir, { mode: 0o700 });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new StintError('BACKEND_ERROR', `${attemptDir} already exists; stint never reuses an attempt's folder (remove it, or look for another stint server using the same workdir)`, { path: attemptDir });
    }
    throw error;
  }
  for (const file of folder.files) await writeNewFile(file, owner);
  await jobFolder(join(jobDir, 'work'), owner, folder.workdirArchive);
  await jobFolder(join(jobDir, 'checkpoints'), owner, null);
  await chmod(attemptDir, 0o700);
  if (owner) await chown(attemptDir, owner.uid, owner.gid);
}

/** Reads a byte range of a log the job wrote (negative offset: from the end); refuses anything but the owner's regular file. */
export async function readOwnedLog(path: string, ownerUid: number, offset: number, limit: number): Promise<LogChunk> {
  let handle;
  try {
    handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return { text: '', offset, nextOffset: offset, size: 0 };
    if (code === 'ELOOP') throw replaced(path, 'a symbolic link');
    if (code === 'ENXIO') throw replaced(path, 'not a regular file (a socket)');
    throw new StintError('BACKEND_ERROR', `cannot open ${path}: ${(error as Error).message}`, { path }, { cause: error });
  }
  try {
    const st = await handle.stat();
    if (!st.isFile()) throw replaced(path, 'not a regular file');
    if (st.uid !== ownerUid) throw replaced(path, `owned by uid ${st.uid}, not the job's account (uid ${ownerUid})`);
    const size = st.size;
    const start = offset < 0 ? Math.max(0, size + offset) : Math.min(offset, size);
    const length = Math.max(0, Math.min(limit, size - start));
    if (length === 0) return { text: '', offset: start, nextOffset: start, size };
    const buffer = Buffer.alloc(length);
    const { bytesRead } = await handle.read(buffer, 0, length, start);
    return { text: buffer.subarray(0, bytesRead).toString('utf8'), offset: start, nextOffset: start + bytesRead, size };
  } finally {
    await handle.close();
  }
}

function replaced(path: string, what: string): StintError {
  return new StintError('FORBIDDEN', `the attempt's log ${path} is ${what}; the job replaced its output.log, and stint does not follow it`, { path });
}

/** A folder of the server's: created if missing, else it must be a real folder the server owns that nobody else may write. */
async function serverFolder(path: string): Promise<void> {
  try {
    await mkdir(path, { mode: 0o711 });
    await chmod(path, 0o711);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  const st = await lstat(path);
  if (!st.isDirectory() || st.uid !== SERVER_UID || (st.mode & 0o022) !== 0) {
    throw new StintError('BACKEND_ERROR', `${path} must be a folder owned by the stint server's account that no other account may write (found ${st.isSymbolicLink() ? 'a symbolic link' : `uid ${st.uid}, mode ${(st.mode & 0o7777).toString(8)}`})`, { path });
  }
}

/** The job's own folder (work, checkpoints): made once for the job and kept; an existing one must be the owner's. */
async function jobFolder(path: string, owner: FileOwner | null, archive: string | null): Promise<void> {
  const uid = owner?.uid ?? SERVER_UID;
  const st = await lstat(path).catch(() => null);
  if (st) {
    if (!st.isDirectory() || st.uid !== uid) {
      throw new StintError('BACKEND_ERROR', `${path} belongs to uid ${st.uid}${st.isDirectory() ? '' : ' and is not a folder'}, not to the job's account (uid ${uid}); an admin must remove or chown it`, { path });
    }
    return;
  }
  // Filled while it is the server's alone, then handed over and moved into place in one rename.
  const fresh = `${path}.new-${randomBytes(6).toString('hex')}`;
  await mkdir(fresh, { mode: 0o700 });
  try {
    if (archive) await unpackWorkdir(archive, fresh);
    await chmod(fresh, 0o700);
    if (owner) await chownTree(fresh, owner);
    await rename(fresh, path);
  } catch (error) {
    await rm(fresh, { recursive: true, force: true });
    throw error;
  }
}

/** lchown of every entry under a folder the server just made (links are changed, never followed). */
async function chownTree(dir: string, owner: FileOwner): Promise<void> {
  await lchown(dir, owner.uid, owner.gid);
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) await chownTree(path, owner);
    else await lchown(path, owner.uid, owner.gid);
  }
}

async function writeNewFile(file: FileToWrite, owner: FileOwner | null): Promise<void> {
  const handle = await open(file.path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, file.mode);
  try {
    await handle.writeFile(file.content);
    await handle.chmod(file.mode);
    if (owner) await handle.chown(owner.uid, owner.gid);
  } finally {
    await handle.close();
  }
}

/**
 * The job's account must pass through the workdir to reach its folder (say so instead of failing
 * inside Slurm), and must not be able to rename `jobs/` away (writable without the sticky bit).
 */
async function checkReachable(workdir: string): Promise<void> {
  const st = await stat(workdir);
  const mode = (st.mode & 0o7777).toString(8);
  if ((st.mode & 0o001) === 0) {
    throw new StintError('BACKEND_ERROR', `the Slurm workdir ${workdir} is mode ${mode}: jobs running as their owners' accounts cannot reach it; make it 0711 (stint keeps each job's folder private)`, { path: workdir });
  }
  if ((st.mode & 0o022) !== 0 && (st.mode & 0o1000) === 0) {
    throw new StintError('BACKEND_ERROR', `the Slurm workdir ${workdir} is mode ${mode}: other accounts could replace stint's folders in it; make it 0711 (or set the sticky bit)`, { path: workdir });
  }
}
