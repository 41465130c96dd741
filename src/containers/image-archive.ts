// Says what an uploaded image file is, by reading it once as a tar (gzip-compressed or not): an
// OCI layout or archive (`oci-layout` and `index.json` at its root), a docker/podman archive
// (`manifest.json` at its root listing Config and Layers), or else a root filesystem tarball.
// Must hold: the file is read in constant memory (only the root's small metadata files are kept,
// each at most 1 MiB); anything that is not a readable tar is refused with the reason and what is
// accepted, never passed to podman; an archive of more than one image is refused (one at a time),
// and so is one holding a metadata file twice (which copy podman reads is not ours to guess); the
// tar's decompressed bytes are counted and refused past the server's image limit (413).

import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { createGunzip } from 'node:zlib';
import { StintError } from '../core/errors.js';
import { TarStreamReader } from '../workdir/tar.js';
import type { ImageSource } from '../store/images.js';

export interface ArchiveKind {
  source: ImageSource;
  /** The archive's own name for its image (docker RepoTags[0], OCI ref.name), if any. */
  tag: string | null;
  gzip: boolean;
  entries: number;
}

export const ACCEPTED_ARCHIVES = 'an OCI layout (a directory, or its tar: podman save --format oci-archive), a docker or podman archive (docker save, podman save), or a root filesystem tarball (tar or tar.gz)';
export const META_FILES: ReadonlySet<string> = new Set(['oci-layout', 'index.json', 'manifest.json']);
export const MAX_META = 1 << 20;

/** An entry's path as the root-relative name podman's readers compare (`./manifest.json` is `manifest.json`). */
export function rootName(path: string): string {
  return path.replace(/^(\.\/)+/, '');
}

/**
 * The tar's bytes (decompressed when `gzip`), counted: BODY_TOO_LARGE once they pass `maxBytes`,
 * so a small compressed upload cannot become a file larger than the server accepts.
 */
export async function* tarBytes(path: string, gzip: boolean, maxBytes: number): AsyncGenerator<Buffer> {
  const file = createReadStream(path);
  const stream = gzip ? file.pipe(createGunzip()) : file;
  let bytes = 0;
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      bytes += chunk.length;
      if (bytes > maxBytes) throw tooLarge(maxBytes, gzip);
      yield chunk;
    }
  } finally {
    file.destroy();
    if (stream !== file) (stream as ReturnType<typeof createGunzip>).destroy();
  }
}

export function tooLarge(limit: number, gzip: boolean): StintError {
  const what = gzip ? 'the image archive decompresses to more than' : 'the image archive is larger than';
  return new StintError('BODY_TOO_LARGE', `body: ${what} this server's limit of ${(limit / 1024 ** 2).toFixed(1)} MiB; an admin raises it with \`stint server --max-image-mb N\``, { field: 'body', limit });
}

/** Reads the file and says what it holds; INVALID_REQUEST (field `body`) when it is none of the accepted kinds, BODY_TOO_LARGE past `maxBytes`. */
export async function classifyArchive(path: string, maxBytes = Number.MAX_SAFE_INTEGER): Promise<ArchiveKind> {
  const magic = await firstBytes(path, 6);
  const compression = otherCompression(magic);
  if (compression) throw refused(`it is ${compression}-compressed; decompress it or compress it with gzip`);
  const gzip = magic[0] === 0x1f && magic[1] === 0x8b;
  const { meta, entries } = await readRoot(path, gzip, maxBytes);
  if (entries === 0) throw refused('the tar holds no entries');
  if (meta.has('oci-layout')) return { source: 'oci-archive', tag: ociTag(meta), gzip, entries };
  const manifest = meta.get('manifest.json');
  const docker = manifest === undefined ? null : dockerManifest(manifest);
  if (docker) return { source: 'docker-archive', tag: docker.tag, gzip, entries };
  return { source: 'rootfs', tag: null, gzip, entries };
}

