// Owns turning a job's `workdir` into the snapshot the CLI uploads at submit time: a gzipped POSIX
// ustar archive of what walk.ts selects (no `.git`, `.gitignore`/`.stintignore` honoured, symlinks
// kept only when they stay inside the tree).
// Invariants: the archive holds exactly the walked entries, parents before children, file bytes
// as read; the size cap is checked before any file is read, against the sum of regular-file sizes,
// and a workdir over it fails with WORKDIR_TOO_LARGE naming the largest files/directories and how
// to exclude them; a missing workdir is INVALID_SPEC naming `workdir` and the path.

import { readFile, realpath, stat } from 'node:fs/promises';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import { StintError } from '../core/errors.js';
import { TarWriter } from './tar.js';
import { type SkippedEntry, type WalkEntry, walkWorkdir } from './walk.js';

const gzipAsync = promisify(gzip);

export interface PackOptions {
  /** The most the regular files of the workdir may add up to, in bytes. */
  maxBytes: number;
}

export interface PackedWorkdir {
  /** The gzipped tar. */
  archive: Buffer;
  /** Regular files and symlinks stored (directories not counted). */
  files: number;
  /** Sum of the stored regular files' sizes. */
  bytes: number;
  /** What was left out although not ignored: symlinks leaving the tree, sockets, FIFOs, devices. */
  skipped: SkippedEntry[];
}

export interface SizedPath {
  path: string;
  bytes: number;
}

const LARGEST_SHOWN = 5;

/** Human sizes for messages: 1536 → "1.5 KiB". */
export function formatBytes(bytes: number): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  if (unit === 0) return bytes === 1 ? '1 byte' : `${bytes} bytes`;
  return `${value.toFixed(1)} ${units[unit]}`;
}

/** Sizes of every file and every directory (the sum of the files below it). */
function sizedPaths(entries: readonly WalkEntry[]): SizedPath[] {
  const sizes = new Map<string, number>();
  for (const entry of entries) {
    if (entry.type !== 'file') continue;
    sizes.set(entry.path, entry.size);
    const parts = entry.path.split('/');
    for (let depth = 1; depth < parts.length; depth++) {
      const dir = `${parts.slice(0, depth).join('/')}/`;
      sizes.set(dir, (sizes.get(dir) ?? 0) + entry.size);
    }
  }
  return [...sizes].map(([path, bytes]) => ({ path, bytes }));
}

/**
 * The biggest files/directories, none inside another one listed: a directory comes before the
 * files it holds, so `data/` is shown rather than each file in it.
 */
export function largestPaths(entries: readonly WalkEntry[], count = LARGEST_SHOWN): SizedPath[] {
  const sorted = sizedPaths(entries).sort((a, b) => b.bytes - a.bytes || a.path.length - b.path.length || a.path.localeCompare(b.path));
  const chosen: SizedPath[] = [];
  for (const candidate of sorted) {
    if (chosen.length === count) break;
    const overlaps = chosen.some((c) => (c.path.endsWith('/') && candidate.path.startsWith(c.path)) || (candidate.path.endsWith('/') && c.path.startsWith(candidate.path)));
    if (!overlaps) chosen.push(candidate);
  }
  return chosen;
}

/** The fewest of the largest entries that, left out, would bring the workdir under the limit. */
function enoughToExclude(largest: readonly SizedPath[], excess: number): SizedPath[] {
  const chosen: SizedPath[] = [];
  let freed = 0;
  for (const item of largest) {
    if (freed >= excess) break;
    chosen.push(item);
    freed += item.bytes;
  }
  return chosen;
}

function tooLarge(dir: string, bytes: number, maxBytes: number, largest: SizedPath[]): StintError {
  const list = largest.map((item) => `  ${item.path}  ${formatBytes(item.bytes)}`).join('\n');
  const lines = enoughToExclude(largest, bytes - maxBytes).map((item) => `  /${item.path}`).join('\n');
  const message =
    `workdir ${dir} holds ${formatBytes(bytes)} of files, over the ${formatBytes(maxBytes)} limit.\n` +
    `Largest:\n${list}\n` +
    `Leave out what the job does not need by listing it in ${dir}/.stintignore (same syntax as .gitignore; ` +
    `.gitignore files are honoured too), for example:\n${lines}\n` +
    'Large data and checkpoints are better read from storage the job mounts than shipped with the code.';
  return new StintError('WORKDIR_TOO_LARGE', message, { bytes, maxBytes, largest });
}

async function resolveWorkdir(dir: string): Promise<string> {
  const info = await stat(dir).catch(() => undefined);
  if (!info?.isDirectory()) {
    const problem = info ? 'is not a directory' : 'does not exist';
    throw new StintError('INVALID_SPEC', `workdir: ${dir} ${problem}`, { field: 'workdir', path: dir });
  }
  return realpath(dir);
}

/**
 * Snapshots `dir` into a gzipped ustar archive. Throws INVALID_SPEC when `dir` is not a directory,
 * WORKDIR_TOO_LARGE when the files to ship add up to more than `maxBytes`.
 */
export async function packWorkdir(dir: string, opts: PackOptions): Promise<PackedWorkdir> {
  const root = await resolveWorkdir(dir);
  const { entries, skipped } = await walkWorkdir(root);
  const bytes = entries.reduce((sum, entry) => sum + entry.size, 0);
  if (bytes > opts.maxBytes) throw tooLarge(dir, bytes, opts.maxBytes, largestPaths(entries));
  const tar = new TarWriter();
  let files = 0;
  let stored = 0;
  for (const entry of entries) {
    if (entry.type === 'directory') {
      tar.directory(entry.path, entry.mode, entry.mtime);
      continue;
    }
    if (entry.type === 'symlink') {
      tar.symlink(entry.path, entry.linkTarget ?? '', entry.mtime);
    } else {
      const data = await readFile(entry.absolutePath);
      tar.file(entry.path, entry.mode, entry.mtime, data);
      stored += data.length;
    }
    files++;
  }
  return { archive: await gzipAsync(tar.finish()), files, bytes: stored, skipped };
}
