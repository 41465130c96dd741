// Reads `accelerators` (or its alias `gpus`) in every form SkyPilot allows:
//   A100 | A100:2 | A100:0.5           one type, count 1 by default, fractions allowed
//   {A100: 1, H100: 1} | {A100:1, H100:1}   a set: any of them will do
//   [A100:1, H100:1]                   a list: an ordered preference
// Invariant: every alternative has a non-empty name and a count in (0, MAX_GPUS_PER_NODE], and remembers where it
// was written, so a fractional count or an unplaceable type can be reported at its own line.

import { isMap, isScalar, isSeq, type Node } from 'yaml';
import { addIssue, deref, mapEntries, plainValue, posOf, type ParseContext } from './context.js';
import type { AcceleratorRequest, SourcePos } from './types.js';

export interface AcceleratorAlternative {
  request: AcceleratorRequest;
  pos: SourcePos;
  /** As written, for messages and feature details. */
  text: string;
}

export interface AcceleratorSpec {
  /** Empty: no accelerator (e.g. `accelerators: null` in an `any_of` entry). */
  alternatives: AcceleratorAlternative[];
  /** true when written as a list (a preference order). */
  ordered: boolean;
}

const ACCEPTED = 'a GPU type with an optional count (A100, A100:2, A100:0.5), a map {A100: 1, H100: 1} (any of), or a list [A100:1, H100:1] (in order of preference)';
const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

function bad(ctx: ParseContext, field: string, node: Node | null, message: string, value: unknown): null {
  return addIssue(ctx, field, node, message, { value, accepted: ACCEPTED });
}

function checkName(ctx: ParseContext, field: string, node: Node, name: string, written: unknown): boolean {
  if (NAME_PATTERN.test(name)) return true;
  bad(ctx, field, node, `\`${name}\` is not a GPU type name (letters, digits, . _ -)`, written);
  return false;
}

/** GPUs of one type on one node; no machine holds more. */
export const MAX_GPUS_PER_NODE = 1024;

function checkCount(ctx: ParseContext, field: string, node: Node, count: number, written: unknown): boolean {
  if (Number.isFinite(count) && count > 0 && count <= MAX_GPUS_PER_NODE) return true;
  const limit = count > MAX_GPUS_PER_NODE ? `at most ${MAX_GPUS_PER_NODE} per node` : 'a positive number (a fraction such as 0.5 shares a GPU)';
  bad(ctx, field, node, `the GPU count must be ${limit}`, written);
  return false;
}

/** `A100`, `A100:2`, `A100:0.5`. */
function fromText(ctx: ParseContext, field: string, node: Node, text: string): AcceleratorAlternative | null {
  const trimmed = text.trim();
  const colon = trimmed.lastIndexOf(':');
  const name = colon < 0 ? trimmed : trimmed.slice(0, colon).trim();
  const countText = colon < 0 ? '1' : trimmed.slice(colon + 1).trim();
  const count = /^[+-]?(\d+(\.\d*)?|\.\d+)$/.test(countText) ? Number(countText) : NaN;
  if (!checkName(ctx, field, node, name, text) || !checkCount(ctx, field, node, count, text)) return null;
  return { request: { name, count }, pos: posOf(ctx, node), text: trimmed };
}

function fromScalar(ctx: ParseContext, field: string, node: Node | null): AcceleratorAlternative | null {
  if (isScalar(node) && typeof node.value === 'string') return fromText(ctx, field, node, node.value);
  return bad(ctx, field, node, `must be ${ACCEPTED}`, plainValue(ctx, node));
}

/** `{A100: 1}` (name → count) or `{A100:1}` (flow-map key holding both, value null). */
function fromMap(ctx: ParseContext, field: string, node: Node): AcceleratorAlternative[] | null {
  const entries = mapEntries(ctx, node, field, ACCEPTED) ?? [];
  const alternatives: AcceleratorAlternative[] = [];
  for (const entry of entries) {
    const raw = entry.value === null ? null : isScalar(entry.value) ? entry.value.value : undefined;
    if (raw === null) {
      const alternative = fromText(ctx, field, entry.keyNode, entry.key);
      if (alternative) alternatives.push(alternative);
      continue;
    }
    if (typeof raw !== 'number' || entry.key.includes(':')) {
      bad(ctx, field, entry.value ?? entry.keyNode, `the count of \`${entry.key}\` must be a number`, plainValue(ctx, entry.value));
      continue;
    }
    if (checkName(ctx, field, entry.keyNode, entry.key, entry.key) && checkCount(ctx, field, entry.value ?? entry.keyNode, raw, raw)) {
      alternatives.push({ request: { name: entry.key, count: raw }, pos: entry.pos, text: `${entry.key}:${raw}` });
    }
  }
  return alternatives.length === entries.length ? alternatives : null;
}

export function readAccelerators(ctx: ParseContext, node: Node | null, field: string): AcceleratorSpec | null {
  const target = deref(ctx, node);
  if (isScalar(target) && target.value === null) return { alternatives: [], ordered: false };
  if (isMap(target)) {
    const alternatives = fromMap(ctx, field, target);
    if (alternatives?.length === 0) return bad(ctx, field, target, `must name at least one GPU type`, {});
    return alternatives ? { alternatives, ordered: false } : null;
  }
  if (isSeq(target)) {
    const items = target.items.map((item) => deref(ctx, item as Node));
    if (items.length === 0) return bad(ctx, field, target, `must name at least one GPU type`, []);
    const alternatives = items.map((item) => fromScalar(ctx, field, item));
    const valid = alternatives.filter((alternative): alternative is AcceleratorAlternative => alternative !== null);
    return valid.length === items.length ? { alternatives: valid, ordered: true } : null;
  }
  const alternative = fromScalar(ctx, field, target);
  return alternative ? { alternatives: [alternative], ordered: false } : null;
}

export function isFractional(request: AcceleratorRequest): boolean {
  return !Number.isInteger(request.count);
}