async function firstBytes(path: string, count: number): Promise<Buffer> {
  const handle = await open(path, 'r');
  try {
    const buffer = Buffer.alloc(count);
    const { bytesRead } = await handle.read(buffer, 0, count, 0);
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

function otherCompression(magic: Buffer): string | null {
  if (magic.subarray(0, 6).equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]))) return 'xz';
  if (magic.subarray(0, 4).equals(Buffer.from([0x28, 0xb5, 0x2f, 0xfd]))) return 'zstd';
  if (magic.subarray(0, 3).toString('latin1') === 'BZh') return 'bzip2';
  return null;
}

/** Every entry's header is read; the root's metadata files are kept. */
async function readRoot(path: string, gzip: boolean, maxBytes: number): Promise<{ meta: Map<string, Buffer>; entries: number }> {
  const reader = new TarStreamReader();
  const meta = new Map<string, Buffer>();
  const seen = new Set<string>();
  let entries = 0;
  let current: { name: string; chunks: Buffer[]; size: number } | null = null;
  const keep = () => {
    if (current) meta.set(current.name, Buffer.concat(current.chunks));
    current = null;
  };
  try {
    for await (const chunk of tarBytes(path, gzip, maxBytes)) {
      for (const event of reader.push(chunk)) {
        if (event.type === 'entry') {
          keep();
          entries++;
          const name = rootName(event.entry.path);
          if (META_FILES.has(name)) {
            if (seen.has(name)) throw refused(`it holds ${name} more than once`);
            seen.add(name);
          }
          if (event.entry.type === 'file' && META_FILES.has(name)) {
            if (event.entry.size > MAX_META) throw refused(`its ${name} holds ${event.entry.size} bytes; an image archive's is far smaller`);
            current = { name, chunks: [], size: 0 };
          }
        } else if (current) {
          current.chunks.push(event.data);
        }
      }
      if (reader.done) break;
    }
    keep();
    reader.finish();
  } catch (error) {
    if (error instanceof StintError && (error.details.field === 'body' || error.code === 'BODY_TOO_LARGE')) throw error;
    const reason = error instanceof StintError ? String(error.details.reason ?? error.message) : error instanceof Error ? error.message : String(error);
    throw refused(`it is not a readable ${gzip ? 'gzip-compressed ' : ''}tar archive (${reason})`);
  }
  return { meta, entries };
}

function parseJson(data: Buffer | undefined): unknown {
  if (data === undefined) return undefined;
  try {
    return JSON.parse(data.toString('utf8'));
  } catch {
    return undefined;
  }
}

function ociTag(meta: Map<string, Buffer>): string | null {
  const index = parseJson(meta.get('index.json')) as { manifests?: Array<{ annotations?: Record<string, unknown> }> } | undefined;
  if (!index || !Array.isArray(index.manifests)) throw refused('it has oci-layout but no readable index.json listing manifests');
  if (index.manifests.length !== 1) throw refused(`its index.json lists ${index.manifests.length} images; import one image at a time (podman save --format oci-archive IMAGE)`);
  const name = index.manifests[0]?.annotations?.['org.opencontainers.image.ref.name'];
  return typeof name === 'string' ? name : null;
}

/** A docker archive's single image and its first tag; null when manifest.json is not one (a rootfs may hold such a file). */
function dockerManifest(data: Buffer): { tag: string | null } | null {
  const manifest = parseJson(data);
  if (!Array.isArray(manifest) || manifest.length === 0) return null;
  const images = manifest as Array<{ Config?: unknown; Layers?: unknown; RepoTags?: unknown }>;
  if (!images.every((m) => typeof m?.Config === 'string' && Array.isArray(m.Layers))) return null;
  if (images.length !== 1) throw refused(`its manifest.json lists ${images.length} images; import one image at a time (docker save IMAGE)`);
  const tags = images[0]!.RepoTags;
  return { tag: Array.isArray(tags) && typeof tags[0] === 'string' ? tags[0] : null };
}

export function refused(reason: string): StintError {
  return new StintError('INVALID_REQUEST', `the uploaded file is not an image stint can import: ${reason}; accepted: ${ACCEPTED_ARCHIVES}`, { field: 'body', reason, accepted: ACCEPTED_ARCHIVES });
}
