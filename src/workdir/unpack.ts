// Owns unpacking a workdir snapshot into a job's own directory on the server. The archive comes
// from a client, so it is treated as hostile: every entry is checked before anything is written,
// and again against the real (symlink-resolved) directory it is about to be written into.
// Invariants: nothing is ever created outside destDir — entries with absolute paths, `..`
// segments, links pointing out of the tree, or types other than file/directory/symlink are
// refused with INVALID_REQUEST naming the entry; a file is never written through an existing
// symlink; permission bits are kept except setuid/setgid/sticky.
// Bounds: the archive is streamed (gunzip and tar read chunk by chunk, never whole in memory) and
// refused once it unpacks to more than UNPACK_LIMITS.maxUnpackedBytes, holds more entries than
// maxEntries, or nests a path deeper than maxDepth. checkArchive applies every check without
// writing, so the upload route refuses a hostile archive before any job depends on it; it refuses
// any entry below a symlink an earlier entry made, so an archive it accepts unpacks at launch.

import { createReadStream } from 'node:fs';
import { chmod, lstat, mkdir, open, realpath, rm, symlink, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { StintError } from '../core/errors.js';
import { isInside, isSafeEntryPath, isSafeLink, isSafeLinkShape } from './safe-paths.js';
import { TarStreamReader, type TarEntry } from './tar.js';

export interface UnpackedWorkdir {
  /** Regular files and symlinks written (directories not counted). */
  files: number;
}

export interface UnpackLimits {
  /** Bytes of tar (headers and data) the gzip stream may expand to. */
  maxUnpackedBytes: number;
  maxEntries: number;
  /** Path segments of one entry. */
  maxDepth: number;
}

/**
 * 512 MiB is five times the 100 MiB upload cap (source code compresses about 4:1); a workdir is
 * code and configs, data belongs on mounts. The same limits hold at upload and at launch, so an
 * archive accepted at upload always unpacks.
 */
export const UNPACK_LIMITS: Readonly<UnpackLimits> = Object.freeze({ maxUnpackedBytes: 512 * 1024 * 1024, maxEntries: 100_000, maxDepth: 64 });

export interface ArchiveSummary {
  entries: number;
  /** Bytes of file data the archive holds. */
  dataBytes: number;
}

function refuse(entry: string, reason: string): StintError {
  return new StintError('INVALID_REQUEST', `refusing to unpack the workdir archive: entry ${JSON.stringify(entry)} ${reason}`, {
    entry,
    reason,
  });
}

function tooLarge(what: string, limit: string): StintError {
  return new StintError('WORKDIR_TOO_LARGE', `the workdir archive ${what}; at most ${limit} is accepted (keep data out of the workdir: use file_mounts or volumes)`, { limit });
}

async function isGzip(archive: Buffer | string): Promise<boolean> {
  if (typeof archive !== 'string') return archive[0] === 0x1f && archive[1] === 0x8b;
  const handle = await open(archive, 'r');
  try {
    const { buffer, bytesRead } = await handle.read(Buffer.alloc(2), 0, 2, 0);
    return bytesRead === 2 && buffer[0] === 0x1f && buffer[1] === 0x8b;
  } finally {
    await handle.close();
  }
}

/** The archive as tar bytes, chunk by chunk: gunzipped when it is gzip, counted against the cap. */
async function* tarChunks(archive: Buffer | string, limits: UnpackLimits): AsyncGenerator<Buffer> {
  const gzipped = await isGzip(archive);
  const source = typeof archive === 'string' ? createReadStream(archive) : Readable.from([archive]);
  const gunzip = gzipped ? createGunzip() : null;
  if (gunzip) source.on('error', (error: Error) => gunzip.destroy(error)).pipe(gunzip);
  const stream = gunzip ?? source;
  let total = 0;
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      total += chunk.length;
      if (total > limits.maxUnpackedBytes) throw tooLarge(`unpacks to more than ${mib(limits.maxUnpackedBytes)}`, mib(limits.maxUnpackedBytes));
      yield chunk;
    }
  } catch (error) {
    if (error instanceof StintError) throw error;
    throw new StintError('INVALID_REQUEST', 'the workdir archive is not valid gzip', {}, { cause: error });
  } finally {
    stream.destroy();
    source.destroy();
  }
}

function mib(bytes: number): string {
  return `${Math.round(bytes / 1024 / 1024)} MiB`;
}

/** `./a/b` → `a/b`; `.` and `./` → '' (the root itself). */
function normalizeEntryPath(entryPath: string): string {
  return entryPath.replace(/^(\.\/)+/, '').replace(/^\.$/, '');
}

/** Stands for destDir while entries are checked on paper, before anything exists on disk. */
const ARCHIVE_ROOT = path.resolve('/stint-archive-root');

/** `d//l/./x/` → `d/l/x`: the path as the disk will see it, for comparing entries with each other. */
function canonicalEntryPath(entryPath: string): string {
  return path.posix.normalize(entryPath).replace(/\/+$/, '');
}

/**
 * Refuses an entry whose path passes through a symlink an earlier entry made: its link target was
 * checked against the path as written, but on disk it resolves from wherever the symlink leads.
 * Tracks the symlinks so far in `links` (a later file or directory at the same path replaces one).
 */
