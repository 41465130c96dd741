// Reads the fields of one resources map — the base `resources:` or one `any_of` / `ordered` entry —
// into a partial set of values that an entry can later lay over the base. Each value remembers the
// feature its use implies (use_spot → spot, image_id → image, ...) so that the feature is recorded
// only for the resource choices that really carry that value.
// Invariant: a key appears in `written` exactly when the map set it (even to null), so an entry's
// `image_id: null` clears the base's image instead of inheriting it.

import { isScalar, isSeq, type Node } from 'yaml';
import { readAccelerators, type AcceleratorSpec } from './accelerators.js';
import {
  addFeature,
  addIssue,
  isNullNode,
  mapEntries,
  plainValue,
  posOf,
  readBool,
  readString,
  shortText,
  type Entry,
  type ParseContext,
} from './context.js';
import { foldCloudRegionZone, infraProblem, isCloudInfra } from './infra.js';
import { readCpus, readDiskGb, readMemoryGb, readPorts } from './quantities.js';
import type { Feature, Quantity, SourcePos } from './types.js';

/** A feature a value implies, recorded later for the choices that use the value. */
export interface PendingUse {
  feature: Feature;
  field: string;
  pos: SourcePos;
  detail: string;
}

export interface PartialResources {
  written: Set<string>;
  accelerators: AcceleratorSpec | null;
  cpus: Quantity | null;
  memoryGb: Quantity | null;
  diskSizeGb: number | null;
  useSpot: boolean;
  infra: string | null;
  imageId: string | null;
  ports: string[];
  /** Merge key → the feature its value implies, if any. */
  uses: Map<string, PendingUse>;
  /** Where the accelerators were written (for the fractional_gpu field path). */
  acceleratorsField: string;
  /** Merge key (cpus, memory, infra) → where its value was written. */
  origins: Map<string, Origin>;
}

export interface Origin {
  field: string;
  pos: SourcePos;
}

export function emptyPartial(): PartialResources {
  return {
    written: new Set(),
    accelerators: null,
    cpus: null,
    memoryGb: null,
    diskSizeGb: null,
    useSpot: false,
    infra: null,
    imageId: null,
    ports: [],
    uses: new Map(),
    acceleratorsField: 'resources.accelerators',
    origins: new Map(),
  };
}

type Reader = (ctx: ParseContext, entry: Entry, field: string, partial: PartialResources) => void;

function use(ctx: ParseContext, partial: PartialResources, key: string, feature: Feature, field: string, entry: Entry, detail: string): void {
  partial.uses.set(key, { feature, field, pos: posOf(ctx, entry.keyNode), detail });
}

/** Fields only a cloud can honour: type-checked as strings, recorded as feature 'other'. */
const readOtherString: Reader = (ctx, entry, field, partial) => {
  const value = readString(ctx, entry.value, field);
  if (value !== null) use(ctx, partial, entry.key, 'other', field, entry, value);
};

/** Fields only a cloud can honour whose shape SkyPilot checks: recorded as feature 'other'. */
const readOtherAny: Reader = (ctx, entry, field, partial) => {
  use(ctx, partial, entry.key, 'other', field, entry, shortText(plainValue(ctx, entry.value)));
};

const readOtherMap: Reader = (ctx, entry, field, partial) => {
  if (mapEntries(ctx, entry.value, field) !== null) readOtherAny(ctx, entry, field, partial);
};

const readLabels: Reader = (ctx, entry, field, partial) => {
  const labels = mapEntries(ctx, entry.value, field, 'a map of label names to string values');
  if (labels === null) return;
  for (const label of labels) readString(ctx, label.value, `${field}.${label.key}`, true);
  use(ctx, partial, entry.key, 'other', field, entry, labels.map((label) => label.key).join(', '));
};

