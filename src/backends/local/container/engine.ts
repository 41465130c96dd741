// The podman implementation of the local backend's ContainerEngine (../container-port.ts): turns
// `image_id` into an exact image (`docker:<ref>` and `stint:<name>` through the image service's
// resolver for the job's owner, so an imported image serves `docker:` only for its importer or
// when an admin imported it; without a resolver, `docker:` is looked up by its fully qualified
// name only, never podman's short-name match; `oci:<dir>` a layout read as the job's account), checks once
// per image that it has /bin/bash, and builds the `podman run` argv (run-args.ts) with the job's
// GPUs as CDI devices (cdi.ts).
// Must hold: the argv runs the image id that was inspected, and that id's digest is what
// `prepareLaunch` reports; no path a job controls is opened by root (mount sources must be real
// directories or files, not links; oci: dirs go through oci-layout.ts); `cleanup` is idempotent.
// Nothing of an image runs outside its job: the /bin/bash check mounts the image read-only and
// resolves the path inside it (image-files.ts), never executing it. An `oci:` import is bounded by
// the server's image limit and a time limit, is recorded under <home>/containers/oci-images/ per
// container, and `cleanup` removes it again unless a name or another container holds it.

import { lstatSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type CdiDevices, type CdiGpu, prepareCdi } from '../../../containers/cdi.js';
import { isExecutableInRoot } from '../../../containers/image-files.js';
import type { Podman } from '../../../containers/podman.js';
import { StintError } from '../../../core/errors.js';
import type { ContainerEngine, ContainerLaunch, ContainerRequest, ImageOwner } from '../container-port.js';
import { copyLayout, LAYOUT_LIMITS, removeCopy } from './oci-layout.js';
import { buildRunArgs, containerGpuEnv } from './run-args.js';

export interface PodmanEngineOptions {
  /** What Podman.detect returned. */
  podman: Podman | { unavailable: string };
  /** stint's home (scratch space for OCI layouts, the CDI spec's name). */
  home: string;
  /** The GPUs of the inventory, for CDI and AMD device nodes (a function when the backend that owns them is made after the engine). */
  gpus: readonly CdiGpu[] | (() => Promise<readonly CdiGpu[]>);
  /**
   * How `docker:` and `stint:` images are found for a job's owner (ImageService.resolveImage, which
   * applies the owner rule and pulls when needed). Default: `docker:` by its fully qualified name
   * (local, else pulled), `stint:<name>` as podman name `localhost/stint/<name>`.
   */
  resolveImage?: (imageId: string, owner: ImageOwner) => Promise<{ ref: string; digest: string }>;
  /** Longest a `docker:` pull may take before the launch fails. Default 10 minutes. */
  pullTimeoutMs?: number;
  /** The most bytes an `oci:` layout may hold (the server's --max-image-mb). Default: LAYOUT_LIMITS. */
  maxImageBytes?: number;
  /** Longest the job's account may take to archive an `oci:` layout. Default 10 minutes. */
  layoutTimeoutMs?: number;
  /** Where stint's CDI spec is written (default /var/run/cdi) and where NVIDIA's is looked for. */
  cdiDir?: string;
  cdiSearchDirs?: readonly string[];
}

interface ResolvedImage {
  id: string;
  digest: string;
}

export function createPodmanEngine(options: PodmanEngineOptions): ContainerEngine {
  if ('unavailable' in options.podman) return { unavailable: options.podman.unavailable, prepareLaunch: refuse(options.podman.unavailable), cleanup: async () => {} };
  return new PodmanEngine(options.podman, options);
}

function refuse(reason: string): () => Promise<never> {
  return async () => { throw new StintError('UNSUPPORTED_FEATURE', `resources.image_id cannot run on this host: ${reason}`, { field: 'resources.image_id', reason }); };
}

class PodmanEngine implements ContainerEngine {
  readonly unavailable: string | null = null;
  private readonly withBash = new Set<string>();
  private cdi: CdiDevices | null = null;

  constructor(private readonly podman: Podman, private readonly options: PodmanEngineOptions) {}

