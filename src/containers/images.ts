// Container images on this machine: importing an uploaded archive into podman's storage under a
// stint name, listing (reconciled with podman's storage), removing, and resolving a task's
// `image_id` to the image that will run (`resolveImage`, used by the local container engine and
// by the submit-time check). Must hold: an imported image is named only in stint's namespace
// (`localhost/stint/<name>`): names an archive carries itself are taken off again and any image
// that held them before gets them back, so an import never changes what another name runs; a name
// belongs to its importer (others may use it, only the importer or an admin may replace or remove
// it); `docker:<ref>` is looked up fully qualified, and matches an imported image of that name only
// when its importer is the job's owner or an admin; what resolution returns is the image id, so
// what was checked is what runs; imports run one at a time; temporary files are removed.
// podman never sees an archive's own names (image-rewrite.ts drops them before `podman load`), and
// whatever load did, every name it changed is restored before the import answers; an upload whose
// decompressed content passes the server's image limit is refused (413) before it is unpacked.

import { rm } from 'node:fs/promises';
import type { Clock } from '../core/clock.js';
import { StintError } from '../core/errors.js';
import type { ImageRow, ImageStore } from '../store/images.js';
import { classifyArchive, type ArchiveKind } from './image-archive.js';
import { rewriteArchive } from './image-rewrite.js';
import { canonicalName, nameFromArchiveTag, nameFromFileName, NAME_ACCEPTED, parseImageId, podmanNameOf, qualifyDockerRef, validateImageName } from './image-names.js';
import { PodmanImages, type LocalImage, type PodmanRunner } from './podman-images.js';

export const IMAGE_RULE = 'images.owner-or-admin';

/** Who imports, removes or runs: the user's id, name and role. */
export interface ImageCaller {
  id: number | null;
  name: string;
  role?: 'admin' | 'member' | 'viewer';
}

export interface ResolvedImage {
  /** What to pass to `podman run`: the image id (immutable). */
  ref: string;
  /** The manifest digest that will run (recorded on the attempt). */
  digest: string;
}

/** The shape the local container engine takes: resolves an `image_id` for a job's owner. */
export type ImageResolver = (imageId: string, owner: ImageCaller) => Promise<ResolvedImage>;

export interface ImageView extends ImageRow {
  /** false: podman's storage no longer has the image under its stint name (removed behind stint's back). */
  present: boolean;
}

export interface ImageServiceDeps {
  store: ImageStore;
  /** src/containers/podman.ts (detected on first use), or why podman cannot be used on this host. */
  podman: () => Promise<PodmanRunner | { unavailable: string }>;
  clock: Clock;
  /** Whether the user with this id is an admin now (an admin's imports serve everyone's `docker:` refs). */
  isAdmin: (userId: number) => Promise<boolean>;
  /** A directory only the server can write (decompressed archives go there). */
  tempDir: string;
  /** The most bytes an archive may hold once decompressed (the server's --max-image-mb). Default: no limit. */
  maxBytes?: number;
  /** Limit on `podman pull` (default 10 min) and on the registry probe at submit (default 20 s). */
  pullTimeoutMs?: number;
  probeTimeoutMs?: number;
}

export interface ImportRequest {
  /** The uploaded file (the route streamed it to disk). */
  file: string;
  /** `--name`; else the archive's own tag; else the file's base name. */
  name?: string;
  fileName?: string;
}

