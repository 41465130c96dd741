// Turns `resources:` into the task's list of complete resource choices. Each `any_of` / `ordered`
// entry is laid over the base map (an entry's key wins, even when it sets null), then each choice is
// repeated for every accelerator alternative: entries × accelerators, entry-major, in written order.
// `spec.ordered` is true when the file gave a preference order (`ordered:` or an accelerator list).
// Every feature a choice's values imply is recorded once per written field, with `choices` naming
// the indices of the choices that carry it.
// Invariant: the result has at least one choice; a file without `resources` gets one empty choice.

import type { Node } from 'yaml';
import { isFractional, type AcceleratorAlternative } from './accelerators.js';
import { addIssue, knownEntries, mapEntries, posOf, seqItems, type Entry, type ParseContext } from './context.js';
import { BASE_RESOURCE_KEYS, RESOURCE_KEYS } from './keys.js';
import { emptyPartial, readPartial, type Origin, type PartialResources, type PendingUse } from './resource-fields.js';
import type { FeatureUse, ResourceChoice } from './types.js';

export interface ResourcesResult {
  choices: ResourceChoice[];
  ordered: boolean;
}

/** One entry laid over the base: the entry's written keys win. */
function merge(base: PartialResources, entry: PartialResources): PartialResources {
  const merged: PartialResources = {
    ...base,
    written: new Set([...base.written, ...entry.written]),
    uses: new Map(base.uses),
    origins: new Map([...base.origins, ...entry.origins]),
  };
  const take = <K extends keyof PartialResources>(key: K, mergeKey: string): void => {
    if (entry.written.has(mergeKey)) merged[key] = entry[key];
  };
  take('accelerators', 'accelerators');
  take('acceleratorsField', 'accelerators');
  take('cpus', 'cpus');
  take('memoryGb', 'memory');
  take('diskSizeGb', 'disk_size');
  take('useSpot', 'use_spot');
  take('infra', 'infra');
  take('imageId', 'image_id');
  take('ports', 'ports');
  for (const key of entry.written) merged.uses.delete(key);
  for (const [key, pending] of entry.uses) merged.uses.set(key, pending);
  return merged;
}

function toChoice(partial: PartialResources, alternative: AcceleratorAlternative | null): ResourceChoice {
  return {
    accelerator: alternative ? { ...alternative.request } : null,
    cpus: partial.cpus,
    memoryGb: partial.memoryGb,
    diskSizeGb: partial.diskSizeGb,
    useSpot: partial.useSpot,
    infra: partial.infra,
    imageId: partial.imageId,
    ports: [...partial.ports],
    origins: {
      ...(alternative ? { accelerator: { field: partial.acceleratorsField, pos: alternative.pos } } : {}),
      ...originOf(partial, 'cpus', 'cpus', partial.cpus),
      ...originOf(partial, 'memoryGb', 'memory', partial.memoryGb),
      ...originOf(partial, 'infra', 'infra', partial.infra),
    },
  };
}

function originOf(partial: PartialResources, key: 'cpus' | 'memoryGb' | 'infra', mergeKey: string, value: unknown): Record<string, Origin> {
  const origin = partial.origins.get(mergeKey);
  return origin && value !== null ? { [key]: { field: origin.field, pos: { ...origin.pos } } } : {};
}

/** Collects pending feature uses per (feature, field, position), with the choices that carry them. */
class UseCollector {
  private readonly byKey = new Map<string, FeatureUse & { choices: number[] }>();

  add(pending: PendingUse, choice: number): void {
    const key = `${pending.feature}|${pending.field}|${pending.pos.line}:${pending.pos.col}`;
    const known = this.byKey.get(key);
    if (known) known.choices.push(choice);
    else this.byKey.set(key, { ...pending, pos: { ...pending.pos }, choices: [choice] });
  }

  uses(): FeatureUse[] {
    return [...this.byKey.values()];
  }
}

function fractionalUse(partial: PartialResources, alternative: AcceleratorAlternative): PendingUse {
  return { feature: 'fractional_gpu', field: partial.acceleratorsField, pos: alternative.pos, detail: alternative.text };
}

/** Expands partials into choices, recording the features each choice carries. */
function expand(ctx: ParseContext, partials: PartialResources[]): ResourceChoice[] {
  const choices: ResourceChoice[] = [];
  const collector = new UseCollector();
  for (const partial of partials) {
    const alternatives = partial.accelerators?.alternatives ?? [];
    for (const alternative of alternatives.length > 0 ? alternatives : [null]) {
      const index = choices.length;
      choices.push(toChoice(partial, alternative));
      for (const pending of partial.uses.values()) collector.add(pending, index);
      if (alternative && isFractional(alternative.request)) collector.add(fractionalUse(partial, alternative), index);
    }
  }
  ctx.features.push(...collector.uses());
  return choices;
}

/** The entries of `any_of` or `ordered`, each read as a partial resources map. */
function readAlternatives(ctx: ParseContext, entry: Entry): PartialResources[] {
  const field = `resources.${entry.key}`;
  const items = seqItems(ctx, entry.value, field, 'a list of resource maps') ?? [];
  if (items.length === 0 && entry.value) addIssue(ctx, field, entry.value, 'must list at least one alternative', { value: [] });
  return items.map((item, index) => {
    const prefix = `${field}[${index}]`;
    const entries = mapEntries(ctx, item, prefix, 'a map of resource fields') ?? [];
    for (const nested of entries.filter((candidate) => candidate.key === 'any_of' || candidate.key === 'ordered')) {
      addIssue(ctx, `${prefix}.${nested.key}`, nested.keyNode, '`any_of` and `ordered` cannot be nested inside an alternative', { value: nested.key });
    }
    const allowed = knownEntries(ctx, entries.filter((candidate) => candidate.key !== 'any_of' && candidate.key !== 'ordered'), RESOURCE_KEYS, prefix);
    return readPartial(ctx, allowed, prefix);
  });
}

function checkOrderConflicts(ctx: ParseContext, base: PartialResources, lists: Entry[]): void {
  const [first, second] = lists;
  if (first && second) {
    addIssue(ctx, `resources.${second.key}`, second.keyNode, '`any_of` and `ordered` cannot both be given; use one list of alternatives', { value: second.key });
  }
  const anyOf = lists.find((list) => list.key === 'any_of');
  if (anyOf && base.accelerators?.ordered) {
    addIssue(ctx, base.acceleratorsField, posOf(ctx, anyOf.keyNode), 'an ordered accelerator list cannot be combined with `any_of`; use a map {A100: 1, H100: 1} for "any of"', {
      value: base.accelerators.alternatives.map((alternative) => alternative.text),
    });
  }
}

export function readResources(ctx: ParseContext, node: Node | null): ResourcesResult {
  if (node === null) return { choices: expand(ctx, [emptyPartial()]), ordered: false };
  const entries = mapEntries(ctx, node, 'resources', 'a map of resource fields') ?? [];
  const known = knownEntries(ctx, entries, BASE_RESOURCE_KEYS, 'resources');
  const lists = known.filter((entry) => entry.key === 'any_of' || entry.key === 'ordered');
  const base = readPartial(ctx, known.filter((entry) => !lists.includes(entry)), 'resources');
  checkOrderConflicts(ctx, base, lists);
  const list = lists[0];
  const [alternatives = []] = lists.map((each) => readAlternatives(ctx, each));
  const partials = alternatives.length > 0 ? alternatives.map((alternative) => merge(base, alternative)) : [base];
  const ordered = list?.key === 'ordered' || partials.some((partial) => partial.accelerators?.ordered === true);
  return { choices: expand(ctx, partials), ordered };
}
