// Reads one task document (a YAML map) into a TaskSpec. Fields stint runs itself are normalised;
// fields only some backends can honour are recorded in `features` with their line, never dropped:
// num_nodes > 1 → multi_node, service → service, volumes → volume, job_recovery → job_recovery, and
// SkyPilot's cloud-only or platform keys (config, pool, labels, event_callback, experimental,
// inputs/outputs, a git `workdir`, ...) → 'other' with the field named.
// Invariant: the returned spec holds only values that passed validation; when any field is invalid
// an issue is recorded (the caller then refuses the whole file).

import { isMap, isScalar, type Node } from 'yaml';
import {
  addFeature,
  addIssue,
  isNullNode,
  knownEntries,
  mapEntries,
  plainValue,
  readInt,
  readString,
  shortText,
  type Entry,
  type ParseContext,
} from './context.js';
import { readEnvs, readSecrets } from './envs.js';
import { PIPELINE_HEADER_KEYS, TASK_KEYS } from './keys.js';
import { readFileMounts, readVolumes } from './mounts.js';
import { readResources } from './resources.js';
import { readStintSettings } from './stint-keys.js';
import type { TaskSpec } from './types.js';

export interface Overrides {
  envOverrides: Record<string, string>;
  secretOverrides: Record<string, string>;
}

const MAX_NODES = 100_000;

/** SkyPilot keys stint records as feature 'other' (only some backends or platforms honour them). */
const OTHER_KEYS: Record<string, 'map' | 'string' | 'any'> = {
  config: 'map',
  pool: 'map',
  labels: 'map',
  experimental: 'map',
  event_callback: 'string',
  inputs: 'map',
  outputs: 'map',
  managed_secrets: 'any',
  file_mounts_mapping: 'map',
  volume_mounts: 'any',
  api_server_access: 'any',
  _metadata: 'any',
};

function readOtherKey(ctx: ParseContext, entry: Entry): void {
  const shape = OTHER_KEYS[entry.key];
  if (!shape) return;
  const ok = shape === 'map' ? mapEntries(ctx, entry.value, entry.key) !== null : shape === 'string' ? readString(ctx, entry.value, entry.key) !== null : true;
  if (ok) addFeature(ctx, 'other', entry.key, entry.keyNode, shortText(plainValue(ctx, entry.value)));
}

/** `workdir`: a local path, or `{url, ref}` (a git checkout, recorded as 'other'). */
function readWorkdir(ctx: ParseContext, entry: Entry | undefined): string | null {
  if (!entry || isNullNode(entry.value)) return null;
  if (!isMap(entry.value)) return readString(ctx, entry.value, 'workdir');
  const parts = knownEntries(ctx, mapEntries(ctx, entry.value, 'workdir') ?? [], ['url', 'ref'], 'workdir');
  const url = parts.find((part) => part.key === 'url');
  if (!url) return addIssue(ctx, 'workdir.url', entry.value, 'is required when workdir is a map', { accepted: '{url: https://..., ref: main}' });
  const ref = parts.find((part) => part.key === 'ref');
  const urlText = readString(ctx, url.value, 'workdir.url');
  const refText = ref ? readString(ctx, ref.value, 'workdir.ref', true) : null;
  if (urlText !== null) addFeature(ctx, 'other', 'workdir', entry.keyNode, `git ${urlText}${refText ? `@${refText}` : ''}`);
  return null;
}

function readNumNodes(ctx: ParseContext, entry: Entry | undefined): number {
  if (!entry) return 1;
  const nodes = readInt(ctx, entry.value, 'num_nodes', 1, MAX_NODES);
  if (nodes !== null && nodes > 1) addFeature(ctx, 'multi_node', 'num_nodes', entry.keyNode, String(nodes));
  return nodes ?? 1;
}

function readScript(ctx: ParseContext, entry: Entry | undefined): string | null {
  if (!entry || isNullNode(entry.value)) return null;
  return readString(ctx, entry.value, entry.key);
}

function readTaskLevelFeatures(ctx: ParseContext, byKey: Map<string, Entry>): void {
  const service = byKey.get('service');
  if (service && mapEntries(ctx, service.value, 'service') !== null) addFeature(ctx, 'service', 'service', service.keyNode, 'a long-running service with replicas');
  const recovery = byKey.get('job_recovery');
  if (recovery) {
    const ok = isScalar(recovery.value) && typeof recovery.value.value === 'string' ? true : mapEntries(ctx, recovery.value, 'job_recovery', 'a strategy name or a map') !== null;
    if (ok) addFeature(ctx, 'job_recovery', 'job_recovery', recovery.keyNode, shortText(plainValue(ctx, recovery.value)));
  }
  for (const entry of byKey.values()) readOtherKey(ctx, entry);
}

function checkEnvSecretOverlap(ctx: ParseContext, envs: Record<string, string>, secrets: Record<string, string>, secretsEntry: Entry | undefined): void {
  for (const name of Object.keys(secrets)) {
    if (Object.hasOwn(envs, name)) {
      addIssue(ctx, `secrets.${name}`, secretsEntry?.keyNode ?? 'command line', `\`${name}\` is declared in both envs and secrets; keep it in one`, { value: name });
    }
  }
}

function reportHeaderKeys(ctx: ParseContext, entries: Entry[]): Entry[] {
  return entries.filter((entry) => {
    const headerOnly = (PIPELINE_HEADER_KEYS as readonly string[]).includes(entry.key) && !TASK_KEYS.includes(entry.key);
    if (headerOnly) {
      addIssue(ctx, entry.key, entry.keyNode, `belongs only in a pipeline's first document (which then holds only ${PIPELINE_HEADER_KEYS.join(', ')})`, { value: entry.key });
    }
    return !headerOnly;
  });
}

export function readTask(ctx: ParseContext, node: Node, overrides: Overrides): TaskSpec {
  const entries = reportHeaderKeys(ctx, mapEntries(ctx, node, '(task)', 'a map of task fields (name, resources, run, ...)') ?? []);
  const byKey = new Map(knownEntries(ctx, entries, TASK_KEYS, '').map((entry) => [entry.key, entry]));
  const value = (key: string): Node | null => {
    const entry = byKey.get(key);
    return entry && !isNullNode(entry.value) ? entry.value : null;
  };
  const nameNode = value('name');
  const resources = readResources(ctx, value('resources'));
  const envs = readEnvs(ctx, byKey.get('envs')?.value ?? null, overrides.envOverrides);
  const secrets = readSecrets(ctx, byKey.get('secrets')?.value ?? null, overrides.secretOverrides);
  checkEnvSecretOverlap(ctx, envs, secrets, byKey.get('secrets'));
  const fileMountsNode = value('file_mounts');
  const volumesNode = value('volumes');
  const spec: TaskSpec = {
    name: nameNode ? readString(ctx, nameNode, 'name', true) : null,
    workdir: readWorkdir(ctx, byKey.get('workdir')),
    numNodes: readNumNodes(ctx, byKey.get('num_nodes')),
    resources: resources.choices,
    ordered: resources.ordered,
    envs,
    secrets,
    fileMounts: fileMountsNode ? readFileMounts(ctx, fileMountsNode, envs) : [],
    volumes: volumesNode ? readVolumes(ctx, volumesNode) : {},
    setup: readScript(ctx, byKey.get('setup')),
    run: readScript(ctx, byKey.get('run')),
    ...readStintSettings(ctx, [...byKey.values()]),
    features: [],
  };
  readTaskLevelFeatures(ctx, byKey);
  spec.features = [...ctx.features].sort((a, b) => a.pos.line - b.pos.line || a.pos.col - b.pos.col);
  return spec;
}