export class ImageService {
  private detected: Promise<PodmanImages | { unavailable: string }> | null = null;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly deps: ImageServiceDeps) {}

  /** Imports an uploaded archive; the file is the caller's to remove. */
  async importFile(request: ImportRequest, caller: ImageCaller): Promise<ImageView> {
    const podman = await this.podman();
    const kind = await classifyArchive(request.file, this.maxBytes);
    const name = chooseName(request, kind);
    const existing = await this.deps.store.getImage(name);
    if (existing) assertMayChange(existing, caller, 'replace');
    const local = await this.serially(() => this.store(podman, request.file, kind, name));
    const image = { imageId: local.id, digest: local.digest, sizeBytes: local.sizeBytes, source: kind.source, createdAt: this.deps.clock.now() };
    const row = existing
      ? await this.deps.store.replaceImage(name, image)
      : await this.deps.store.addImage({ name, owner: caller.name, ownerId: caller.id, ...image });
    if (!row) throw new StintError('CONFLICT', `image ${name} was removed while it was being imported; import it again`, { field: 'name', value: name });
    // The image the name stood for before, unless another name or a container still uses it.
    if (existing && existing.imageId !== local.id) await this.serially(() => podman.removeUnused(existing.imageId));
    return { ...row, present: true };
  }

  /** Every imported image, each marked present or not in podman's storage now. */
  async list(): Promise<ImageView[]> {
    const rows = await this.deps.store.listImages();
    // Without podman every image is shown as missing rather than the listing failing.
    const names = rows.length === 0 ? new Map<string, string>() : await this.podman().then((p) => p.names(), () => new Map<string, string>());
    return rows.map((row) => ({ ...row, present: names.get(podmanNameOf(row.name)) === row.imageId }));
  }

  async remove(nameText: string, caller: ImageCaller): Promise<ImageView> {
    const name = validateImageName(nameText);
    const row = await this.deps.store.getImage(name);
    if (!row) throw notImported(name, await this.knownNames(), 'name');
    assertMayChange(row, caller, 'remove');
    const podman = await this.podman();
    await this.serially(() => podman.removeName(podmanNameOf(name)));
    await this.deps.store.removeImage(name);
    return { ...row, present: false };
  }

  /** The image a job of `owner` runs for `imageId` (`stint:` or `docker:`; a pull when needed). */
  readonly resolveImage: ImageResolver = async (imageId, owner) => {
    const ref = parseImageId(imageId);
    if (ref.kind === 'oci') throw new StintError('INVALID_SPEC', `resources.image_id: ${imageId} is an OCI layout; the container engine reads it itself`, { field: 'resources.image_id', value: imageId });
    if (ref.kind === 'stint') return toResolved(await this.importedImage(ref.name, imageId));
    const local = await this.localDockerImage(ref.ref, owner);
    if (local) return toResolved(local);
    const full = qualifyDockerRef(ref.ref);
    const why = await this.pull(full);
    if (why !== null) throw unpullable(imageId, full, why);
    const pulled = await (await this.podman()).inspect(full);
    if (!pulled) throw unpullable(imageId, full, 'podman pulled it but cannot find it');
    return toResolved(pulled);
  };

  /** The image id a stint name stands for, or null (the container engine calls `resolveImage`, which also checks presence). */
  readonly resolveStintImage = async (nameText: string): Promise<{ imageId: string } | null> => {
    const name = canonicalName(nameText);
    const row = name === null ? null : await this.deps.store.getImage(name);
    return row ? { imageId: row.imageId } : null;
  };

  /**
   * The submit-time check: a `stint:` image must be imported and present; a `docker:` one must be
   * local or known to a reachable registry (a manifest lookup, no pull). INVALID_SPEC /
   * IMAGE_NOT_FOUND naming `resources.image_id` otherwise.
   */
  async checkImageId(imageId: string, owner: ImageCaller): Promise<void> {
    const ref = parseImageId(imageId);
    if (ref.kind === 'oci') return;
    if (ref.kind === 'stint') {
      await this.importedImage(ref.name, imageId);
      return;
    }
    if (await this.localDockerImage(ref.ref, owner)) return;
    const full = qualifyDockerRef(ref.ref);
    const why = await (await this.podman()).probe(full, this.deps.probeTimeoutMs ?? 20_000);
    if (why !== null) throw unpullable(imageId, full, why);
  }

  /** `podman pull` of a fully qualified ref, one pull or import at a time; null when done, else why not. */
  async pull(full: string): Promise<string | null> {
    const podman = await this.podman();
    return this.serially(() => podman.pull(full, this.deps.pullTimeoutMs ?? 600_000));
  }

  /** The full ref when `docker:<ref>` needs a pull before it can run (prepare it at the head of the queue); else null. */
  async needsPull(imageId: string, owner: ImageCaller): Promise<string | null> {
    const ref = parseImageId(imageId);
    if (ref.kind !== 'docker') return null;
    return (await this.localDockerImage(ref.ref, owner)) ? null : qualifyDockerRef(ref.ref);
  }

  private async podman(): Promise<PodmanImages> {
    this.detected ??= this.deps.podman().then((p) => ('unavailable' in p ? p : new PodmanImages(p)));
    const podman = await this.detected;
    if (podman instanceof PodmanImages) return podman;
    throw new StintError('UNSUPPORTED_FEATURE', `container images cannot be used on this server: ${podman.unavailable}`, { reason: podman.unavailable });
  }

  private serially<T>(work: () => Promise<T>): Promise<T> {
    const next = this.queue.then(work, work);
    this.queue = next.catch(() => undefined);
    return next;
  }

  private async knownNames(): Promise<string[]> {
    return (await this.deps.store.listImages()).map((r) => r.name);
  }

  private async importedImage(name: string, imageId: string): Promise<LocalImage> {
    const row = await this.deps.store.getImage(name);
    if (!row) throw notImported(name, await this.knownNames(), 'resources.image_id', imageId);
    const local = await (await this.podman()).inspect(podmanNameOf(name));
    if (!local || local.id !== row.imageId) {
      throw new StintError('IMAGE_NOT_FOUND', `resources.image_id: ${imageId} was imported by ${row.owner} but podman's storage no longer has it (removed outside stint); import it again with \`stint image import FILE --name ${name}\``, { field: 'resources.image_id', value: imageId });
    }
    return local;
  }

  /** An imported image of that name by the owner or an admin, else a local image of the full name. */
  private async localDockerImage(ref: string, owner: ImageCaller): Promise<LocalImage | null> {
    const name = canonicalName(ref);
    const row = name === null ? null : await this.deps.store.getImage(name);
    if (row && (await this.trusted(row, owner))) {
      const local = await (await this.podman()).inspect(podmanNameOf(row.name));
      if (local && local.id === row.imageId) return local;
    }
    return (await this.podman()).inspect(qualifyDockerRef(ref));
  }

  private async trusted(row: ImageRow, owner: ImageCaller): Promise<boolean> {
    if (row.ownerId !== null && row.ownerId === owner.id) return true;
    return row.ownerId !== null && (await this.deps.isAdmin(row.ownerId));
  }

  /** Puts the archive in podman's storage under the stint name only; returns the image. */
  private async store(podman: PodmanImages, file: string, kind: ArchiveKind, name: string): Promise<LocalImage> {
    const target = podmanNameOf(name);
    if (kind.source === 'rootfs') {
      await podman.importRootfs(file, target);
    } else {
      const plain = `${this.deps.tempDir}/unpacked-${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2)}.tar`;
      try {
        await rewriteArchive(file, kind, plain, this.maxBytes);
        await this.loadUnnamed(podman, plain, target);
      } finally {
        await rm(plain, { force: true });
      }
    }
    const local = await podman.inspect(target);
    if (!local) throw new StintError('INTERNAL', `podman stored image ${name} but cannot find it`, { name });
    return local;
  }

  /** `podman load` of one image (an archive without names), then every name the load changed is put back as it was. */
  private async loadUnnamed(podman: PodmanImages, file: string, target: string): Promise<void> {
    const before = await podman.names();
    let id: string;
    try {
      id = await this.loadOne(podman, file);
    } finally {
      await restoreNames(podman, before);
    }
    await podman.tag(id, target);
  }

  /** The one image `podman load` stored (counted as images: a name and an id of the same image are one). */
  private async loadOne(podman: PodmanImages, file: string): Promise<string> {
    const ids = new Set<string>();
    for (const loaded of await podman.load(file)) {
      const image = await podman.inspect(loaded);
      if (!image) throw new StintError('INTERNAL', `podman loaded ${loaded} but cannot find it`, {});
      ids.add(image.id);
    }
    if (ids.size !== 1) throw new StintError('INVALID_REQUEST', `the archive held ${ids.size} images; import one image at a time`, { field: 'body' });
    return [...ids][0]!;
  }

  private get maxBytes(): number {
    return this.deps.maxBytes ?? Number.MAX_SAFE_INTEGER;
  }
}

