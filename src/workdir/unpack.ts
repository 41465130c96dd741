// Owns unpacking a workdir snapshot into a job's own directory on the server. The archive comes
// from a client, so it is treated as hostile: every entry is checked before anything is written,
// and again against the real (symlink-resolved) directory it is about to be written into.
// Invariants: nothing is ever created outside destDir — entries with absolute paths, `..`
// segments, links pointing out of the tree, or types other than file/directory/symlink are
// refused with INVALID_REQUEST naming the entry; a file is never written through an existing
// symlink; permission bits are kept except setuid/setgid/sticky.

import { chmod, lstat, mkdir, readFile, realpath, rm, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';
import { StintError } from '../core/errors.js';
import { isInside, isSafeEntryPath, isSafeLink, isSafeLinkShape } from './safe-paths.js';
import { readTar, type TarEntry } from './tar.js';

const gunzipAsync = promisify(gunzip);

export interface UnpackedWorkdir {
  /** Regular files and symlinks written (directories not counted). */
  files: number;
}

function refuse(entry: string, reason: string): StintError {
  return new StintError('INVALID_REQUEST', `refusing to unpack the workdir archive: entry ${JSON.stringify(entry)} ${reason}`, {
    entry,
    reason,
  });
}

async function tarBytes(archive: Buffer | string): Promise<Buffer> {
  const bytes = typeof archive === 'string' ? await readFile(archive) : archive;
  if (bytes[0] !== 0x1f || bytes[1] !== 0x8b) return bytes;
  try {
    return await gunzipAsync(bytes);
  } catch (error) {
    throw new StintError('INVALID_REQUEST', 'the workdir archive is not valid gzip', {}, { cause: error });
  }
}

/** `./a/b` → `a/b`; `.` and `./` → '' (the root itself). */
function normalizeEntryPath(entryPath: string): string {
  return entryPath.replace(/^(\.\/)+/, '').replace(/^\.$/, '');
}

/** Stands for destDir while entries are checked on paper, before anything exists on disk. */
const ARCHIVE_ROOT = path.resolve('/stint-archive-root');

/** Checks everything that can be checked without touching the disk. */
function checkEntry(entry: TarEntry, entryPath: string): void {
  if (entry.type === 'other') throw refuse(entry.path, `has tar type ${JSON.stringify(entry.typeflag)}; only files, directories and symlinks are accepted`);
  if (entryPath === '' && entry.type === 'directory') return;
  if (!isSafeEntryPath(entryPath)) throw refuse(entry.path, 'has an absolute path or a ".." segment and would land outside the job directory');
  const target = entry.linkTarget ?? '';
  if (entry.type === 'symlink' && !(isSafeLinkShape(target) && isSafeLink(ARCHIVE_ROOT, path.dirname(path.join(ARCHIVE_ROOT, entryPath)), target))) {
    throw refuse(entry.path, `is a symlink to ${JSON.stringify(target)}, which is absolute or climbs out of the job directory`);
  }
}

/** Creates the parent directory and returns its real path, which must lie inside `root`. */
async function realParent(root: string, entry: TarEntry, dest: string): Promise<string> {
  const parent = path.dirname(dest);
  await mkdir(parent, { recursive: true });
  const real = await realpath(parent);
  if (!isInside(root, real)) throw refuse(entry.path, 'would be written through a symlink that leads outside the job directory');
  return real;
}

/** Removes a file or symlink already at `dest` so the new entry never writes through it. */
async function clearNonDirectory(dest: string): Promise<boolean> {
  const existing = await lstat(dest).catch(() => undefined);
  if (existing?.isDirectory()) return false;
  if (existing) await rm(dest, { force: true });
  return true;
}

async function writeEntry(root: string, entry: TarEntry, entryPath: string, data: Buffer): Promise<boolean> {
  const dest = path.join(root, entryPath);
  const parent = await realParent(root, entry, dest);
  const mode = entry.mode & 0o777;
  if (entry.type === 'directory') {
    const existing = await lstat(dest).catch(() => undefined);
    if (existing && !existing.isDirectory()) throw refuse(entry.path, 'is a directory where the archive already put a file or symlink');
    if (!existing) await mkdir(dest);
    await chmod(dest, mode | 0o700);
    return false;
  }
  if (!(await clearNonDirectory(dest))) throw refuse(entry.path, 'is a file where the archive already put a directory');
  if (entry.type === 'symlink') {
    const target = entry.linkTarget ?? '';
    if (!isSafeLink(root, parent, target)) throw refuse(entry.path, `is a symlink to ${JSON.stringify(target)}, which leads outside the job directory`);
    await symlink(target, dest);
    return true;
  }
  await writeFile(dest, data, { flag: 'wx', mode });
  await chmod(dest, mode);
  return true;
}

/**
 * Unpacks a snapshot made by packWorkdir (a Buffer, or the path of a `.tar.gz`; plain tar is
 * accepted too) into `destDir`, creating it if needed. Also reads PAX and GNU long-name entries, so
 * archives from system `tar` work. Throws INVALID_REQUEST on a corrupt archive or an unsafe entry;
 * entries are all checked before the first is written.
 */
export async function unpackWorkdir(archive: Buffer | string, destDir: string): Promise<UnpackedWorkdir> {
  const entries = [...readTar(await tarBytes(archive))].map(({ entry, data }) => ({ entry, data, entryPath: normalizeEntryPath(entry.path) }));
  for (const { entry, entryPath } of entries) checkEntry(entry, entryPath);
  await mkdir(destDir, { recursive: true });
  const root = await realpath(destDir);
  let files = 0;
  for (const { entry, entryPath, data } of entries) {
    if (entryPath === '') continue;
    if (await writeEntry(root, entry, entryPath, data)) files++;
  }
  return { files };
}
