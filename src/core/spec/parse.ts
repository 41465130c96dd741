// Parses a task file (SkyPilot's task YAML plus stint's scheduling keys) into normalised TaskSpecs.
// Pure: text in, TaskFile out, no I/O. A file is one task, or a pipeline of several documents
// separated by `---`; the first document of a multi-document file is the pipeline's header when it
// holds only name / execution / primary_tasks / termination_delay. More than one task records the
// feature 'pipeline' on every task, as do the header's execution keys.
// The work one file can cost is bounded before any field is read: at most MAX_TASK_BYTES of text, at
// most MAX_DOCUMENTS documents (composition stops at the one over), and each document walked once
// by document-limits.ts (aliases, duplicate keys, depth); the library's quadratic duplicate-key
// check is off (`uniqueKeys: false`) because that walk does it with a Set.
// Invariant: either every issue in the file (the first MAX_ISSUES of them, and how many more) is
// reported in one StintError('INVALID_SPEC') with line:col, or a TaskFile with at least one task is
// returned. Secret values never reach an error.

import { Composer, LineCounter, Parser, type Document, type Node } from 'yaml';
import { describeIssues, StintError, type FieldIssue } from '../errors.js';
import { isNullNode, knownEntries, mapEntries, MAX_ISSUES, posOf, readString, seqItems, type Entry, type ParseContext } from './context.js';
import { checkDocument, type ExpansionBudget } from './document-limits.js';
import { PIPELINE_HEADER_KEYS } from './keys.js';
import { readTask, type Overrides } from './task.js';
import type { FeatureUse, TaskFile, TaskSpec } from './types.js';

export interface ParseOptions {
  /** Named in the error message. */
  fileName?: string;
  /** `--env NAME=VALUE`: fills required envs, overrides file values, adds new names. */
  envOverrides?: Record<string, string>;
  /** `--secret NAME=VALUE`: the same for secrets. */
  secretOverrides?: Record<string, string>;
}

interface Header {
  name: string | null;
  features: FeatureUse[];
}

/**
 * The largest task text accepted, in UTF-8 bytes. Real task files are a few KiB (the largest of
 * SkyPilot's examples is under 10). The YAML library costs 1-10 µs per byte (garbage is the worst:
 * an error every few bytes), so 256 KiB keeps the worst file to a few seconds of the server's
 * parse worker (server/task-parsing, which refuses past 5 s) and a dry run's answer small.
 */
export const MAX_TASK_BYTES = 256 * 1024;
/** Documents (`---`) in one file: a pipeline of up to 63 tasks and its header. */
export const MAX_DOCUMENTS = 64;

interface FileState {
  lineCounter: LineCounter;
  issues: FieldIssue[];
  overflow: { dropped: number };
  aliases: Map<Document, ReadonlyMap<Node, Node | null>>;
}

function context(doc: Document, state: FileState): ParseContext {
  const aliases = state.aliases.get(doc) ?? new Map<Node, Node | null>();
  return { doc, lineCounter: state.lineCounter, issues: state.issues, features: [], aliases, overflow: state.overflow };
}

/**
 * A YAML error as an issue: its first line, without the code frame or the quoted source text that
 * some messages end with after ": " (either could quote a secret); the position says where.
 */
function yamlIssue(error: { message: string; pos: [number, number] }, lineCounter: LineCounter): FieldIssue {
  const firstLine = (error.message.split('\n')[0] ?? '').replace(/ at line \d+, column \d+:?\s*$/, '');
  const message = firstLine.split(': ')[0] ?? firstLine;
  const pos = lineCounter.linePos(error.pos[0]);
  return { field: '(yaml)', message: `invalid YAML: ${message}`, line: pos.line, col: pos.col, accepted: 'a YAML map of task fields' };
}

/** UTF-8 length of a string, without encoding it (core has no Buffer). */
function utf8Bytes(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    bytes += code < 0x80 ? 1 : code < 0x800 ? 2 : code >= 0xd800 && code < 0xdc00 ? 4 : code >= 0xdc00 && code < 0xe000 ? 0 : 3;
  }
  return bytes;
}

function checkSize(text: string, fileName: string | undefined): void {
  const bytes = text.length > MAX_TASK_BYTES ? text.length : utf8Bytes(text);
  if (bytes <= MAX_TASK_BYTES) return;
  const limit = `${MAX_TASK_BYTES / 1024} KiB`;
  const message = `is ${text.length > MAX_TASK_BYTES ? 'over ' : ''}${Math.ceil(bytes / 1024)} KiB; at most ${limit} is accepted (keep data and long scripts in the workdir)`;
  refuse([{ field: '(file)', message, line: 1, col: 1, value: bytes, accepted: `a task file of at most ${limit}` }], fileName);
}

/** The file's documents, composed one at a time so that composition stops after MAX_DOCUMENTS. */
function readDocuments(text: string, lineCounter: LineCounter, fileName: string | undefined): Document[] {
  const docs: Document[] = [];
  const composer = new Composer({ uniqueKeys: false });
  for (const doc of composer.compose(new Parser(lineCounter.addNewLine).parse(text))) {
    docs.push(doc);
    if (docs.length > MAX_DOCUMENTS) {
      const pos = lineCounter.linePos(doc.range[0]);
      const message = `holds more than ${MAX_DOCUMENTS} documents (separated by ---); at most ${MAX_DOCUMENTS} are accepted`;
      refuse([{ field: '(file)', message, ...pos, accepted: `at most ${MAX_DOCUMENTS} documents` }], fileName);
    }
  }
  return docs;
}

