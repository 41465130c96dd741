// The server's configuration file (`stint server --config FILE`): which backends to run, in the
// order the scheduler tries them for a task without `infra`. Read and validated once at start;
// every problem names the file, the field path (backends[1].workdir), its line and the value, and
// says what is accepted. Without a file the server runs one local backend named `local`.
// Always: backend names are unique; at most one local backend (it owns this machine's GPUs).

import { readFileSync } from 'node:fs';
import { isMap, isSeq, LineCounter, parseDocument, type Document } from 'yaml';
import { z } from 'zod';
import { describeIssues, StintError, type FieldIssue } from '../core/errors.js';

const NAME = /^[a-z][a-z0-9-]{0,31}$/;

const LocalBackendSchema = z.strictObject({
  name: z.string().regex(NAME, 'must be lower-case letters, digits and dashes, starting with a letter (at most 32)'),
  type: z.literal('local'),
  gpus: z.string().optional(),
  /** false: `image_id` is refused on this backend; default: podman is used when it is found. */
  containers: z.boolean().optional(),
  /** The OCI runtime podman uses (absolute path); default: runc, else crun, found in the usual places. */
  container_runtime: z.string().regex(/^\//, 'must be an absolute path').optional(),
});

export type LocalBackendConfig = z.infer<typeof LocalBackendSchema>;

/** A backend type: how its section is validated. Creation is the composition root's business. */
export interface BackendType {
  schema: z.ZodType<{ name: string; type: string }>;
}

export interface BackendSection {
  name: string;
  type: string;
  /** The validated section, as the type's schema returned it. */
  config: Record<string, unknown>;
}

export interface ConfigFile {
  path: string;
  backends: BackendSection[];
}

/** Reads and validates a configuration file; `types` maps `type:` values to their schemas. */
export function readConfigFile(path: string, types: Readonly<Record<string, BackendType>>): ConfigFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new StintError('INVALID_REQUEST', `--config ${path}: cannot read it (${(error as NodeJS.ErrnoException).code ?? String(error)})`, { field: '--config', value: path });
  }
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false });
  if (doc.errors.length > 0) {
    const first = doc.errors[0]!;
    const pos = lines.linePos(first.pos[0]);
    fail(path, [{ field: '(yaml)', line: pos.line, col: pos.col, message: first.message.split('\n')[0] ?? 'not valid YAML' }]);
  }
  return { path, backends: readBackends(path, doc, lines, types) };
}

function readBackends(path: string, doc: Document, lines: LineCounter, types: Readonly<Record<string, BackendType>>): BackendSection[] {
  const raw: unknown = doc.toJS();
  const root = raw ?? {};
  if (typeof root !== 'object' || Array.isArray(root)) fail(path, [{ field: '(file)', message: 'must be a mapping with a `backends:` list' }]);
  const unknownKeys = Object.keys(root).filter((key) => key !== 'backends');
  if (unknownKeys.length > 0) fail(path, unknownKeys.map((key) => ({ field: key, ...atKey(doc, lines, key), message: 'is not a configuration key; accepted: backends' })));
  const list = (root as { backends?: unknown }).backends;
  if (!Array.isArray(list) || list.length === 0) fail(path, [{ field: 'backends', ...at(doc, lines, ['backends']), message: 'must be a non-empty list of backends, each with name and type (local, slurm)' }]);
  const issues: FieldIssue[] = [];
  const sections: BackendSection[] = [];
  (list as unknown[]).forEach((item, index) => {
    const type = typeof item === 'object' && item !== null ? (item as { type?: unknown }).type : undefined;
    const kind = typeof type === 'string' ? types[type] : undefined;
    if (!kind) {
      issues.push({ field: `backends[${index}].type`, ...at(doc, lines, ['backends', index, 'type']), value: type as string, message: `must be one of: ${Object.keys(types).join(', ')}` });
      return;
    }
    const parsed = kind.schema.safeParse(item);
    if (!parsed.success) {
      for (const issue of parsed.error.issues) {
        const keys = [index, ...issue.path.map((p) => (typeof p === 'symbol' ? String(p) : p))];
        const value = valueAt(item, issue.path.map((p) => (typeof p === 'symbol' ? String(p) : p)));
        issues.push({ field: fieldPath(['backends', ...keys]), ...at(doc, lines, ['backends', ...keys]), value: value as string, message: issue.message });
      }
      return;
    }
    sections.push({ name: parsed.data.name, type: parsed.data.type, config: parsed.data as Record<string, unknown> });
  });
  if (issues.length > 0) fail(path, issues);
  checkNames(path, doc, lines, sections);
  return sections;
}

function checkNames(path: string, doc: Document, lines: LineCounter, sections: BackendSection[]): void {
  const seen = new Set<string>();
  sections.forEach((section, index) => {
    if (seen.has(section.name)) fail(path, [{ field: `backends[${index}].name`, ...at(doc, lines, ['backends', index, 'name']), value: section.name, message: 'is used by an earlier backend; names must be unique' }]);
    seen.add(section.name);
  });
  const locals = sections.filter((s) => s.type === 'local');
  if (locals.length > 1) fail(path, [{ field: 'backends', message: `declares ${locals.length} local backends (${locals.map((s) => s.name).join(', ')}); at most one, since it owns this machine's GPUs` }]);
}

function fieldPath(keys: ReadonlyArray<string | number>): string {
  return keys.map((key, i) => (typeof key === 'number' ? `[${key}]` : i === 0 ? key : `.${key}`)).join('');
}

function valueAt(item: unknown, path: ReadonlyArray<string | number>): unknown {
  let value = item;
  for (const key of path) value = typeof value === 'object' && value !== null ? (value as Record<string | number, unknown>)[key] : undefined;
  return value;
}

function at(doc: Document, lines: LineCounter, path: ReadonlyArray<string | number>): { line?: number; col?: number } {
  let node: unknown = doc.contents;
  for (const key of path) {
    const inner: unknown = isMap(node) ? node.get(key, true) : isSeq(node) ? node.get(key as number, true) : undefined;
    if (inner === undefined) break;
    node = inner;
  }
  const range = (node as { range?: [number, number, number] } | null)?.range;
  if (!range) return {};
  const pos = lines.linePos(range[0]);
  return { line: pos.line, col: pos.col };
}

/** Where a top-level key itself is written. */
function atKey(doc: Document, lines: LineCounter, key: string): { line?: number; col?: number } {
  const pair = isMap(doc.contents) ? doc.contents.items.find((item) => (item.key as { value?: unknown } | null)?.value === key) : undefined;
  const range = (pair?.key as { range?: [number, number, number] } | null)?.range;
  if (!range) return {};
  const pos = lines.linePos(range[0]);
  return { line: pos.line, col: pos.col };
}

function fail(path: string, issues: FieldIssue[]): never {
  throw new StintError('INVALID_REQUEST', `--config ${path}:\n${describeIssues(issues)}`, { field: '--config', issues });
}

export const localBackendType: BackendType = { schema: LocalBackendSchema };
