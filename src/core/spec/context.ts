// The state one parse carries through the field readers: where each YAML node sits (line:col), the
// issues found so far and the features recorded for the task being read. Readers never throw: they
// add an issue and return null, so one parse reports every problem in the file at once.
// Invariant: every issue and every feature use has a 1-based line:col from the source text; at most
// MAX_ISSUES issues are kept (the rest are counted in `overflow`), and at most MAX_UNKNOWN_KEYS
// unknown keys are reported per map, so a hostile file cannot make the error itself huge.

import { isAlias, isMap, isScalar, isSeq, type Document, type LineCounter, type Node, type Pair } from 'yaml';
import type { FieldIssue } from '../errors.js';
import type { Feature, FeatureUse, SourcePos } from './types.js';
import { suggestKey } from './keys.js';

export interface ParseContext {
  doc: Document;
  lineCounter: LineCounter;
  issues: FieldIssue[];
  features: FeatureUse[];
  /** Each alias node → the node it names, found once per document (document-limits.ts). */
  aliases: ReadonlyMap<Node, Node | null>;
  /** Shared by every document of the file: issues not kept because MAX_ISSUES were. */
  overflow: { dropped: number };
}

/** Issues kept per file; the message says how many more there were. */
export const MAX_ISSUES = 100;
/** Unknown keys reported one by one per map; the rest are counted in one issue. */
export const MAX_UNKNOWN_KEYS = 20;

/** One `key: value` of a YAML map, with the key already read as a string. */
export interface Entry {
  key: string;
  keyNode: Node;
  /** The value node; a Scalar holding null for `key:` with nothing after it. */
  value: Node | null;
  pos: SourcePos;
}

/** Where an issue is: a node, a position, or 'command line' for values given outside the file. */
export type Where = Node | SourcePos | null | undefined | 'command line';

export function posOf(ctx: ParseContext, where: Exclude<Where, 'command line'>): SourcePos {
  if (!where) return { line: 1, col: 1 };
  if ('line' in where) return where;
  const offset = where.range?.[0] ?? 0;
  return ctx.lineCounter.linePos(offset);
}

export function addIssue(
  ctx: ParseContext,
  field: string,
  where: Where,
  message: string,
  extra: { value?: unknown; accepted?: string } = {},
): null {
  const issue: FieldIssue = where === 'command line' ? { field, message } : { field, message, ...posOf(ctx, where) };
  if ('value' in extra) issue.value = extra.value;
  if (extra.accepted !== undefined) issue.accepted = extra.accepted;
  if (ctx.issues.length >= MAX_ISSUES) ctx.overflow.dropped++;
  else ctx.issues.push(issue);
  return null;
}

export function addFeature(ctx: ParseContext, feature: Feature, field: string, where: Node | SourcePos, detail: string): void {
  ctx.features.push({ feature, field, pos: posOf(ctx, where), detail });
}

/** Follows a YAML alias (`*anchor`) to the node it names, through the document's alias map. */
export function deref(ctx: ParseContext, node: Node | null | undefined): Node | null {
  if (!node) return null;
  if (isAlias(node)) return ctx.aliases.get(node) ?? null;
  return node;
}

export function isNullNode(node: Node | null): boolean {
  return node === null || (isScalar(node) && node.value === null);
}

/** The plain JS value of a node, for an issue's `value`. */
export function plainValue(ctx: ParseContext, node: Node | null): unknown {
  if (!node) return null;
  return node.toJSON(ctx.doc);
}