  async prepareLaunch(request: ContainerRequest): Promise<ContainerLaunch> {
    const name = containerName(request.attemptName);
    try {
      return await this.launchOf(request, name, await this.resolve(request, name));
    } catch (error) {
      await this.removeImported(name);
      throw error;
    }
  }

  private async launchOf(request: ContainerRequest, name: string, image: ResolvedImage): Promise<ContainerLaunch> {
    await this.checkBash(request.imageId, image.id);
    for (const mount of request.mounts) checkMountSource(mount.host);
    const self = { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 };
    const gpus = typeof this.options.gpus === 'function' ? await this.options.gpus() : this.options.gpus;
    const args = buildRunArgs({
      request, name, imageId: image.id, devices: this.devices(gpus, request.gpus), ulimitArgs: this.podman.ulimitArgs,
      serverIsRoot: self.uid === 0, self,
    });
    const vendor = vendorOf(gpus, request.gpus);
    return { argv: this.podman.command(args), env: request.gpus.length > 0 ? containerGpuEnv(request.gpus, vendor) : {}, image: { ref: request.imageId, digest: image.digest }, name };
  }

  async cleanup(name: string): Promise<void> {
    const result = await this.podman.run(['rm', '--force', '--ignore', '--time', '0', name], { timeoutMs: 60_000 });
    if (result.code !== 0) throw new StintError('BACKEND_ERROR', `podman rm ${name} failed (exit ${result.code}): ${result.stderr.trim().slice(0, 500)}`, { container: name });
    await this.removeImported(name);
  }

  private importedRecord(name: string): string {
    return join(this.options.home, 'containers', 'oci-images', name);
  }

  /** The image an `oci:` launch of container `name` imported goes, unless a name or a container still holds it. */
  private async removeImported(name: string): Promise<void> {
    const record = this.importedRecord(name);
    let id: string;
    try {
      id = readFileSync(record, 'utf8').trim();
    } catch {
      return;
    }
    if (/^[0-9a-f]{64}$/.test(id)) {
      const tags = await this.podman.run(['image', 'inspect', '--format', '{{len .RepoTags}}', id], { timeoutMs: 60_000 });
      // Without --force podman refuses while a container uses it: that attempt's cleanup removes it later.
      if (tags.code === 0 && tags.stdout.trim() === '0') await this.podman.run(['rmi', id], { timeoutMs: 60_000 });
    }
    rmSync(record, { force: true });
  }

  private async resolve(request: ContainerRequest, name: string): Promise<ResolvedImage> {
    const ref = request.imageId;
    const colon = ref.indexOf(':');
    const scheme = colon < 0 ? '' : ref.slice(0, colon);
    const rest = ref.slice(colon + 1);
    if ((scheme === 'docker' || scheme === 'stint') && this.options.resolveImage) return this.resolveForOwner(ref, request.owner);
    if (scheme === 'docker') return this.resolveDocker(ref, rest);
    if (scheme === 'stint') return this.resolveStint(ref, rest);
    if (scheme === 'oci') return this.importLayout(ref, rest, request.runAs, name);
    throw imageError(ref, 'it names no known kind of image', 'docker:<ref>, stint:<name> or oci:<dir>');
  }

  /** Through the image service: what the owner may run under that name, as an exact image id. */
  private async resolveForOwner(imageId: string, owner: ImageOwner | null): Promise<ResolvedImage> {
    if (owner === null) throw imageError(imageId, 'the job has no owner to resolve its image for', 'a job submitted by a user');
    const found = await this.options.resolveImage!(imageId, owner);
    const image = await this.inspect(found.ref.replace(/^sha256:/, ''));
    if (!image) throw imageError(imageId, `the image it resolved to (${found.ref}) is not in podman's storage`, 'an image from `stint image list` or a registry');
    return { id: image.id, digest: found.digest || image.digest };
  }

