// What an image name and an `image_id` may be, as pure functions. A stint image name is a
// docker-style repository path, lower case, with a tag (`:latest` when none is written); it is
// stored and compared in that canonical form. `image_id` takes `stint:<name>`, `docker:<ref>` or
// `oci:<dir>`. Must hold: every refusal names the field, the value and what would be accepted;
// nothing here runs podman or touches the disk.

import { StintError } from '../core/errors.js';

/** Where stint keeps imported images in podman's storage: a namespace no registry pull writes. */
export const STINT_IMAGE_PREFIX = 'localhost/stint/';

const COMPONENT = '[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*';
const NAME_RE = new RegExp(`^${COMPONENT}(?:/${COMPONENT})*(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?$`);
const MAX_NAME = 200;
export const NAME_ACCEPTED = 'lower-case letters, digits and . _ - separated by / (like python or lab/base), optionally :TAG (letters, digits, . _ -), at most 200 characters';

export type ImageRef = { kind: 'stint'; name: string } | { kind: 'docker'; ref: string } | { kind: 'oci'; dir: string };

/** The canonical form of a valid name (tag added), or null when the text is no valid name. */
export function canonicalName(text: string): string | null {
  if (text.length === 0 || text.length > MAX_NAME || !NAME_RE.test(text)) return null;
  const lastSlash = text.lastIndexOf('/');
  return text.indexOf(':', lastSlash + 1) >= 0 ? text : `${text}:latest`;
}

/** The canonical name, or INVALID_REQUEST naming `field`, the value and the rule. */
export function validateImageName(text: string, field = 'name'): string {
  const name = canonicalName(text);
  if (name !== null) return name;
  const shown = text.length > 80 ? `${text.slice(0, 77)}...` : text;
  throw new StintError('INVALID_REQUEST', `${field}: ${JSON.stringify(shown)} is not a valid image name; accepted: ${NAME_ACCEPTED}`, { field, value: shown, accepted: NAME_ACCEPTED });
}

/** The podman reference an imported image is tagged with. */
export function podmanNameOf(name: string): string {
  return `${STINT_IMAGE_PREFIX}${name}`;
}

/** `stint:`, `docker:` or `oci:`; anything else is refused naming `resources.image_id`. */
export function parseImageId(imageId: string, field = 'resources.image_id'): ImageRef {
  const colon = imageId.indexOf(':');
  const scheme = colon < 0 ? '' : imageId.slice(0, colon);
  const rest = colon < 0 ? '' : imageId.slice(colon + 1);
  if (scheme === 'stint' && rest !== '') return { kind: 'stint', name: validateImageName(rest, field) };
  if (scheme === 'docker' && rest !== '') return { kind: 'docker', ref: validateDockerRef(rest, field) };
  if (scheme === 'oci' && rest !== '') return { kind: 'oci', dir: rest };
  const shown = imageId.length > 80 ? `${imageId.slice(0, 77)}...` : imageId;
  const accepted = 'docker:<ref> (a local or pullable image), stint:<name> (imported with `stint image import`), oci:<dir> (an OCI layout on this machine)';
  throw new StintError('INVALID_SPEC', `${field}: ${JSON.stringify(shown)} is not an image reference; accepted: ${accepted}`, { field, value: shown, accepted });
}

const DOCKER_REF_RE = /^[A-Za-z0-9][A-Za-z0-9._\-/:]*(?:@sha256:[a-f0-9]{64})?$/;

/** A registry reference as podman takes it (`python:3.11`, `ghcr.io/x/y@sha256:...`); no options, no spaces. */
export function validateDockerRef(ref: string, field = 'resources.image_id'): string {
  if (ref.length <= 512 && DOCKER_REF_RE.test(ref) && !ref.includes('//')) return ref;
  const shown = ref.length > 80 ? `${ref.slice(0, 77)}...` : ref;
  const accepted = 'a registry reference such as python:3.11, docker.io/library/ubuntu:22.04 or ghcr.io/org/image@sha256:<64 hex>';
  throw new StintError('INVALID_SPEC', `${field}: docker:${shown} is not a valid image reference; accepted: ${accepted}`, { field, value: `docker:${shown}`, accepted });
}

/** The name an import gets from an archive's own tag (`docker.io/library/python:3.11` -> `python:3.11`), or null. */
export function nameFromArchiveTag(tag: string | null | undefined): string | null {
  if (!tag) return null;
  const stripped = tag.replace(/^docker\.io\/library\//, '').replace(/^docker\.io\//, '').replace(/^localhost\/(?:stint\/)?/, '');
  // An OCI ref.name may be a bare tag ("1.0"): no repository, so no name.
  if (!stripped.includes('/') && !stripped.includes(':') && /^[0-9]/.test(stripped)) return null;
  return canonicalName(stripped);
}

/** A name from an uploaded file's base name (`my-env.tar.gz` -> `my-env:latest`), or null. */
export function nameFromFileName(fileName: string | null | undefined): string | null {
  if (!fileName) return null;
  const base = fileName.split('/').filter(Boolean).pop() ?? '';
  const stem = base.replace(/\.(tar\.gz|tgz|tar|gz|oci|docker)$/i, '').replace(/\.(tar)$/i, '');
  const cleaned = stem.toLowerCase().replace(/[^a-z0-9._-]+/g, '-').replace(/^[^a-z0-9]+|[^a-z0-9]+$/g, '');
  return cleaned === '' ? null : canonicalName(cleaned);
}

/**
 * A `docker:` reference fully qualified as Docker Hub reads it (`python:3.11` ->
 * `docker.io/library/python:3.11`, `org/x` -> `docker.io/org/x:latest`), so podman matches it
 * exactly: a short name would also match any local image whose name ends with it, an imported
 * one of another user included. stint's own namespace is refused: that is what `stint:` is for.
 */
export function qualifyDockerRef(ref: string, field = 'resources.image_id'): string {
  const [path, digest] = ref.split('@') as [string, string | undefined];
  const parts = path.split('/');
  const first = parts[0]!;
  const hasHost = parts.length > 1 && (first.includes('.') || first.includes(':') || first === 'localhost');
  const repoParts = hasHost ? parts.slice(1) : parts;
  const host = hasHost ? first : 'docker.io';
  if (host === 'docker.io' && repoParts.length === 1) repoParts.unshift('library');
  const last = repoParts[repoParts.length - 1] ?? '';
  const tagged = digest !== undefined || last.includes(':') ? repoParts.join('/') : `${repoParts.join('/')}:latest`;
  const full = `${host}/${tagged}${digest !== undefined ? `@${digest}` : ''}`;
  if (full.startsWith(STINT_IMAGE_PREFIX)) {
    throw new StintError('INVALID_SPEC', `${field}: docker:${ref} names stint's own image storage; write stint:${full.slice(STINT_IMAGE_PREFIX.length)} for an imported image`, { field, value: `docker:${ref}`, accepted: 'stint:<name> for imported images' });
  }
  return full;
}
