// Reads stint's own scheduling keys: priority, max_runtime, retries, preemptible, project,
// interactive, export_env (carry the submitter's environment, as `stint launch --export-env`). They may
// sit at the top level beside SkyPilot's keys or inside a top-level `stint:` map (which keeps a file
// valid for SkyPilot tools that reject unknown keys). A key given in both places is an error: there
// is no silent precedence. Defaults: priority 0, no runtime limit, preemptible, and
// DEFAULT_RETRY_POLICY (requeue up to 3 times after a preemption or a node failure).
// Bounds: max_runtime at most 365 days, retries at most 100, a backoff at most 7 days, priority
// within MIN_PRIORITY..MAX_PRIORITY; a value beyond is refused with the range, never clamped.

import { isScalar, type Node } from 'yaml';
import { addIssue, knownEntries, mapEntries, plainValue, readBool, readInt, readString, seqItems, type Entry, type ParseContext } from './context.js';
import { RETRY_KEYS, STINT_KEYS } from './keys.js';
import { readDurationSeconds } from './quantities.js';
import { DEFAULT_PRIORITY, MAX_PRIORITY, MIN_PRIORITY, type RetryPolicy } from './types.js';

export const DEFAULT_RETRY_POLICY: Readonly<RetryPolicy> = Object.freeze({
  max: 3,
  on: ['preemption', 'node_failure'] as RetryPolicy['on'],
  exitCodes: [] as number[],
});

export interface StintSettings {
  priority: number;
  maxRuntimeSeconds: number | null;
  retries: RetryPolicy;
  preemptible: boolean;
  project: string | null;
  interactive: boolean;
  exportEnv: boolean;
}

const RETRY_CAUSES = ['preemption', 'node_failure', 'failure'] as const;
const MAX_RETRIES = 100;
/** A year: longer runs are typos, and the queue's start-time estimates stay far inside Date's range. */
export const MAX_RUNTIME_SECONDS = 365 * 86400;
/** A week between retries. */
export const MAX_BACKOFF_SECONDS = 7 * 86400;
const RETRIES_ACCEPTED = 'an integer N (retry N times after preemption or node failure) or {max: N, on: [preemption, node_failure, failure, exit_codes: [..]], backoff: 30s}';

export function defaultSettings(): StintSettings {
  return { priority: DEFAULT_PRIORITY, maxRuntimeSeconds: null, retries: copyPolicy(DEFAULT_RETRY_POLICY), preemptible: true, project: null, interactive: false, exportEnv: false };
}

function copyPolicy(policy: Readonly<RetryPolicy>): RetryPolicy {
  return { max: policy.max, on: [...policy.on], exitCodes: [...policy.exitCodes] };
}

/** `on: [preemption, node_failure, exit_codes: [1, 137]]`: a map item retries failures with those codes. */
function readCauses(ctx: ParseContext, node: Node | null, field: string, codes: number[]): RetryPolicy['on'] | null {
  const items = seqItems(ctx, node, field, `a list of ${RETRY_CAUSES.join(', ')}, exit_codes: [..]`);
  if (items === null) return null;
  const causes: RetryPolicy['on'] = [];
  for (const item of items) {
    if (!isScalar(item)) {
      const inner = knownEntries(ctx, mapEntries(ctx, item, field, 'exit_codes: [..]') ?? [], ['exit_codes'], field);
      const read = inner.length === 1 ? readExitCodes(ctx, inner[0]!.value, `${field}.exit_codes`) : null;
      if (read === null) return null;
      codes.push(...read);
      causes.push('failure');
      continue;
    }
    const value = item.value;
    const cause = RETRY_CAUSES.find((known) => known === value);
    if (cause) causes.push(cause);
    else addIssue(ctx, field, item, `\`${String(plainValue(ctx, item))}\` is not a retry cause`, { value: plainValue(ctx, item), accepted: RETRY_CAUSES.join(', ') });
  }
  return causes.length === items.length ? [...new Set(causes)] : null;
}

function readExitCodes(ctx: ParseContext, node: Node | null, field: string): number[] | null {
  const items = seqItems(ctx, node, field, 'a list of exit codes (0-255)');
  if (items === null) return null;
  const codes = items.map((item) => readInt(ctx, item, field, 0, 255));
  return codes.every((code): code is number => code !== null) ? codes : null;
}