/** Every name that is not where it was in `before` goes back there (or away, if it was not there). */
async function restoreNames(podman: PodmanImages, before: ReadonlyMap<string, string>): Promise<void> {
  for (const [name, id] of await podman.names()) {
    const previous = before.get(name);
    if (previous === id) continue;
    await podman.untag(id, name);
    if (previous !== undefined) await podman.tag(previous, name);
  }
}

function chooseName(request: ImportRequest, kind: ArchiveKind): string {
  if (request.name !== undefined) return validateImageName(request.name, 'name');
  const name = nameFromArchiveTag(kind.tag) ?? nameFromFileName(request.fileName);
  if (name !== null) return name;
  const shown = request.fileName ?? '(none)';
  throw new StintError('INVALID_REQUEST', `name: the archive carries no tag and its file name ${JSON.stringify(shown)} makes no valid image name; pass --name (accepted: ${NAME_ACCEPTED})`, { field: 'name', value: shown, accepted: NAME_ACCEPTED });
}

function assertMayChange(row: ImageRow, caller: ImageCaller, action: 'replace' | 'remove'): void {
  if (caller.role === 'admin') return;
  if (row.ownerId !== null && row.ownerId === caller.id) return;
  throw new StintError('FORBIDDEN', `image ${row.name} belongs to ${row.owner}: only its importer or an admin may ${action} it; import yours under another name (--name) (rule ${IMAGE_RULE})`, { rule: IMAGE_RULE, field: 'name', value: row.name, owner: row.owner, caller: caller.name });
}

function notImported(name: string, known: readonly string[], field: string, imageId?: string): StintError {
  const shown = imageId ?? name;
  const list = known.length === 0 ? 'none is imported yet' : `imported: ${known.slice(0, 10).join(', ')}${known.length > 10 ? ', ...' : ''}`;
  return new StintError('IMAGE_NOT_FOUND', `${field}: ${shown} is not an imported image (${list}); import it with \`stint image import FILE --name ${name}\``, { field, value: shown, accepted: known.slice(0, 10) });
}

function unpullable(imageId: string, full: string, why: string): StintError {
  return new StintError('IMAGE_NOT_FOUND', `resources.image_id: image ${full} (${imageId}) is not on this machine and no registry could provide it (${why}); import it with \`stint image import\` (podman save / docker save on a machine that has it)`, { field: 'resources.image_id', value: imageId, reason: why });
}

function toResolved(image: LocalImage): ResolvedImage {
  return { ref: image.id, digest: image.digest || image.id };
}
