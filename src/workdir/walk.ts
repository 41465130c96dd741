// Owns deciding what of a workdir goes into its snapshot: a walk of the tree that skips `.git`,
// honours `.gitignore` and `.stintignore` files at every level, and never follows a symlink.
// Invariants: rules in an ignore file apply to paths relative to that file's directory; deeper
// files override shallower ones and, at one level, `.stintignore` overrides `.gitignore` (the last
// matching rule wins, negations included); an ignored directory is not entered, so nothing below
// it can be re-included (as in git); a symlink is kept as a symlink only when its target stays
// inside the tree (see safe-paths.ts), else it is skipped and reported; sockets, FIFOs and devices
// are skipped; entries come out sorted by path, parents before children.

import { lstat, readdir, readFile, readlink } from 'node:fs/promises';
import path from 'node:path';
import ignore from 'ignore';
import { isSafeLink } from './safe-paths.js';

export const IGNORE_FILES = ['.gitignore', '.stintignore'] as const;

export type WalkEntryType = 'file' | 'directory' | 'symlink';

export interface WalkEntry {
  /** POSIX path relative to the workdir root. */
  path: string;
  type: WalkEntryType;
  /** Bytes of a regular file; 0 otherwise. */
  size: number;
  /** Permission bits: 0o755 when any execute bit is set (and for directories), else 0o644. */
  mode: number;
  /** Seconds since the epoch. */
  mtime: number;
  linkTarget?: string;
  /** Where to read a file's content. */
  absolutePath: string;
}

export interface SkippedEntry {
  path: string;
  reason: string;
}

export interface WalkResult {
  entries: WalkEntry[];
  skipped: SkippedEntry[];
}

type Ignore = ignore.Ignore;

interface RuleSet {
  /** The directory the rules belong to, relative to the root ('' for the root). */
  base: string;
  rules: Ignore;
}

async function readRuleSets(absoluteDir: string, base: string): Promise<RuleSet[]> {
  const sets: RuleSet[] = [];
  for (const file of IGNORE_FILES) {
    const text = await readFile(path.join(absoluteDir, file), 'utf8').catch(() => undefined);
    if (text !== undefined) sets.push({ base, rules: ignore({ ignorecase: false }).add(text) });
  }
  return sets;
}

/** Applies every rule set from the root down; the last one with an opinion decides. */
function isIgnored(relativePath: string, isDirectory: boolean, ruleSets: readonly RuleSet[]): boolean {
  let ignored = false;
  for (const { base, rules } of ruleSets) {
    const local = base === '' ? relativePath : relativePath.slice(base.length + 1);
    const result = rules.test(isDirectory ? `${local}/` : local);
    if (result.ignored) ignored = true;
    else if (result.unignored) ignored = false;
  }
  return ignored;
}

interface WalkState {
  root: string;
  entries: WalkEntry[];
  skipped: SkippedEntry[];
}

function permissions(mode: number, isDirectory: boolean): number {
  return isDirectory || (mode & 0o111) !== 0 ? 0o755 : 0o644;
}

async function visit(state: WalkState, relativePath: string, ruleSets: readonly RuleSet[]): Promise<void> {
  const absolutePath = path.join(state.root, relativePath);
  const stats = await lstat(absolutePath);
  const mtime = Math.floor(stats.mtimeMs / 1000);
  if (stats.isSymbolicLink()) {
    if (isIgnored(relativePath, false, ruleSets)) return;
    const target = await readlink(absolutePath);
    if (!isSafeLink(state.root, path.dirname(absolutePath), target)) {
      state.skipped.push({ path: relativePath, reason: `symlink to ${target} leaves the workdir` });
      return;
    }
    state.entries.push({ path: relativePath, type: 'symlink', size: 0, mode: 0o777, mtime, linkTarget: target, absolutePath });
  } else if (stats.isDirectory()) {
    if (isIgnored(relativePath, true, ruleSets)) return;
    state.entries.push({ path: relativePath, type: 'directory', size: 0, mode: 0o755, mtime, absolutePath });
    await walkDirectory(state, relativePath, ruleSets);
  } else if (stats.isFile()) {
    if (isIgnored(relativePath, false, ruleSets)) return;
    state.entries.push({ path: relativePath, type: 'file', size: stats.size, mode: permissions(stats.mode, false), mtime, absolutePath });
  } else {
    state.skipped.push({ path: relativePath, reason: 'not a regular file, directory or symlink' });
  }
}

async function walkDirectory(state: WalkState, relativeDir: string, inherited: readonly RuleSet[]): Promise<void> {
  const absoluteDir = path.join(state.root, relativeDir);
  const ruleSets = [...inherited, ...(await readRuleSets(absoluteDir, relativeDir))];
  const names = (await readdir(absoluteDir)).filter((name) => name !== '.git').sort();
  for (const name of names) {
    await visit(state, relativeDir === '' ? name : `${relativeDir}/${name}`, ruleSets);
  }
}

/**
 * Lists what a snapshot of `root` (an absolute, real directory path) holds. The caller checks that
 * `root` exists and is a directory.
 */
export async function walkWorkdir(root: string): Promise<WalkResult> {
  const state: WalkState = { root, entries: [], skipped: [] };
  await walkDirectory(state, '', []);
  return { entries: state.entries, skipped: state.skipped };
}
