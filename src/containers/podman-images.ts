// The podman commands image management needs (inspect, import, load, tag, untag, remove, pull,
// the list of names), each through src/containers/podman.ts and each answering plain data or a
// StintError. Must hold: podman's stderr reaches a user only as one trimmed line (no control
// characters, at most 200 characters), the full text goes to the server log; every call has a
// time limit; a reference given here is always one argument after `--`-free fixed subcommands,
// never an option (callers validate names and refs first: image-names.ts).

import { StintError } from '../core/errors.js';
import type { PodmanResult, PodmanRunOptions } from './podman.js';

/** What of src/containers/podman.ts is used here (the Podman class satisfies it). */
export interface PodmanRunner {
  run(args: readonly string[], options?: PodmanRunOptions): Promise<PodmanResult>;
}

export interface LocalImage {
  /** `sha256:<64 hex>`: podman's image id. */
  id: string;
  /** The manifest digest (`sha256:...`). */
  digest: string;
  sizeBytes: number;
  names: string[];
}

const INSPECT_MS = 30_000;
const STORE_MS = 30 * 60_000;

/** The first line of podman's stderr that says something, without controls, at most 200 characters. */
export function trimmedError(stderr: string): string {
  const lines = stderr.split('\n').map((l) => l.replace(/[\x00-\x1f\x7f-\x9f]/g, '').trim()).filter((l) => l !== '' && !/^(Getting image source signatures|Copying (blob|config)|Writing manifest|Storing signatures)/.test(l));
  const line = lines.find((l) => /^Error:/i.test(l)) ?? lines[lines.length - 1] ?? 'no message';
  const text = line.replace(/^Error:\s*/i, '');
  return text.length > 200 ? `${text.slice(0, 197)}...` : text;
}

function failed(what: string, result: PodmanResult): StintError {
  return new StintError('BACKEND_ERROR', `podman ${what} failed: ${trimmedError(result.stderr)}`, { exitCode: result.code });
}

export class PodmanImages {
  constructor(private readonly podman: PodmanRunner) {}

  /** The local image a reference or id names, or null when podman's storage has none. */
  async inspect(ref: string): Promise<LocalImage | null> {
    const result = await this.podman.run(['image', 'inspect', '--format', 'json', ref], { timeoutMs: INSPECT_MS });
    if (result.code !== 0) {
      if (/image not known|no such image|unable to find|not found/i.test(result.stderr)) return null;
      throw failed('image inspect', result);
    }
    const parsed = JSON.parse(result.stdout) as Array<{ Id?: string; Digest?: string; Size?: number; RepoTags?: string[] }>;
    const image = parsed[0];
    if (!image?.Id) return null;
    return { id: image.Id.startsWith('sha256:') ? image.Id : `sha256:${image.Id}`, digest: image.Digest ?? '', sizeBytes: image.Size ?? 0, names: image.RepoTags ?? [] };
  }

  /** Every image's id and names (what an import must leave as it found, but for its own names). */
  async names(): Promise<Map<string, string>> {
    const result = await this.podman.run(['images', '--all', '--format', 'json'], { timeoutMs: INSPECT_MS });
    if (result.code !== 0) throw failed('images', result);
    const byName = new Map<string, string>();
    for (const image of JSON.parse(result.stdout || '[]') as Array<{ Id: string; Names?: string[] }>) {
      for (const name of image.Names ?? []) byName.set(name, image.Id.startsWith('sha256:') ? image.Id : `sha256:${image.Id}`);
    }
    return byName;
  }

  /** `podman import FILE NAME` (a rootfs tarball, gzip or not); the new image's id. */
  async importRootfs(file: string, name: string): Promise<string> {
    const result = await this.podman.run(['import', '--quiet', file, name], { timeoutMs: STORE_MS });
    if (result.code !== 0) throw new StintError('INVALID_REQUEST', `podman could not import the file as a root filesystem: ${trimmedError(result.stderr)}`, { field: 'body' });
    return withPrefix(result.stdout.trim().split('\n').pop() ?? '');
  }

  /** `podman load -i FILE` (docker or OCI archive); what podman says it loaded (names or ids; the caller counts images). */
  async load(file: string): Promise<string[]> {
    const result = await this.podman.run(['load', '--input', file], { timeoutMs: STORE_MS });
    if (result.code !== 0) throw new StintError('INVALID_REQUEST', `podman could not load the archive: ${trimmedError(result.stderr)}`, { field: 'body' });
    const loaded = [...result.stdout.matchAll(/^Loaded image(?:\(s\))?:\s*(.+)$/gm)].flatMap((m) => m[1]!.split(',').map((s) => s.trim()));
    if (loaded.length === 0) throw new StintError('INVALID_REQUEST', 'podman loaded the archive but names no image it stored', { field: 'body' });
    return loaded;
  }

  async tag(id: string, name: string): Promise<void> {
    const result = await this.podman.run(['tag', id, name], { timeoutMs: INSPECT_MS });
    if (result.code !== 0) throw failed('tag', result);
  }

  async untag(id: string, name: string): Promise<void> {
    const result = await this.podman.run(['untag', id, name], { timeoutMs: INSPECT_MS });
    if (result.code !== 0 && !/not known|no such/i.test(result.stderr)) throw failed('untag', result);
  }

  /** Removes a name; the image itself goes once no name and no container holds it. */
  async removeName(name: string): Promise<void> {
    const result = await this.podman.run(['rmi', name], { timeoutMs: INSPECT_MS });
    if (result.code === 0 || /image not known|no such image/i.test(result.stderr)) return;
    // Other names or a container still use the image: dropping this name is enough.
    const untag = await this.podman.run(['untag', name], { timeoutMs: INSPECT_MS });
    if (untag.code !== 0 && !/not known|no such/i.test(untag.stderr)) throw failed('rmi', result);
  }

  /** Whether a registry knows REF (its manifest, no pull); null when it does, else why not. */
  async probe(ref: string, timeoutMs: number): Promise<string | null> {
    const result = await this.podman.run(['manifest', 'inspect', `docker://${ref}`], { timeoutMs });
    if (result.code === 0) return null;
    return result.code === 124 ? `no answer from the registry within ${Math.round(timeoutMs / 1000)} s` : trimmedError(result.stderr);
  }

  /** Removes an image by id if nothing uses it (no name, no container); otherwise leaves it. */
  async removeUnused(id: string): Promise<void> {
    const image = await this.inspect(id);
    if (!image || image.names.length > 0) return;
    await this.podman.run(['rmi', id], { timeoutMs: INSPECT_MS });
  }

  /** `podman pull REF` within `timeoutMs`; null on success, else why not (one trimmed line). */
  async pull(ref: string, timeoutMs: number): Promise<string | null> {
    const result = await this.podman.run(['pull', '--quiet', ref], { timeoutMs });
    if (result.code === 0) return null;
    return result.code === 124 ? `no answer from the registry within ${Math.round(timeoutMs / 1000)} s` : trimmedError(result.stderr);
  }
}

function withPrefix(id: string): string {
  return id.startsWith('sha256:') ? id : `sha256:${id}`;
}
