// Imports an OCI layout directory (`image_id: oci:<dir>`) that a user controls, without root ever
// opening anything in it. The job's account archives the directory (`setpriv ... tar
// --dereference`, so links are followed with that account's rights only); stint reads that stream
// as hostile input, keeps only regular files and directories at safe relative paths, writes them
// into a fresh directory of its own, and podman imports that copy.
// Must hold: root reads no path of the user's; what podman reads is stint's own copy holding no
// link of any kind; the copy is removed whatever happens; bounded in bytes (the server's image
// limit, counted as the stream arrives, so sparse files expanded by tar count in full), in entries
// and in time (the archiver is killed at the limit).

import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, constants, mkdirSync, openSync, writeSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { StintError } from '../../../core/errors.js';
import { isSafeEntryPath } from '../../../workdir/safe-paths.js';
import { TarStreamReader } from '../../../workdir/tar.js';
import { PRIVILEGED_PATH, SYSTEM_PROGRAMS } from '../../system-programs.js';

const { setpriv: SETPRIV, env: ENV, tar: TAR } = SYSTEM_PROGRAMS;

export interface LayoutLimits {
  maxBytes: number;
  maxEntries: number;
  timeoutMs: number;
}

export const LAYOUT_LIMITS: Readonly<LayoutLimits> = Object.freeze({ maxBytes: 20 * 1024 ** 3, maxEntries: 100_000, timeoutMs: 10 * 60_000 });

/**
 * Copies the layout at `dir`, read as `account` (null: the server's own account, which may read it
 * directly since the job is the server's), into a new directory under `scratch`; returns its path.
 * The caller imports it and then removes it with `removeCopy`.
 */
export async function copyLayout(dir: string, account: { uid: number; gid: number } | null, scratch: string, limits: LayoutLimits = LAYOUT_LIMITS): Promise<string> {
  if (!dir.startsWith('/') || dir.includes('\0')) throw layoutError(dir, 'the directory must be an absolute path');
  mkdirSync(scratch, { recursive: true, mode: 0o700 });
  // Lower case only: podman names the imported image after this path.
  const copy = join(scratch, `oci-${randomBytes(8).toString('hex')}`);
  mkdirSync(copy, { mode: 0o700 });
  try {
    await extract(dir, account, copy, limits);
    return copy;
  } catch (error) {
    await removeCopy(copy);
    throw error;
  }
}

export async function removeCopy(copy: string): Promise<void> {
  await rm(copy, { recursive: true, force: true });
}

function archiver(dir: string, account: { uid: number; gid: number } | null): string[] {
  const tar = [TAR, '--dereference', '--hard-dereference', '--numeric-owner', '-C', dir, '-cf', '-', '.'];
  const drop = account === null ? [] : [SETPRIV, `--reuid=${account.uid}`, `--regid=${account.gid}`, '--init-groups', '--'];
  return [ENV, '-i', `PATH=${PRIVILEGED_PATH}`, ...drop, ...tar];
}

async function extract(dir: string, account: { uid: number; gid: number } | null, copy: string, limits: LayoutLimits): Promise<void> {
  const [file, ...args] = archiver(dir, account);
  const child = spawn(file!, args, { stdio: ['ignore', 'pipe', 'pipe'], cwd: '/' });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => { if (stderr.length < 4096) stderr += chunk.toString('utf8'); });
  const exited = new Promise<number>((resolve) => child.on('close', (code) => resolve(code ?? 128)));
  let timedOut = false;
  const timer = setTimeout(() => { timedOut = true; child.kill('SIGKILL'); }, limits.timeoutMs);
  const reader = new TarStreamReader();
  const state = { fd: -1, bytes: 0, entries: 0 };
  try {
    for await (const chunk of child.stdout as AsyncIterable<Buffer>) {
      for (const event of reader.push(chunk)) {
        if (event.type === 'data') {
          state.bytes += event.data.length;
          if (state.bytes > limits.maxBytes) throw layoutError(dir, `it holds more than ${mib(limits.maxBytes)}, this server's image limit (stint server --max-image-mb)`);
          if (state.fd >= 0) writeSync(state.fd, event.data);
          continue;
        }
        closeCurrent(state);
        if (++state.entries > limits.maxEntries) throw layoutError(dir, `it holds more than ${limits.maxEntries} entries`);
        openEntry(dir, copy, event.entry, state);
      }
    }
  } catch (error) {
    clearTimeout(timer);
    child.kill('SIGKILL');
    throw error instanceof StintError ? error : layoutError(dir, error instanceof Error ? error.message : String(error));
  } finally {
    closeCurrent(state);
  }
  const code = await exited;
  clearTimeout(timer);
  if (timedOut) throw layoutError(dir, `the job's account took longer than ${Math.round(limits.timeoutMs / 1000)} s to read it`);
  // tar's verdict first: a layout the account cannot read ends the stream early.
  if (code !== 0) throw layoutError(dir, `the job's account could not read it (tar exit ${code}): ${stderr.trim().slice(0, 500)}`);
  try {
    reader.finish();
  } catch (error) {
    throw layoutError(dir, error instanceof Error ? error.message : String(error));
  }
}

function openEntry(dir: string, copy: string, entry: { path: string; type: string; typeflag: string }, state: { fd: number }): void {
  const path = entry.path.replace(/^\.(\/|$)/, '');
  if (path === '' && entry.type === 'directory') return;
  if (!isSafeEntryPath(path)) throw layoutError(dir, `entry ${JSON.stringify(entry.path)} is not a plain relative path`);
  if (entry.type === 'directory') {
    mkdirSync(join(copy, path), { mode: 0o700 });
    return;
  }
  if (entry.type !== 'file') throw layoutError(dir, `entry ${JSON.stringify(path)} is a ${entry.type} (tar type ${JSON.stringify(entry.typeflag)}); a layout holds only files and directories`);
  // The parent was made by this copy (entries of one tar come parent first) or does not exist (an error).
  state.fd = openSync(join(copy, path), constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
}

function closeCurrent(state: { fd: number }): void {
  if (state.fd >= 0) closeSync(state.fd);
  state.fd = -1;
}

function mib(bytes: number): string {
  return `${(bytes / 1024 ** 2).toFixed(1)} MiB`;
}

function layoutError(dir: string, reason: string): StintError {
  return new StintError('INVALID_SPEC', `resources.image_id: oci:${dir} cannot be imported: ${reason}; accepted: an OCI image layout directory (oci-layout, index.json, blobs/) the job's account can read`, {
    field: 'resources.image_id', value: `oci:${dir}`, reason,
  });
}