function readRetryMap(ctx: ParseContext, node: Node, field: string): RetryPolicy | null {
  const entries = knownEntries(ctx, mapEntries(ctx, node, field, RETRIES_ACCEPTED) ?? [], RETRY_KEYS, field);
  const byKey = new Map(entries.map((entry) => [entry.key, entry]));
  const maxEntry = byKey.get('max');
  if (!maxEntry) return addIssue(ctx, `${field}.max`, node, 'is required: how many times to retry', { accepted: `an integer from 0 to ${MAX_RETRIES}` });
  const max = readInt(ctx, maxEntry.value, `${field}.max`, 0, MAX_RETRIES);
  const onEntry = byKey.get('on');
  const inline: number[] = [];
  const on = onEntry ? readCauses(ctx, onEntry.value, `${field}.on`, inline) : [...DEFAULT_RETRY_POLICY.on];
  const codesEntry = byKey.get('exit_codes');
  const listed = codesEntry ? readExitCodes(ctx, codesEntry.value, `${field}.exit_codes`) : [];
  const backoffEntry = byKey.get('backoff');
  const backoff = backoffEntry ? readDurationSeconds(ctx, backoffEntry.value, `${field}.backoff`, MAX_BACKOFF_SECONDS) : undefined;
  if (max === null || on === null || listed === null || backoff === null) return null;
  const exitCodes = [...new Set([...listed, ...inline])];
  if (exitCodes.length > 0 && !on.includes('failure') && codesEntry) {
    return addIssue(ctx, `${field}.exit_codes`, codesEntry.keyNode, 'only applies to retries on `failure`; add failure to `on`', { value: exitCodes, accepted: 'exit_codes together with on: [failure]' });
  }
  return backoff === undefined ? { max, on, exitCodes } : { max, on, exitCodes, backoffSeconds: backoff };
}

function readRetries(ctx: ParseContext, node: Node | null, field: string): RetryPolicy | null {
  if (isScalar(node)) {
    const max = readInt(ctx, node, field, 0, MAX_RETRIES);
    return max === null ? null : { max, on: [...DEFAULT_RETRY_POLICY.on], exitCodes: [] };
  }
  return node ? readRetryMap(ctx, node, field) : null;
}

function applyKey(ctx: ParseContext, settings: StintSettings, entry: Entry, field: string): void {
  switch (entry.key) {
    case 'priority':
      settings.priority = readInt(ctx, entry.value, field, MIN_PRIORITY, MAX_PRIORITY) ?? settings.priority;
      return;
    case 'max_runtime':
      settings.maxRuntimeSeconds = readDurationSeconds(ctx, entry.value, field, MAX_RUNTIME_SECONDS);
      return;
    case 'retries':
      settings.retries = readRetries(ctx, entry.value, field) ?? settings.retries;
      return;
    case 'preemptible':
      settings.preemptible = readBool(ctx, entry.value, field) ?? settings.preemptible;
      return;
    case 'interactive':
      settings.interactive = readBool(ctx, entry.value, field) ?? settings.interactive;
      return;
    case 'export_env':
      settings.exportEnv = readBool(ctx, entry.value, field) ?? settings.exportEnv;
      return;
    case 'project': {
      const project = readString(ctx, entry.value, field, true);
      if (project !== null && project.trim() === '') addIssue(ctx, field, entry.value, 'must not be empty', { value: project, accepted: 'a project name' });
      else settings.project = project;
      return;
    }
  }
}

/** stint's keys from the top-level entries and from the `stint:` map among them. */
export function readStintSettings(ctx: ParseContext, topLevel: Entry[]): StintSettings {
  const settings = defaultSettings();
  const direct = topLevel.filter((entry) => (STINT_KEYS as readonly string[]).includes(entry.key));
  const block = topLevel.find((entry) => entry.key === 'stint');
  const nested = block ? knownEntries(ctx, mapEntries(ctx, block.value, 'stint', `a map of ${STINT_KEYS.join(', ')}`) ?? [], STINT_KEYS, 'stint') : [];
  for (const entry of nested) {
    const twin = direct.find((candidate) => candidate.key === entry.key);
    if (twin) {
      addIssue(ctx, `stint.${entry.key}`, entry.keyNode, `is also given at the top level (line ${twin.pos.line}); give it in one place only`, { value: entry.key });
    }
  }
  for (const entry of direct) applyKey(ctx, settings, entry, entry.key);
  for (const entry of nested) applyKey(ctx, settings, entry, `stint.${entry.key}`);
  return settings;
}
