// Secret masking in one pass: an Aho-Corasick automaton over a job's secret values finds every
// occurrence of every value in one scan of the text, so the cost is the text's length (plus the
// occurrences), not secrets × length as one replaceAll per secret was (review finding M6). The
// scan yields to the event loop every SLICE characters, so a 16 MB log with 5,000 secrets never
// blocks the server. Invariants: every character covered by an occurrence of a value of at least
// MIN_MASKED_LENGTH characters is masked (overlapping occurrences become one mask); nothing else
// changes; the automaton of a set of values is built once and kept (a job's secrets never change).
// The scan also reports the longest suffix of the text that is the start of some value, which is
// what a reader of a growing log must hold back (src/server/masked-log.ts).

import { createHash } from 'node:crypto';
import { SECRET_MASK } from './views.js';

/** Secret values shorter than this are left alone: masking them would garble ordinary output. */
export const MIN_MASKED_LENGTH = 4;

/** Characters scanned between two yields to the event loop. */
const SLICE = 64 * 1024;
/** Patterns added to the trie, or nodes linked, between two yields while building. */
const BUILD_SLICE = 500;
const LINK_SLICE = 10_000;
/** Automata kept for reuse (one per distinct set of secret values), and their trie nodes in all. */
const CACHE_MAX = 32;
const CACHE_MAX_NODES = 2_000_000;
/** Edge keys are node * 2^16 + UTF-16 code unit. */
const CODES = 0x10000;

export interface Coverage {
  /** Covered ranges [start, end) of the text, in order, not overlapping (flat: s0, e0, s1, e1, …). */
  regions: number[];
  /** Length of the longest suffix of the text that is a proper start of some value (0: none). */
  pending: number;
}

export class SecretMatcher {
  /** The longest masked value in UTF-8 bytes (0 when nothing is masked). */
  readonly maxBytes: number;
  private readonly rootNext = new Int32Array(CODES).fill(-1);
  private readonly edges = new Map<number, number>();
  private readonly fail: number[] = [0];
  /** Length of the longest value that ends at each node (directly or through its fail links). */
  private readonly out: number[] = [0];
  private readonly depth: number[] = [0];

  private constructor(private readonly values: readonly string[]) {
    this.maxBytes = values.reduce((max, v) => Math.max(max, Buffer.byteLength(v)), 0);
  }

  /** The matcher of a job's secrets (values shorter than MIN_MASKED_LENGTH are ignored). */
  static async of(secrets: Readonly<Record<string, string>>): Promise<SecretMatcher> {
    const values = [...new Set(Object.values(secrets).filter((v) => v.length >= MIN_MASKED_LENGTH))].sort();
    const key = createHash('sha256').update(JSON.stringify(values)).digest('hex');
    const cached = cache.get(key);
    if (cached) {
      cache.delete(key);
      cache.set(key, cached);
      return cached;
    }
    // Concurrent readers of one job share one build (each building its own multiplied the memory).
    const pending = building.get(key);
    if (pending) return pending;
    const build = (async () => {
      const matcher = new SecretMatcher(values);
      await matcher.build();
      cache.set(key, matcher);
      let nodes = 0;
      for (const m of cache.values()) nodes += m.nodes;
      while (cache.size > 1 && (cache.size > CACHE_MAX || nodes > CACHE_MAX_NODES)) {
        const oldest = cache.keys().next().value!;
        nodes -= cache.get(oldest)!.nodes;
        cache.delete(oldest);
      }
      return matcher;
    })().finally(() => building.delete(key));
    building.set(key, build);
    return build;
  }

  /** Trie nodes: what the matcher's memory grows with. */
  get nodes(): number {
    return this.depth.length;
  }

  get empty(): boolean {
    return this.values.length === 0;
  }

  /**
   * Where the values occur in `text`, or in the texts one after the other as if joined (positions
   * count from the start of the first); one pass, yielding between slices.
   */
  async cover(text: string | readonly string[]): Promise<Coverage> {
    const regions: number[] = [];
    let state = 0;
    let base = 0;
    for (const part of typeof text === 'string' ? [text] : text) {
      for (let from = 0; from < part.length; from += SLICE) {
        if (base + from > 0) await yieldToLoop();
        state = this.scan(part, from, Math.min(part.length, from + SLICE), state, base, regions);
      }
      base += part.length;
    }
    return { regions, pending: this.depth[state]! };
  }

