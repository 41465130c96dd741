// Rewrites an uploaded docker or OCI archive into the plain tar that `podman load` reads, so that
// podman never sees a name the uploader chose: `RepoTags` are dropped from docker's
// `manifest.json`, `org.opencontainers.image.ref.name` annotations from OCI's `index.json`, and
// the legacy `repositories` file is left out. Every entry is written afresh from what was parsed
// (no header of the upload is copied), so what podman reads is exactly what was checked here.
// Must hold: names are root-relative, plain paths (no `..`, no absolute path), each at most once;
// only files, directories and links that stay inside the archive are kept; the decompressed bytes
// are capped (tarBytes); the output is a new 0600 file the caller removes, removed here on error.

import { open, rm } from 'node:fs/promises';
import { posix } from 'node:path';
import { StintError } from '../core/errors.js';
import { encodeHeader, padding, TarStreamReader, type TarEntry } from '../workdir/tar.js';
import { isSafeEntryPath } from '../workdir/safe-paths.js';
import { MAX_META, refused, rootName, tarBytes, type ArchiveKind } from './image-archive.js';

const REF_NAME = 'org.opencontainers.image.ref.name';
const NAMED = new Set(['manifest.json', 'index.json']);

interface Open {
  entry: TarEntry;
  path: string;
  /** A metadata file held whole to be rewritten; null: streamed through. */
  meta: Buffer[] | null;
  skip: boolean;
}

/** Writes `input` (gzip or not, as `kind` says) to `out` as a plain tar without the archive's own names. */
export async function rewriteArchive(input: string, kind: ArchiveKind, out: string, maxBytes: number): Promise<void> {
  const handle = await open(out, 'wx', 0o600);
  try {
    await copyEntries(input, kind.gzip, maxBytes, (chunk) => handle.write(chunk).then(() => undefined));
    await handle.close();
  } catch (error) {
    await handle.close().catch(() => undefined);
    await rm(out, { force: true });
    if (error instanceof StintError && (error.details.field === 'body' || error.code === 'BODY_TOO_LARGE')) throw error;
    const reason = error instanceof StintError ? String(error.details.reason ?? error.message) : error instanceof Error ? error.message : String(error);
    throw refused(`it is not a readable tar archive (${reason})`);
  }
}

async function copyEntries(input: string, gzip: boolean, maxBytes: number, write: (chunk: Buffer) => Promise<void>): Promise<void> {
  const reader = new TarStreamReader();
  const seen = new Set<string>();
  let current: Open | null = null;
  for await (const chunk of tarBytes(input, gzip, maxBytes)) {
    for (const event of reader.push(chunk)) {
      if (event.type === 'data') {
        if (current?.meta) current.meta.push(event.data);
        else if (current && !current.skip) await write(event.data);
        continue;
      }
      await close(current, write);
      current = start(event.entry, seen);
      if (!current.meta && !current.skip) for (const block of header(current.entry, current.path)) await write(block);
    }
    if (reader.done) break;
  }
  reader.finish();
  await close(current, write);
  await write(Buffer.alloc(1024));
}

function start(entry: TarEntry, seen: Set<string>): Open {
  const path = rootName(entry.path);
  if (path === '' || path === '.') return { entry, path, meta: null, skip: true };
  if (!isSafeEntryPath(path)) throw refused(`entry ${JSON.stringify(entry.path)} is not a plain relative path`);
  if (entry.type !== 'directory') {
    if (seen.has(path)) throw refused(`it holds ${path} more than once`);
    seen.add(path);
  }
  if (entry.type === 'other') throw refused(`entry ${JSON.stringify(path)} is of tar type ${JSON.stringify(entry.typeflag)}; an image archive holds only files, directories and links`);
  if (entry.type === 'symlink' && !linkStaysInside(path, entry.linkTarget ?? '')) throw refused(`entry ${JSON.stringify(path)} links to ${JSON.stringify(entry.linkTarget)}, outside the archive`);
  if (path === 'repositories' && entry.type === 'file') return { entry, path, meta: null, skip: true };
  if (NAMED.has(path) && entry.type === 'file') {
    if (entry.size > MAX_META) throw refused(`its ${path} holds ${entry.size} bytes; an image archive's is far smaller`);
    return { entry, path, meta: [], skip: false };
  }
  return { entry, path, meta: null, skip: false };
}

async function close(current: Open | null, write: (chunk: Buffer) => Promise<void>): Promise<void> {
  if (!current || current.skip) return;
  if (current.meta) {
    const data = unnamed(current.path, Buffer.concat(current.meta));
    for (const block of header({ ...current.entry, size: data.length }, current.path)) await write(block);
    await write(data);
    await write(padding(data.length));
    return;
  }
  if (current.entry.type === 'file') await write(padding(current.entry.size));
}

function header(entry: TarEntry, path: string): Buffer[] {
  const type = entry.type === 'other' ? 'file' : entry.type;
  const size = type === 'file' ? entry.size : 0;
  return encodeHeader({ path, type, mode: entry.mode, size, mtime: entry.mtime, linkTarget: type === 'symlink' ? entry.linkTarget : undefined });
}

function linkStaysInside(path: string, target: string): boolean {
  if (target === '' || target.includes('\0') || target.startsWith('/')) return false;
  const resolved = posix.resolve('/archive', posix.dirname(path), target);
  return resolved.startsWith('/archive/');
}

/** The metadata file without any image name in it; a file that is not the JSON it should be is refused. */
function unnamed(path: string, data: Buffer): Buffer {
  let parsed: unknown;
  try {
    parsed = JSON.parse(data.toString('utf8'));
  } catch {
    throw refused(`its ${path} is not JSON`);
  }
  if (path === 'manifest.json') {
    if (!Array.isArray(parsed)) throw refused('its manifest.json is not a list of images');
    for (const image of parsed as Array<Record<string, unknown>>) if (image && typeof image === 'object') delete image.RepoTags;
  } else {
    const index = parsed as { manifests?: unknown; annotations?: Record<string, unknown> };
    if (!index || typeof index !== 'object' || !Array.isArray(index.manifests)) throw refused('its index.json lists no manifests');
    for (const manifest of index.manifests as Array<{ annotations?: Record<string, unknown> }>) {
      if (manifest?.annotations && typeof manifest.annotations === 'object') delete manifest.annotations[REF_NAME];
    }
    if (index.annotations && typeof index.annotations === 'object') delete index.annotations[REF_NAME];
  }
  return Buffer.from(JSON.stringify(parsed), 'utf8');
}