  private async resolveDocker(imageId: string, ref: string): Promise<ResolvedImage> {
    const full = normalizeDockerRef(ref);
    if (full === null) throw imageError(imageId, `${JSON.stringify(ref)} is not an image reference`, 'docker:<name>[:tag][@sha256:...], e.g. docker:ubuntu:22.04');
    // Only the fully qualified name: podman matches a short name against any local image whose name ends with it.
    const local = await this.inspect(full);
    if (local) return local;
    const timeoutMs = this.options.pullTimeoutMs ?? 600_000;
    const pulled = await this.podman.run(['pull', '--quiet', `docker://${full}`], { timeoutMs });
    if (pulled.code !== 0) {
      throw imageError(imageId, `it is not on this machine and pulling ${full} failed (exit ${pulled.code}): ${pulled.stderr.trim().slice(-400)}`, 'an image on this machine (stint image import) or one a reachable registry holds');
    }
    const after = await this.inspect(full);
    if (!after) throw imageError(imageId, `${full} was pulled but podman cannot find it`, 'docker:<ref>');
    return after;
  }

  private async resolveStint(imageId: string, name: string): Promise<ResolvedImage> {
    if (!/^[a-z0-9][a-z0-9._/-]*(:[\w][\w.-]*)?$/.test(name)) throw imageError(imageId, `${JSON.stringify(name)} is not an image name`, 'stint:<name>[:tag] of `stint image list`');
    const image = await this.inspect(`localhost/stint/${name}`);
    if (!image) throw imageError(imageId, `no imported image ${JSON.stringify(name)}`, 'a name from `stint image list` (import one with `stint image import FILE --name NAME`)');
    return image;
  }

  private async importLayout(imageId: string, dir: string, runAs: ContainerRequest['runAs'], name: string): Promise<ResolvedImage> {
    const limits = { ...LAYOUT_LIMITS, maxBytes: this.options.maxImageBytes ?? LAYOUT_LIMITS.maxBytes, timeoutMs: this.options.layoutTimeoutMs ?? LAYOUT_LIMITS.timeoutMs };
    const copy = await copyLayout(dir, runAs, scratchDir(this.options.home), limits);
    try {
      const pulled = await this.podman.run(['pull', '--quiet', `oci:${copy}`], { timeoutMs: 600_000 });
      const id = pulled.stdout.trim().split('\n').pop() ?? '';
      if (/^[0-9a-f]{64}$/.test(id)) this.recordImported(name, id);
      if (pulled.code !== 0 || !/^[0-9a-f]{64}$/.test(id)) throw imageError(imageId, `podman could not import it (exit ${pulled.code}): ${pulled.stderr.trim().slice(-400)}`, 'an OCI image layout directory (`podman save --format oci-dir`, `skopeo copy ... oci:DIR`)');
      // podman names the image after the copy's path; that name means nothing once the copy is gone.
      await this.podman.run(['untag', id, `localhost${copy}:latest`], { timeoutMs: 60_000 });
      const image = await this.inspect(id);
      if (!image) throw imageError(imageId, 'podman imported it but cannot find it', 'an OCI image layout directory');
      return image;
    } finally {
      await removeCopy(copy);
    }
  }

  private recordImported(name: string, id: string): void {
    mkdirSync(join(this.options.home, 'containers', 'oci-images'), { recursive: true, mode: 0o700 });
    writeFileSync(this.importedRecord(name), `${id}\n`, { mode: 0o600 });
  }

  private async inspect(ref: string): Promise<ResolvedImage | null> {
    const result = await this.podman.run(['image', 'inspect', '--format', '{{.Id}} {{.Digest}}', ref], { timeoutMs: 60_000 });
    if (result.code !== 0) return null;
    const [id, digest] = result.stdout.trim().split('\n')[0]!.split(' ');
    return id && /^[0-9a-f]{64}$/.test(id) ? { id, digest: digest && digest !== '<none>' ? digest : `sha256:${id}` } : null;
  }