function applyInfra(ctx: ParseContext, partial: PartialResources, infra: string, field: string, entry: Entry): void {
  const problem = infraProblem(infra);
  if (problem) {
    addIssue(ctx, field, entry.value ?? entry.keyNode, `\`${infra}\` ${problem}`, {
      value: infra,
      accepted: 'cloud[/region[/zone]], local[/name], slurm/name[/partition], k8s[/context]',
    });
    return;
  }
  partial.infra = infra;
  partial.written.add('infra');
  partial.origins.set('infra', { field, pos: posOf(ctx, entry.keyNode) });
  if (isCloudInfra(infra)) use(ctx, partial, 'infra', 'cloud_infra', field, entry, infra);
  else partial.uses.delete('infra');
}

const readInfra: Reader = (ctx, entry, field, partial) => {
  const infra = readString(ctx, entry.value, field);
  if (infra !== null) applyInfra(ctx, partial, infra, field, entry);
};

const readAcceleratorField: Reader = (ctx, entry, field, partial) => {
  if (partial.written.has('accelerators')) {
    addIssue(ctx, field, entry.keyNode, '`accelerators` and `gpus` are the same field; give only one', { value: entry.key });
    return;
  }
  const spec = readAccelerators(ctx, entry.value, field);
  if (spec === null) return;
  partial.accelerators = spec;
  partial.acceleratorsField = field;
  partial.written.add('accelerators');
};

const readCpusField: Reader = (ctx, entry, field, partial) => {
  partial.cpus = isNullNode(entry.value) ? null : readCpus(ctx, entry.value, field);
  partial.written.add('cpus');
  partial.origins.set('cpus', { field, pos: posOf(ctx, entry.keyNode) });
};

const readMemoryField: Reader = (ctx, entry, field, partial) => {
  partial.memoryGb = isNullNode(entry.value) ? null : readMemoryGb(ctx, entry.value, field);
  partial.written.add('memory');
  partial.origins.set('memory', { field, pos: posOf(ctx, entry.keyNode) });
};

const readDiskField: Reader = (ctx, entry, field, partial) => {
  partial.diskSizeGb = isNullNode(entry.value) ? null : readDiskGb(ctx, entry.value, field);
  partial.written.add('disk_size');
  if (partial.diskSizeGb === null) partial.uses.delete('disk_size');
  else use(ctx, partial, 'disk_size', 'disk_size', field, entry, `${partial.diskSizeGb} GB`);
};

const readSpot: Reader = (ctx, entry, field, partial) => {
  const spot = readBool(ctx, entry.value, field);
  if (spot === null) return;
  partial.useSpot = spot;
  partial.written.add('use_spot');
  if (spot) use(ctx, partial, 'use_spot', 'spot', field, entry, 'true');
  else partial.uses.delete('use_spot');
};

/** `job_recovery` (or the older `spot_recovery`): a strategy name or a map; concerns the whole task. */
const readRecovery: Reader = (ctx, entry, field) => {
  const value = entry.value;
  const ok = isScalar(value) && typeof value.value === 'string' ? true : mapEntries(ctx, value, field, 'a strategy name or a map') !== null;
  if (ok) addFeature(ctx, 'job_recovery', field, entry.keyNode, shortText(plainValue(ctx, value)));
};

const readPortsField: Reader = (ctx, entry, field, partial) => {
  const items = isSeq(entry.value) ? entry.value.items.map((item) => item as Node) : null;
  const ports = isNullNode(entry.value) ? [] : readPorts(ctx, entry.value, items, field);
  if (ports === null) return;
  partial.ports = ports;
  partial.written.add('ports');
  if (ports.length > 0) use(ctx, partial, 'ports', 'ports', field, entry, ports.join(', '));
  else partial.uses.delete('ports');
};

