// Reads `envs` and `secrets`: maps of variable names to values. Numbers and booleans become their
// written text (`0.000001` stays `0.000001`). A null value marks a required variable that the
// submitter must give (`--env NAME=VALUE` / `--secret NAME=VALUE`); overrides replace file values
// and may add names the file does not declare. An empty string is a value, not a missing one.
// Bounds: a file's `envs` or `secrets` holds at most MAX_FILE_VARIABLES entries, and a task at most
// MAX_VARIABLES of each once the command line's are added (secret masking scales with the count).
// Invariant: a secret's value never appears in an issue's message or value, nor in a feature.

import { isMap, isScalar, isSeq, type Node } from 'yaml';
import { addFeature, addIssue, mapEntries, plainValue, scalarText, seqItems, type ParseContext } from './context.js';

const NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Entries of the `envs` or `secrets` map (or list) written in one task. */
export const MAX_FILE_VARIABLES = 1000;
/** Envs, or secrets, of one task with those given by --env / --secret. */
export const MAX_VARIABLES = 5000;
/**
 * Longest value, in UTF-16 code units: an env value must fit one exec string (the kernel's 128 KiB
 * MAX_ARG_STRLEN), and a secret is masked in every log read (the matcher's size grows with the
 * values), so secrets are kept to what a key or token needs, and to MAX_SECRET_TOTAL together.
 */
export const MAX_VALUE_LENGTH = { envs: 65_536, secrets: 16_384 } as const;
export const MAX_SECRET_TOTAL = 262_144;

interface VariableKind {
  field: 'envs' | 'secrets';
  flag: '--env' | '--secret';
  secret: boolean;
}

const ENVS: VariableKind = { field: 'envs', flag: '--env', secret: false };
const SECRETS: VariableKind = { field: 'secrets', flag: '--secret', secret: true };

function valueOf(ctx: ParseContext, kind: VariableKind, node: Node | null, field: string): string | null | undefined {
  if (node === null || (isScalar(node) && node.value === null)) return null;
  if (isScalar(node) && ['string', 'number', 'boolean'].includes(typeof node.value)) return scalarText(node);
  const shown = kind.secret ? {} : { value: plainValue(ctx, node) };
  addIssue(ctx, field, node, 'must be a string, a number or a boolean (or empty, to require it at submission)', { ...shown, accepted: 'a string, number or boolean' });
  return undefined;
}

/** Declared values: name → value, null for "must be given at submission". */
function readDeclared(ctx: ParseContext, kind: VariableKind, node: Node | null): Map<string, { value: string | null; node: Node }> {
  const declared = new Map<string, { value: string | null; node: Node }>();
  if (node === null || (isScalar(node) && node.value === null)) return declared;
  const count = isMap(node) || isSeq(node) ? node.items.length : 0;
  if (count > MAX_FILE_VARIABLES) {
    addIssue(ctx, kind.field, node, `has ${count} entries; at most ${MAX_FILE_VARIABLES} are accepted`, { value: count, accepted: `at most ${MAX_FILE_VARIABLES} entries` });
    return declared;
  }
  if (kind.secret && isSeq(node)) return readSecretNames(ctx, node, declared);
  if (kind.secret && !isMap(node)) {
    addIssue(ctx, kind.field, node, 'must be a map of names to values, or a list of secret names', { accepted: 'a map of names to values' });
    return declared;
  }
  for (const entry of mapEntries(ctx, node, kind.field, 'a map of variable names to values') ?? []) {
    const field = `${kind.field}.${entry.key}`;
    if (!NAME_PATTERN.test(entry.key)) {
      addIssue(ctx, field, entry.keyNode, 'is not a valid variable name (letters, digits and _, not starting with a digit)', { value: entry.key, accepted: 'a name like MY_VAR' });
      continue;
    }
    const value = valueOf(ctx, kind, entry.value, field);
    if (value !== undefined) declared.set(entry.key, { value, node: entry.keyNode });
  }
  return declared;
}

/** `secrets: [NAME, ...]`: references to secrets stored elsewhere; recorded as feature 'other'. */
function readSecretNames(ctx: ParseContext, node: Node, declared: Map<string, { value: string | null; node: Node }>): typeof declared {
  for (const item of seqItems(ctx, node, 'secrets', 'a map of names to values, or a list of secret names') ?? []) {
    if (isScalar(item) && typeof item.value === 'string') declared.set(item.value, { value: null, node: item });
    else addIssue(ctx, 'secrets', item, 'a list of secrets must hold names only', { accepted: 'secret names' });
  }
  addFeature(ctx, 'other', 'secrets', node, 'references to stored secrets');
  return declared;
}

function resolve(ctx: ParseContext, kind: VariableKind, declared: ReturnType<typeof readDeclared>, overrides: Record<string, string>): Record<string, string> {
  const values: Record<string, string> = {};
  for (const [name, { value, node }] of declared) {
    const given = Object.hasOwn(overrides, name) ? overrides[name] : undefined;
    if (given !== undefined) values[name] = given;
    else if (value !== null) values[name] = value;
    else {
      addIssue(ctx, `${kind.field}.${name}`, node, `has no value in the file; pass ${kind.flag} ${name}=VALUE`, { accepted: `a value given with ${kind.flag} ${name}=VALUE` });
    }
  }
  const added = Object.keys(overrides).filter((name) => !declared.has(name)).length;
  if (declared.size + added > MAX_VARIABLES) {
    const accepted = `at most ${MAX_VARIABLES} ${kind.field} in the file and ${kind.flag} together`;
    addIssue(ctx, kind.field, 'command line', `${declared.size + added} ${kind.field} in the file and ${kind.flag}; ${accepted} are accepted`, { value: declared.size + added, accepted });
    return values;
  }
  for (const [name, value] of Object.entries(overrides)) {
    if (declared.has(name)) continue;
    if (NAME_PATTERN.test(name)) values[name] = value;
    else addIssue(ctx, `${kind.field}.${name}`, 'command line', `${kind.flag} ${name}: not a valid variable name`, { accepted: 'a name like MY_VAR' });
  }
  checkLengths(ctx, kind, values, (name) => (Object.hasOwn(overrides, name) ? 'command line' : declared.get(name)?.node));
  return values;
}

/** Refuses values past MAX_VALUE_LENGTH (and secrets past MAX_SECRET_TOTAL), naming only their length. */
function checkLengths(ctx: ParseContext, kind: VariableKind, values: Record<string, string>, whereOf: (name: string) => Node | 'command line' | undefined): void {
  const max = MAX_VALUE_LENGTH[kind.field];
  let total = 0;
  for (const [name, value] of Object.entries(values)) {
    total += value.length;
    if (value.length > max) {
      addIssue(ctx, `${kind.field}.${name}`, whereOf(name), `is ${value.length} characters long; at most ${max} are accepted`, { value: value.length, accepted: `at most ${max} characters` });
    }
  }
  if (kind.secret && total > MAX_SECRET_TOTAL) {
    addIssue(ctx, 'secrets', 'command line', `hold ${total} characters together; at most ${MAX_SECRET_TOTAL} are accepted`, { value: total, accepted: `at most ${MAX_SECRET_TOTAL} characters in all secrets` });
  }
}

export function readEnvs(ctx: ParseContext, node: Node | null, overrides: Record<string, string>): Record<string, string> {
  return resolve(ctx, ENVS, readDeclared(ctx, ENVS, node), overrides);
}

export function readSecrets(ctx: ParseContext, node: Node | null, overrides: Record<string, string>): Record<string, string> {
  return resolve(ctx, SECRETS, readDeclared(ctx, SECRETS, node), overrides);
}
