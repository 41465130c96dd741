// Walks one composed YAML document once, before any field is read, and keeps reading it linear in
// the size of the text: it finds every alias's target through an anchor map (the YAML library's
// own lookup walks the whole document per alias), checks map keys for duplicates with a Set (the
// library's check, turned off in parse.ts, re-scans every earlier key per key), and refuses nesting
// deeper than MAX_DEPTH, more than MAX_ALIASES aliases, aliases that contain themselves, and
// aliases whose expansion would exceed the file's expansion budget (a "billion laughs" or one big
// scalar repeated thousands of times).
// Invariants: each node is visited once; an alias resolves to the last node with its anchor that
// precedes it in document order (as the YAML library resolves it); a duplicate key gets the same
// issue the library gave ("invalid YAML: Map keys must be unique" at the repeated key).

import { isAlias, isMap, isScalar, isSeq, type Document, type LineCounter, type Node, type Pair } from 'yaml';
import type { FieldIssue } from '../errors.js';

/** Deeper nesting than this is refused; no task field needs more than a handful of levels. */
export const MAX_DEPTH = 64;
/** Aliases (`*name`) in one file; real task files use a few to share an env block. */
export const MAX_ALIASES = 1000;

/** Shared by every document of one file: how much more aliases may expand the file. */
export interface ExpansionBudget {
  /** Bytes (of source text, counting each aliased node's text once per use) still allowed. */
  remainingBytes: number;
  readonly limitBytes: number;
  aliases: number;
}

export interface DocumentCheck {
  /** Each alias node → the node it names (null when no anchor precedes it). */
  aliases: Map<Node, Node | null>;
  issues: FieldIssue[];
}

const ACCEPTED = 'a YAML map of task fields';

class Walker {
  readonly aliases = new Map<Node, Node | null>();
  readonly issues: FieldIssue[] = [];
  private readonly anchors = new Map<string, Node>();
  /** Expanded size of each anchored node once its walk is done; absent while it is being walked. */
  private readonly sizes = new Map<Node, number>();
  private stopped = false;

  constructor(
    private readonly lineCounter: LineCounter,
    private readonly budget: ExpansionBudget,
  ) {}

  private issue(node: Node | null | undefined, message: string, value?: unknown): void {
    const pos = this.lineCounter.linePos(node?.range?.[0] ?? 0);
    const issue: FieldIssue = { field: '(yaml)', message, line: pos.line, col: pos.col, accepted: ACCEPTED };
    if (value !== undefined) issue.value = value;
    this.issues.push(issue);
  }

  private stop(node: Node | null | undefined, message: string): number {
    this.issue(node, message);
    this.stopped = true;
    return 0;
  }

  /** The node's size in bytes as the readers will see it, aliases expanded. */
  walk(node: Node | null | undefined, depth: number): number {
    if (!node || this.stopped) return 0;
    if (depth > MAX_DEPTH) return this.stop(node, `nested deeper than ${MAX_DEPTH} levels; a task file needs only a few`);
    if (isAlias(node)) return this.alias(node);
    if (node.anchor) this.anchors.set(node.anchor, node);
    const size = isMap(node) ? this.map(node.items as Pair<Node | null, Node | null>[], depth) : isSeq(node) ? this.seq(node.items as Node[], depth) : this.scalarSize(node);
    if (node.anchor) this.sizes.set(node, size);
    return size;
  }

  private scalarSize(node: Node): number {
    const range = node.range;
    return range ? Math.max(1, range[1] - range[0]) : 1;
  }

  private seq(items: Node[], depth: number): number {
    let size = 1;
    for (const item of items) size += this.walk(item, depth + 1);
    return size;
  }

  private map(pairs: Pair<Node | null, Node | null>[], depth: number): number {
    const seen = new Set<string>();
    let size = 1;
    for (const pair of pairs) {
      const key = pair.key;
      if (isScalar(key)) {
        const id = `${typeof key.value}:${String(key.value)}`;
        if (seen.has(id)) this.issue(key, 'invalid YAML: Map keys must be unique', typeof key.value === 'string' ? key.value : undefined);
        seen.add(id);
      }
      size += this.walk(key, depth + 1) + this.walk(pair.value, depth + 1);
    }
    return size;
  }

  private alias(node: Node & { source: string }): number {
    this.budget.aliases++;
    if (this.budget.aliases > MAX_ALIASES) return this.stop(node, `more than ${MAX_ALIASES} aliases (*name) in one file`);
    const target = this.anchors.get(node.source) ?? null;
    this.aliases.set(node, target);
    if (target === null) return 1;
    const size = this.sizes.get(target);
    if (size === undefined) return this.stop(node, `alias *${node.source} refers to a map or list that contains it`);
    this.budget.remainingBytes -= size;
    if (this.budget.remainingBytes < 0) {
      return this.stop(node, `aliases expand the file beyond ${Math.round(this.budget.limitBytes / 1024)} KiB (alias *${node.source} repeats ${size} bytes); write the values out or use fewer aliases`);
    }
    return size;
  }
}

/** Checks one document; the budget is shared by the documents of one file. */
export function checkDocument(doc: Document, lineCounter: LineCounter, budget: ExpansionBudget): DocumentCheck {
  const walker = new Walker(lineCounter, budget);
  walker.walk(doc.contents as Node | null, 0);
  return { aliases: walker.aliases, issues: walker.issues };
}