/** `image_id`: a string, null (none), or a map of region → image. */
const readImage: Reader = (ctx, entry, field, partial) => {
  partial.written.add('image_id');
  if (isNullNode(entry.value)) {
    partial.imageId = null;
    partial.uses.delete('image_id');
    return;
  }
  const entries = isScalar(entry.value) ? null : mapEntries(ctx, entry.value, field, 'an image name or a map of region to image');
  const image = entries
    ? entries.map((item) => `${item.key}=${readString(ctx, item.value, `${field}.${item.key}`) ?? ''}`).join(', ')
    : readString(ctx, entry.value, field);
  if (image === null) return;
  partial.imageId = image;
  use(ctx, partial, 'image_id', 'image', field, entry, image);
};

const readMaxCost: Reader = (ctx, entry, field, partial) => {
  const value = isScalar(entry.value) ? entry.value.value : undefined;
  if (typeof value === 'number' && value > 0) readOtherAny(ctx, entry, field, partial);
  else addIssue(ctx, field, entry.value, 'must be a positive number (dollars per hour)', { value: plainValue(ctx, entry.value), accepted: 'a positive number' });
};

const readResourceVolumes: Reader = (ctx, entry, field, partial) => {
  const value = entry.value;
  if (!isSeq(value)) {
    addIssue(ctx, field, value, 'must be a list of disks', { value: plainValue(ctx, value), accepted: 'a list of disk specs' });
    return;
  }
  use(ctx, partial, entry.key, 'volume', field, entry, `${value.items.length} disk(s)`);
};

const ignore: Reader = () => undefined;

const READERS: Record<string, Reader> = {
  infra: readInfra,
  accelerators: readAcceleratorField,
  gpus: readAcceleratorField,
  accelerator_args: readOtherMap,
  cpus: readCpusField,
  memory: readMemoryField,
  instance_type: readOtherString,
  use_spot: readSpot,
  job_recovery: readRecovery,
  spot_recovery: readRecovery,
  disk_size: readDiskField,
  ephemeral_storage: readDiskField,
  disk_tier: readOtherString,
  network_tier: readOtherString,
  local_disk: readOtherString,
  max_hourly_cost: readMaxCost,
  ports: readPortsField,
  labels: readLabels,
  image_id: readImage,
  autostop: readOtherAny,
  volumes: readResourceVolumes,
  priority: readOtherAny,
  priority_class: readOtherString,
  _no_missing_accel_warnings: ignore,
};

/** `cloud` / `region` / `zone`, the older spelling of `infra`. */
function readLocation(ctx: ParseContext, entries: Entry[], prefix: string, partial: PartialResources): void {
  const parts = new Map<string, { value: string | null; entry: Entry }>();
  for (const entry of entries) {
    if (['cloud', 'region', 'zone'].includes(entry.key)) {
      parts.set(entry.key, { value: readString(ctx, entry.value, `${prefix}.${entry.key}`), entry });
    }
  }
  const first = parts.get('cloud') ?? parts.get('region') ?? parts.get('zone');
  if (!first) return;
  if (partial.written.has('infra')) {
    addIssue(ctx, `${prefix}.${first.entry.key}`, first.entry.keyNode, '`cloud`/`region`/`zone` and `infra` say the same thing; give only `infra` (e.g. aws/us-east-1)', { value: first.entry.key });
    return;
  }
  if ([...parts.values()].some((part) => part.value === null)) return;
  const infra = foldCloudRegionZone(parts.get('cloud')?.value ?? null, parts.get('region')?.value ?? null, parts.get('zone')?.value ?? null);
  applyInfra(ctx, partial, infra, `${prefix}.${first.entry.key}`, first.entry);
}

/** Reads one resources map's fields (keys already checked against the allowed list). */
export function readPartial(ctx: ParseContext, entries: Entry[], prefix: string): PartialResources {
  const partial = emptyPartial();
  partial.acceleratorsField = `${prefix}.accelerators`;
  for (const entry of entries) {
    const reader = READERS[entry.key];
    if (reader) reader(ctx, entry, `${prefix}.${entry.key}`, partial);
  }
  readLocation(ctx, entries, prefix, partial);
  return partial;
}