/** A short, single-line rendering of a value for messages and feature details. */
export function shortText(value: unknown): string {
  const text = typeof value === 'string' ? value : JSON.stringify(value) ?? String(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/** The entries of a map node; an issue (and null) when the node is not a map. */
export function mapEntries(ctx: ParseContext, node: Node | null, field: string, what = 'a map of keys to values'): Entry[] | null {
  const target = deref(ctx, node);
  if (!isMap(target)) {
    return addIssue(ctx, field, target, `must be ${what}`, { value: plainValue(ctx, target), accepted: what });
  }
  const entries: Entry[] = [];
  for (const pair of target.items as Pair<Node | null, Node | null>[]) {
    const keyNode = deref(ctx, pair.key);
    const key = isScalar(keyNode) && keyNode.value !== null ? String(keyNode.value) : null;
    if (key === null || !keyNode) {
      addIssue(ctx, field, keyNode ?? target, 'keys must be plain strings', { value: plainValue(ctx, keyNode) });
      continue;
    }
    entries.push({ key, keyNode, value: deref(ctx, pair.value), pos: posOf(ctx, keyNode) });
  }
  return entries;
}

/** The items of a sequence node, or null (and an issue) when it is not one. */
export function seqItems(ctx: ParseContext, node: Node | null, field: string, what: string): Node[] | null {
  const target = deref(ctx, node);
  if (!isSeq(target)) return addIssue(ctx, field, target, `must be ${what}`, { value: plainValue(ctx, target), accepted: what });
  return target.items.map((item) => deref(ctx, item as Node)).filter((item): item is Node => item !== null);
}

/**
 * Keeps the entries whose key is allowed. The first MAX_UNKNOWN_KEYS other keys each become an
 * "unknown key" issue (the accepted keys listed on the first only); any further ones, one issue.
 */
export function knownEntries(ctx: ParseContext, entries: Entry[], allowed: readonly string[], prefix: string): Entry[] {
  const unknown = entries.filter((entry) => !allowed.includes(entry.key));
  if (unknown.length === 0) return entries;
  const accepted = `one of: ${allowed.filter((key) => !key.startsWith('_')).join(', ')}`;
  unknown.slice(0, MAX_UNKNOWN_KEYS).forEach((entry, index) => {
    const near = suggestKey(entry.key, allowed);
    const hint = near ? `; did you mean \`${near}\`?` : '';
    const field = prefix ? `${prefix}.${entry.key}` : entry.key;
    addIssue(ctx, field, entry.keyNode, `unknown key \`${shortText(entry.key)}\`${hint}`, index === 0 ? { value: entry.key, accepted } : { value: entry.key });
  });
  const rest = unknown.slice(MAX_UNKNOWN_KEYS);
  if (rest.length > 0) {
    addIssue(ctx, prefix || '(task)', rest[0]!.keyNode, `and ${rest.length} more unknown keys (the first at this line)`, { value: rest.length });
  }
  return entries.filter((entry) => allowed.includes(entry.key));
}

/** A scalar string; numbers are accepted as their source text when `fromNumber` is set. */
export function readString(ctx: ParseContext, node: Node | null, field: string, fromNumber = false): string | null {
  if (isScalar(node) && typeof node.value === 'string') return node.value;
  if (fromNumber && isScalar(node) && typeof node.value === 'number') return scalarText(node);
  return addIssue(ctx, field, node, 'must be a string', { value: plainValue(ctx, node), accepted: 'a string' });
}

export function readBool(ctx: ParseContext, node: Node | null, field: string): boolean | null {
  if (isScalar(node) && typeof node.value === 'boolean') return node.value;
  return addIssue(ctx, field, node, 'must be true or false', { value: plainValue(ctx, node), accepted: 'true or false' });
}

/** An integer within [min, max]. */
export function readInt(ctx: ParseContext, node: Node | null, field: string, min: number, max: number): number | null {
  const value = isScalar(node) ? node.value : undefined;
  if (typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max) return value;
  const accepted = max === Number.MAX_SAFE_INTEGER ? `an integer ≥ ${min}` : `an integer from ${min} to ${max}`;
  return addIssue(ctx, field, node, `must be ${accepted}`, { value: plainValue(ctx, node), accepted });
}

/** The text of a scalar as written (so `0.000001` stays `0.000001`, `True` becomes `true`). */
export function scalarText(node: Node): string {
  if (!isScalar(node)) return '';
  const { value } = node;
  if (typeof value === 'string') return value;
  if (typeof value === 'number' && node.source && node.type === 'PLAIN') return node.source;
  return String(value);
}