  private scan(text: string, from: number, to: number, start: number, base: number, regions: number[]): number {
    let state = start;
    for (let i = from; i < to; i++) {
      state = this.step(state, text.charCodeAt(i));
      const length = this.out[state]!;
      if (length > 0) addRegion(regions, base + i + 1 - length, base + i + 1);
    }
    return state;
  }

  private step(from: number, code: number): number {
    let state = from;
    for (;;) {
      const next = state === 0 ? this.rootNext[code]! : (this.edges.get(state * CODES + code) ?? -1);
      if (next >= 0) return next;
      if (state === 0) return 0;
      state = this.fail[state]!;
    }
  }

  private async build(): Promise<void> {
    const children: number[][] = [[]];
    let inserted = 0;
    for (let p = 0; p < this.values.length; p++) {
      const value = this.values[p]!;
      // Yield every BUILD_SLICE values or SLICE characters, whichever comes first.
      inserted += value.length;
      if (p > 0 && (p % BUILD_SLICE === 0 || inserted >= SLICE)) {
        inserted = value.length;
        await yieldToLoop();
      }
      let node = 0;
      for (let i = 0; i < value.length; i++) {
        const code = value.charCodeAt(i);
        let next = node === 0 ? this.rootNext[code]! : (this.edges.get(node * CODES + code) ?? -1);
        if (next < 0) {
          next = this.depth.length;
          this.depth.push(this.depth[node]! + 1);
          this.out.push(0);
          this.fail.push(0);
          children.push([]);
          children[node]!.push(code, next);
          if (node === 0) this.rootNext[code] = next;
          else this.edges.set(node * CODES + code, next);
        }
        node = next;
      }
      this.out[node] = Math.max(this.out[node]!, value.length);
    }
    await this.linkFailures(children);
  }

  /** Breadth-first: each node's fail link is the longest proper suffix of its path in the trie. */
  private async linkFailures(children: number[][]): Promise<void> {
    const queue: number[] = [];
    for (let i = 0; i < children[0]!.length; i += 2) queue.push(children[0]![i + 1]!);
    for (let head = 0; head < queue.length; head++) {
      if (head > 0 && head % LINK_SLICE === 0) await yieldToLoop();
      const node = queue[head]!;
      const kids = children[node]!;
      for (let i = 0; i < kids.length; i += 2) {
        const code = kids[i]!;
        const child = kids[i + 1]!;
        const link = this.step(this.fail[node]!, code);
        this.fail[child] = link === child ? 0 : link;
        this.out[child] = Math.max(this.out[child]!, this.out[this.fail[child]!]!);
        queue.push(child);
      }
    }
  }
}

const cache = new Map<string, SecretMatcher>();
const building = new Map<string, Promise<SecretMatcher>>();

/** Adds [start, end) to regions whose ends never decrease, merging overlaps. */
function addRegion(regions: number[], start: number, end: number): void {
  let from = start;
  while (regions.length > 0 && from < regions[regions.length - 1]!) {
    from = Math.min(from, regions[regions.length - 2]!);
    regions.length -= 2;
  }
  regions.push(from, end);
}

/**
 * The characters [from, to) of `text` with every covered character masked: each region that
 * overlaps the range becomes one SECRET_MASK, also when it starts before `from` or ends after `to`.
 * `shift`: where `text` starts in the coordinates of the regions (it was scanned after other text).
 */
export function renderMasked(text: string, regions: readonly number[], from = 0, to = text.length, shift = 0): string {
  const parts: string[] = [];
  let at = from;
  for (let i = 0; i < regions.length; i += 2) {
    const start = regions[i]! - shift;
    const end = regions[i + 1]! - shift;
    if (end <= from || start >= to) continue;
    if (start > at) parts.push(text.slice(at, start));
    parts.push(SECRET_MASK);
    at = Math.min(end, to);
  }
  if (at < to) parts.push(text.slice(at, to));
  return parts.join('');
}

/** `text` with every secret value masked (one pass). */
export async function maskSecrets(text: string, secrets: Readonly<Record<string, string>>): Promise<string> {
  const matcher = await SecretMatcher.of(secrets);
  if (matcher.empty || text.length === 0) return text;
  return renderMasked(text, (await matcher.cover(text)).regions);
}

function yieldToLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
