// Parses a task file (SkyPilot's task YAML plus stint's scheduling keys) into normalised TaskSpecs.
// Pure: text in, TaskFile out, no I/O. A file is one task, or a pipeline of several documents
// separated by `---`; the first document of a multi-document file is the pipeline's header when it
// holds only name / execution / primary_tasks / termination_delay. More than one task records the
// feature 'pipeline' on every task, as do the header's execution keys.
// Invariant: either every issue in the file is reported in one StintError('INVALID_SPEC') with
// line:col, or a TaskFile with at least one task is returned. Secret values never reach an error.

import { LineCounter, parseAllDocuments, type Document, type Node } from 'yaml';
import { describeIssues, StintError, type FieldIssue } from '../errors.js';
import { isNullNode, knownEntries, mapEntries, posOf, readString, seqItems, type Entry, type ParseContext } from './context.js';
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

function context(doc: Document, lineCounter: LineCounter, issues: FieldIssue[]): ParseContext {
  return { doc, lineCounter, issues, features: [] };
}

/**
 * A YAML error as an issue: its first line, without the code frame or the quoted source text that
 * some messages end with after ": " (either could quote a secret); the position says where.
 */
function yamlIssue(error: { message: string; linePos?: [{ line: number; col: number }, ...unknown[]] }): FieldIssue {
  const firstLine = (error.message.split('\n')[0] ?? '').replace(/ at line \d+, column \d+:?\s*$/, '');
  const message = firstLine.split(': ')[0] ?? firstLine;
  const pos = error.linePos?.[0];
  return { field: '(yaml)', message: `invalid YAML: ${message}`, line: pos?.line ?? 1, col: pos?.col ?? 1, accepted: 'a YAML map of task fields' };
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

function refuse(found: FieldIssue[], fileName: string | undefined): never {
  const issues = inFileOrder(found);
  const subject = fileName ?? 'the task file';
  const count = issues.length === 1 ? 'a problem' : `${issues.length} problems`;
  throw new StintError('INVALID_SPEC', `${subject} has ${count}:\n${describeIssues(issues)}`, { issues });
}

function withPipeline(tasks: TaskSpec[], shared: FeatureUse[]): TaskSpec[] {
  if (shared.length === 0) return tasks;
  return tasks.map((task) => ({
    ...task,
    features: [...shared.map((use) => ({ ...use, pos: { ...use.pos } })), ...task.features],
  }));
}

export function parseTaskFile(text: string, opts: ParseOptions = {}): TaskFile {
  const lineCounter = new LineCounter();
  const docs = [...parseAllDocuments(text, { lineCounter, prettyErrors: true })];
  const issues: FieldIssue[] = docs.flatMap((doc) => doc.errors.map((error) => yamlIssue(error)));
  if (issues.length > 0) refuse(issues, opts.fileName);
  const filled = docs.filter((doc) => doc.contents !== null);
  const first = filled[0];
  if (!first) refuse([{ field: '(file)', message: 'holds no task: write at least `run: <command>`', line: 1, col: 1 }], opts.fileName);
  const headerCtx = context(first, lineCounter, issues);
  const hasHeader = filled.length > 1 && isHeader(headerCtx, first.contents as Node);
  const header = hasHeader ? readHeader(headerCtx, first.contents as Node) : null;
  const taskDocs = hasHeader ? filled.slice(1) : filled;
  const overrides: Overrides = { envOverrides: opts.envOverrides ?? {}, secretOverrides: opts.secretOverrides ?? {} };
  const tasks = taskDocs.map((doc) => readTask(context(doc, lineCounter, issues), doc.contents as Node, overrides));
  if (issues.length > 0) refuse(issues, opts.fileName);
  const shared = [...(header?.features ?? [])];
  if (tasks.length > 1) shared.unshift(pipelineFeature(headerCtx, taskDocs, tasks));
  return { name: header ? header.name : (tasks[0]?.name ?? null), tasks: withPipeline(tasks, shared) };
}