function checkNotThroughLink(entry: TarEntry, entryPath: string, links: Set<string>): void {
  const canonical = canonicalEntryPath(entryPath);
  const parts = canonical.split('/');
  for (let i = 1; i < parts.length; i++) {
    const parent = parts.slice(0, i).join('/');
    if (links.has(parent)) throw refuse(entry.path, `passes through ${JSON.stringify(parent)}, a symlink made by an earlier entry; entries may not be written through symlinks`);
  }
  if (entry.type === 'symlink') links.add(canonical);
  else if (entry.type === 'directory' && links.has(canonical)) throw refuse(entry.path, 'is a directory where the archive already put a symlink');
  else links.delete(canonical);
}

/** Checks everything that can be checked without touching the disk. */
function checkEntry(entry: TarEntry, entryPath: string, limits: UnpackLimits): void {
  if (entry.type === 'other') throw refuse(entry.path, `has tar type ${JSON.stringify(entry.typeflag)}; only files, directories and symlinks are accepted`);
  if (entryPath === '' && entry.type === 'directory') return;
  const depth = entryPath.split('/').length;
  if (depth > limits.maxDepth) throw refuse(entry.path.slice(0, 200), `is ${depth} directories deep; at most ${limits.maxDepth} are accepted`);
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

/** Creates the entry; a regular file is returned open, for its data to be written as it streams. */
async function writeEntry(root: string, entry: TarEntry, entryPath: string): Promise<FileHandle | 'written' | 'directory'> {
  const dest = path.join(root, entryPath);
  const parent = await realParent(root, entry, dest);
  const mode = entry.mode & 0o777;
  if (entry.type === 'directory') {
    const existing = await lstat(dest).catch(() => undefined);
    if (existing && !existing.isDirectory()) throw refuse(entry.path, 'is a directory where the archive already put a file or symlink');
    if (!existing) await mkdir(dest);
    await chmod(dest, mode | 0o700);
    return 'directory';
  }
  if (!(await clearNonDirectory(dest))) throw refuse(entry.path, 'is a file where the archive already put a directory');
  if (entry.type === 'symlink') {
    const target = entry.linkTarget ?? '';
    if (!isSafeLink(root, parent, target)) throw refuse(entry.path, `is a symlink to ${JSON.stringify(target)}, which leads outside the job directory`);
    await symlink(target, dest);
    return 'written';
  }
  return open(dest, 'wx', mode);
}

/**
 * Reads the whole archive once, as a stream, and applies every check that needs no disk: the caps,
 * entry types, paths and link targets. Throws WORKDIR_TOO_LARGE (413) or INVALID_REQUEST naming
 * the entry and why.
 */
export async function checkArchive(archive: Buffer | string, limits: UnpackLimits = UNPACK_LIMITS): Promise<ArchiveSummary> {
  const reader = new TarStreamReader();
  const summary: ArchiveSummary = { entries: 0, dataBytes: 0 };
  const links = new Set<string>();
  for await (const chunk of tarChunks(archive, limits)) {
    for (const event of reader.push(chunk)) {
      if (event.type === 'data') continue;
      summary.entries++;
      if (summary.entries > limits.maxEntries) throw tooLarge(`holds more than ${limits.maxEntries} entries`, `${limits.maxEntries} entries`);
      const entryPath = normalizeEntryPath(event.entry.path);
      checkEntry(event.entry, entryPath, limits);
      if (entryPath !== '') checkNotThroughLink(event.entry, entryPath, links);
      if (event.entry.type === 'file') summary.dataBytes += event.entry.size;
    }
    if (reader.done) break;
  }
  reader.finish();
  return summary;
}

/** Restores the file's mode (umask may have narrowed it) and closes it. */
async function closeFile(handle: FileHandle, mode: number): Promise<void> {
  try {
    await handle.chmod(mode);
  } finally {
    await handle.close();
  }
}

/**
 * Unpacks a snapshot made by packWorkdir (a Buffer, or the path of a `.tar.gz`; plain tar is
 * accepted too) into `destDir`, creating it if needed. Also reads PAX and GNU long-name entries, so
 * archives from system `tar` work. The archive is checked whole (checkArchive) before the first
 * entry is written, then streamed a second time to write it. Throws INVALID_REQUEST on a corrupt
 * archive or an unsafe entry, WORKDIR_TOO_LARGE past the limits.
 */
export async function unpackWorkdir(archive: Buffer | string, destDir: string, limits: UnpackLimits = UNPACK_LIMITS): Promise<UnpackedWorkdir> {
  await checkArchive(archive, limits);
  await mkdir(destDir, { recursive: true });
  const root = await realpath(destDir);
  const reader = new TarStreamReader();
  let files = 0;
  let file: { handle: FileHandle; mode: number } | null = null;
  try {
    for await (const chunk of tarChunks(archive, limits)) {
      for (const event of reader.push(chunk)) {
        if (event.type === 'data') {
          if (file) await file.handle.write(event.data);
          continue;
        }
        if (file) await closeFile(file.handle, file.mode);
        file = null;
        const entryPath = normalizeEntryPath(event.entry.path);
        if (entryPath === '') continue;
        const written = await writeEntry(root, event.entry, entryPath);
        if (written !== 'directory') files++;
        if (typeof written === 'object') file = { handle: written, mode: event.entry.mode & 0o777 };
      }
      if (reader.done) break;
    }
    reader.finish();
  } finally {
    if (file) await closeFile(file.handle, file.mode);
  }
  return { files };
}