  /** Looks for /bin/bash in the image's files (mounted read-only; nothing of the image runs). */
  private async checkBash(imageId: string, id: string): Promise<void> {
    if (this.withBash.has(id)) return;
    const mounted = await this.podman.run(['image', 'mount', id], { timeoutMs: 60_000 });
    const root = mounted.stdout.trim().split('\n').pop() ?? '';
    if (mounted.code !== 0 || !root.startsWith('/')) throw imageError(imageId, `podman could not mount it to look for /bin/bash (exit ${mounted.code}): ${mounted.stderr.trim().slice(-400)}`, 'an image in podman\'s storage');
    let found: boolean;
    try {
      found = isExecutableInRoot(root, '/bin/bash');
    } finally {
      await this.podman.run(['image', 'unmount', id], { timeoutMs: 60_000 });
    }
    if (!found) throw imageError(imageId, 'it has no /bin/bash, which stint runs setup and run with', 'an image with /bin/bash (e.g. debian, ubuntu, python, pytorch/pytorch)');
    this.withBash.add(id);
  }

  private devices(inventory: readonly CdiGpu[], gpus: readonly number[]): string[] {
    const devices: string[] = [];
    for (const index of gpus) {
      const gpu = inventory.find((g) => g.index === index);
      if (gpu?.vendor === 'amd') {
        if (!devices.includes('/dev/kfd')) devices.push('/dev/kfd');
        devices.push(gpu.devicePath ?? `/dev/dri/renderD${128 + index}`);
        continue;
      }
      this.cdi ??= prepareCdi({ home: this.options.home, gpus: inventory, dir: this.options.cdiDir, searchDirs: this.options.cdiSearchDirs });
      const name = this.cdi.deviceFor(index);
      if (name !== null) devices.push(name);
    }
    return devices;
  }
}

function vendorOf(inventory: readonly CdiGpu[], gpus: readonly number[]): 'nvidia' | 'amd' | 'none' {
  const first = inventory.find((g) => g.index === gpus[0]);
  return first?.vendor === 'amd' ? 'amd' : first ? 'nvidia' : 'none';
}

/**
 * Where layouts are copied: podman names an image pulled from `oci:PATH` after PATH and refuses
 * upper case there, so a home with upper case in its path uses /var/tmp (each copy is a fresh
 * 0700 directory made by mkdir, which fails rather than reuse anything already there).
 */
export function scratchDir(home: string): string {
  const inHome = join(home, 'containers', 'scratch');
  return /^[a-z0-9/._-]+$/.test(inHome) ? inHome : '/var/tmp';
}

/** podman's container names: `stint-` and the attempt name with anything else replaced by `_`. */
export function containerName(attemptName: string): string {
  return `stint-${attemptName.replace(/[^a-zA-Z0-9_.-]/g, '_')}`;
}

/**
 * Docker's reading of a short reference: no registry host → docker.io, one component →
 * library/<name>, no tag or digest → :latest. Null when it is not a reference at all.
 */
export function normalizeDockerRef(ref: string): string | null {
  if (!/^[a-zA-Z0-9][\w.\-/:@]*$/.test(ref) || ref.includes('//')) return null;
  const slash = ref.indexOf('/');
  const first = slash < 0 ? '' : ref.slice(0, slash);
  const hasHost = first.includes('.') || first.includes(':') || first === 'localhost';
  let full = hasHost ? ref : `docker.io/${slash < 0 ? `library/${ref}` : ref}`;
  const lastPart = full.slice(full.lastIndexOf('/') + 1);
  if (!lastPart.includes(':') && !full.includes('@')) full += ':latest';
  return full;
}

/** A mount source must be a directory or file itself, not a link: podman (root) follows links. */
function checkMountSource(host: string): void {
  let stat;
  try {
    stat = lstatSync(host);
  } catch {
    throw new StintError('INVALID_REQUEST', `mount source ${JSON.stringify(host)} does not exist`, { path: host });
  }
  if (stat.isSymbolicLink() || !(stat.isDirectory() || stat.isFile())) {
    throw new StintError('INVALID_REQUEST', `mount source ${JSON.stringify(host)} is not a plain directory or file (a link or device); it is not mounted`, { path: host });
  }
}

function imageError(imageId: string, reason: string, accepted: string): StintError {
  return new StintError('INVALID_SPEC', `resources.image_id: ${JSON.stringify(imageId)} cannot run: ${reason}`, { field: 'resources.image_id', value: imageId, accepted });
}