function isHeader(ctx: ParseContext, node: Node): boolean {
  const entries = mapEntries({ ...ctx, issues: [] }, node, '(header)');
  return entries !== null && entries.every((entry) => (PIPELINE_HEADER_KEYS as readonly string[]).includes(entry.key));
}

/** The pipeline header: its name, and its job-group keys recorded as feature 'pipeline'. */
function readHeader(ctx: ParseContext, node: Node): Header {
  const entries = knownEntries(ctx, mapEntries(ctx, node, '(header)') ?? [], PIPELINE_HEADER_KEYS, '');
  let name: string | null = null;
  for (const entry of entries) {
    if (entry.key === 'name') name = isNullNode(entry.value) ? null : readString(ctx, entry.value, 'name', true);
    else if (checkHeaderValue(ctx, entry)) ctx.features.push({ feature: 'pipeline', field: entry.key, pos: entry.pos, detail: String(entry.value?.toJSON()) });
  }
  return { name, features: ctx.features };
}

function checkHeaderValue(ctx: ParseContext, entry: Entry): boolean {
  if (entry.key === 'primary_tasks') return seqItems(ctx, entry.value, entry.key, 'a list of task names') !== null;
  if (entry.key === 'execution') return readString(ctx, entry.value, entry.key) !== null;
  return true;
}

function pipelineFeature(ctx: ParseContext, taskDocs: Document[], tasks: TaskSpec[]): FeatureUse {
  const second = taskDocs[1]?.contents as Node | null | undefined;
  const names = tasks.map((task, index) => task.name ?? `task ${index + 1}`);
  return { feature: 'pipeline', field: '(pipeline)', pos: posOf(ctx, second ?? null), detail: `${tasks.length} tasks: ${names.join(', ')}` };
}

/** Issues in reading order; those about command-line values (no line) last. */
function inFileOrder(issues: FieldIssue[]): FieldIssue[] {
  const key = (issue: FieldIssue) => (issue.line ?? Infinity) * 1e6 + (issue.col ?? 0);
  return [...issues].sort((a, b) => key(a) - key(b));
}

function refuse(found: FieldIssue[], fileName: string | undefined, dropped = 0): never {
  const sorted = inFileOrder(found);
  const issues = sorted.slice(0, MAX_ISSUES);
  const more = dropped + sorted.length - issues.length;
  const subject = fileName ?? 'the task file';
  const total = issues.length + more;
  const count = total === 1 ? 'a problem' : `${total} problems`;
  const tail = more > 0 ? `\n... and ${more} more not shown` : '';
  throw new StintError('INVALID_SPEC', `${subject} has ${count}:\n${describeIssues(issues)}${tail}`, more > 0 ? { issues, notShown: more } : { issues });
}

function withPipeline(tasks: TaskSpec[], shared: FeatureUse[]): TaskSpec[] {
  if (shared.length === 0) return tasks;
  return tasks.map((task) => ({
    ...task,
    features: [...shared.map((use) => ({ ...use, pos: { ...use.pos } })), ...task.features],
  }));
}

export function parseTaskFile(text: string, opts: ParseOptions = {}): TaskFile {
  checkSize(text, opts.fileName);
  const lineCounter = new LineCounter();
  const docs = readDocuments(text, lineCounter, opts.fileName);
  const state: FileState = { lineCounter, issues: [], overflow: { dropped: 0 }, aliases: new Map() };
  const { issues } = state;
  const errors = docs.flatMap((doc) => doc.errors);
  // A file of garbage has an error every few bytes: only those shown are turned into issues.
  for (const error of errors.slice(0, MAX_ISSUES)) issues.push(yamlIssue(error, lineCounter));
  if (issues.length > 0) refuse(issues, opts.fileName, errors.length - issues.length);
  const budget: ExpansionBudget = { remainingBytes: MAX_TASK_BYTES, limitBytes: MAX_TASK_BYTES, aliases: 0 };
  for (const doc of docs) {
    const check = checkDocument(doc, lineCounter, budget);
    state.aliases.set(doc, check.aliases);
    for (const issue of check.issues) issues.push(issue);
  }
  if (issues.length > 0) refuse(issues, opts.fileName);
  const filled = docs.filter((doc) => doc.contents !== null);
  const first = filled[0];
  if (!first) refuse([{ field: '(file)', message: 'holds no task: write at least `run: <command>`', line: 1, col: 1 }], opts.fileName);
  const headerCtx = context(first, state);
  const hasHeader = filled.length > 1 && isHeader(headerCtx, first.contents as Node);
  const header = hasHeader ? readHeader(headerCtx, first.contents as Node) : null;
  const taskDocs = hasHeader ? filled.slice(1) : filled;
  const overrides: Overrides = { envOverrides: opts.envOverrides ?? {}, secretOverrides: opts.secretOverrides ?? {} };
  const tasks = taskDocs.map((doc) => readTask(context(doc, state), doc.contents as Node, overrides));
  if (issues.length > 0) refuse(issues, opts.fileName, state.overflow.dropped);
  const shared = [...(header?.features ?? [])];
  if (tasks.length > 1) shared.unshift(pipelineFeature(headerCtx, taskDocs, tasks));
  return { name: header ? header.name : (tasks[0]?.name ?? null), tasks: withPipeline(tasks, shared) };
}
