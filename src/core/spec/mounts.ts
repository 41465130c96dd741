// Reads `file_mounts` and `volumes`. A mount's mode says where its data comes from:
//   local   a path on the submitting machine (`/remote: ./data`)       → feature local_file_mount
//   copy    a bucket URL (`/data: s3://bucket`) or a storage map with mode COPY, copied in at start
//   bucket  a storage map with mode MOUNT / MOUNT_CACHED, mounted live → feature bucket_mount
// (copy and bucket both record bucket_mount: both need object storage.) A storage map whose source
// is a list keeps the first entry as `source`; the feature detail names them all.
// `${VAR}` / `$VAR` in targets, sources and bucket names are replaced from the task's envs (never
// from secrets), as SkyPilot does. Invariant: every mount has a non-empty target and a position.

import { isScalar, isSeq, type Node } from 'yaml';
import { addFeature, addIssue, knownEntries, mapEntries, plainValue, readBool, readString, shortText, type Entry, type ParseContext } from './context.js';
import { STORAGE_KEYS } from './keys.js';
import type { FileMount, MountMode } from './types.js';

const MOUNT_ACCEPTED = 'a local path, a bucket URL (s3://, gs://, r2://, https://...), or a storage map {name, source, store, mode}';
const STORAGE_MODES: Record<string, MountMode> = { copy: 'copy', mount: 'bucket', mount_cached: 'bucket' };

export function isUrl(text: string): boolean {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(text);
}

/** Replaces `${NAME}` and `$NAME` with envs' values; unknown names are left as written. */
export function substituteEnvs(text: string, envs: Record<string, string>): string {
  return text.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)/g, (whole, braced?: string, bare?: string) => {
    const name = braced ?? bare ?? '';
    return Object.hasOwn(envs, name) ? (envs[name] ?? whole) : whole;
  });
}

type MountSource = Omit<FileMount, 'target' | 'pos'>;

function fromString(ctx: ParseContext, entry: Entry, source: string, field: string): MountSource {
  const mode: MountMode = isUrl(source) ? 'copy' : 'local';
  addFeature(ctx, mode === 'local' ? 'local_file_mount' : 'bucket_mount', field, entry.keyNode, source);
  return { source, mode };
}

function storageSources(ctx: ParseContext, node: Node | null, field: string, envs: Record<string, string>): string[] | null {
  if (node === null || (isScalar(node) && node.value === null)) return [];
  if (isSeq(node)) {
    const sources = node.items.map((item, index) => readString(ctx, item as Node, `${field}[${index}]`));
    return sources.every((source): source is string => source !== null) ? sources.map((source) => substituteEnvs(source, envs)) : null;
  }
  const source = readString(ctx, node, field);
  return source === null ? null : [substituteEnvs(source, envs)];
}

function storageMode(ctx: ParseContext, node: Node | null, field: string): MountMode | null {
  if (node === null) return 'bucket';
  const text = readString(ctx, node, field);
  if (text === null) return null;
  const mode = STORAGE_MODES[text.toLowerCase()];
  if (mode) return mode;
  return addIssue(ctx, field, node, 'must be COPY, MOUNT or MOUNT_CACHED', { value: text, accepted: 'COPY, MOUNT or MOUNT_CACHED' });
}

/** A storage map: `{name, source, store, persistent, mode, ...}`. */
function fromStorage(ctx: ParseContext, entry: Entry, field: string, envs: Record<string, string>): MountSource | null {
  const entries = knownEntries(ctx, mapEntries(ctx, entry.value, field, MOUNT_ACCEPTED) ?? [], STORAGE_KEYS, field);
  const byKey = new Map(entries.map((item) => [item.key, item.value]));
  const sources = storageSources(ctx, byKey.get('source') ?? null, `${field}.source`, envs);
  const mode = storageMode(ctx, byKey.get('mode') ?? null, `${field}.mode`);
  const nameNode = byKey.get('name');
  const name = nameNode && !(isScalar(nameNode) && nameNode.value === null) ? readString(ctx, nameNode, `${field}.name`, true) : null;
  const persistent = byKey.get('persistent');
  if (persistent) readBool(ctx, persistent, `${field}.persistent`);
  if (sources === null || mode === null) return null;
  const described = [name ? `bucket ${substituteEnvs(name, envs)}` : null, sources.length > 0 ? `from ${sources.join(', ')}` : null, `mode ${mode}`];
  addFeature(ctx, 'bucket_mount', field, entry.keyNode, described.filter(Boolean).join(' '));
  return { source: sources[0] ?? null, mode };
}

export function readFileMounts(ctx: ParseContext, node: Node | null, envs: Record<string, string>): FileMount[] {
  const entries = mapEntries(ctx, node, 'file_mounts', 'a map of target paths to sources') ?? [];
  const mounts: FileMount[] = [];
  for (const entry of entries) {
    const target = substituteEnvs(entry.key, envs);
    const field = `file_mounts.${entry.key}`;
    const value = entry.value;
    let mount: MountSource | null;
    if (isScalar(value) && typeof value.value === 'string') {
      mount = fromString(ctx, entry, substituteEnvs(value.value, envs), field);
    } else if (value && !isScalar(value)) {
      mount = fromStorage(ctx, entry, field, envs);
    } else {
      mount = addIssue(ctx, field, value ?? entry.keyNode, `must be ${MOUNT_ACCEPTED}`, { value: plainValue(ctx, value), accepted: MOUNT_ACCEPTED });
    }
    if (mount) mounts.push({ target, ...mount, pos: entry.pos });
  }
  return mounts;
}

/** `volumes`: target path → volume name (or an inline volume map, kept by its `name`). */
export function readVolumes(ctx: ParseContext, node: Node | null): Record<string, string> {
  const entries = mapEntries(ctx, node, 'volumes', 'a map of target paths to volume names') ?? [];
  const volumes: Record<string, string> = {};
  for (const entry of entries) {
    const field = `volumes.${entry.key}`;
    const inline = entry.value && !isScalar(entry.value) ? mapEntries(ctx, entry.value, field, 'a volume name or a volume map') : null;
    const nameNode = inline?.find((item) => item.key === 'name')?.value ?? null;
    const name = inline ? (nameNode ? readString(ctx, nameNode, `${field}.name`) : `(inline volume)`) : readString(ctx, entry.value, field);
    if (name === null) continue;
    volumes[entry.key] = name;
    addFeature(ctx, 'volume', field, entry.keyNode, shortText(name));
  }
  return volumes;
}
