// A byte range of a job's log with its secrets masked, for the logs route and the live stream.
// Masking a range on its own would let two adjacent reads each show part of a secret that
// straddles their edge (review finding M7), so the server keeps the overlap: it also reads up to
// maxBytes-1 bytes before and after the range, masks the whole window, and cuts the range out.
//
// Invariants:
// - A character of the range that lies in an occurrence of a secret is masked, even when the
//   occurrence starts before the range or ends after it. Each occurrence that overlaps the
//   range shows as one `<secret>`; one that straddles an edge therefore shows as `<secret>` at
//   the end of the first read and again at the start of the next (the mask may repeat at an edge;
//   no character of the value is ever shown).
// - offset, nextOffset and size always count bytes of the raw log, never of the masked text.
// - While the attempt runs, a tail of the log that is the start of some secret is held back: the
//   chunk ends before it (nextOffset points at it) until the bytes after it arrive and decide, or
//   the attempt ends (a character still being written is held back with it). So a secret still
//   being written is never shown in parts either.
// - A multi-byte character split by a range edge shows as U+FFFD on the range's side (as it does
//   unmasked), or inside `<secret>` when it belongs to a value. The Backend port gives decoded
//   text, so the window's parts are decoded separately; when a character straddles an edge, the
//   window is read again as one piece (whole characters) and the range located in it by
//   comparing texts. Should that comparison fail (invalid UTF-8 right at the edge), the parts are
//   masked as decoded, and a value whose multi-byte character lies exactly on the edge is not
//   recognised there; a port that returned bytes would remove this last case.

import type { AttemptRef, Backend, LogChunk } from '../backends/backend.js';
import { renderMasked, type SecretMatcher } from './secret-mask.js';
import { SECRET_MASK } from './views.js';

const REPLACEMENT = '\uFFFD';

export interface MaskedChunk extends LogChunk {
  /** Bytes held back at the end because they may be the start of a secret (0 when none). */
  heldBack: number;
}

export interface MaskedReadOptions {
  matcher: SecretMatcher;
  /** The attempt has ended: the log will not grow, so nothing is held back. */
  ended: boolean;
}

/** The range and the bytes around it, each decoded on its own. */
interface Parts {
  before: string;
  main: LogChunk;
  after: LogChunk;
  /** The read reached the end of the log (what is past it has not been written yet). */
  atLogEnd: boolean;
}

export async function readMaskedLog(backend: Backend, ref: AttemptRef, offset: number, limit: number, options: MaskedReadOptions): Promise<MaskedChunk> {
  const main = await backend.readLog(ref, offset, limit);
  if (options.matcher.empty || main.text.length === 0) return { ...main, heldBack: 0 };
  const reach = options.matcher.maxBytes - 1;
  const lookStart = Math.max(0, main.offset - reach);
  const before = main.offset > lookStart ? (await backend.readLog(ref, lookStart, main.offset - lookStart)).text : '';
  const after = await backend.readLog(ref, main.nextOffset, reach);
  const read = { before, main, after, atLogEnd: after.nextOffset >= after.size };
  const { parts, partial } = options.ended ? { parts: read, partial: 0 } : await withoutPartialTail(backend, ref, read);
  if (parts.main.text.length === 0) return { ...parts.main, offset: main.offset, heldBack: partial };
  const joined = splitsCharacter(parts) ? await joinedView(backend, ref, lookStart, parts) : null;
  const masked = joined ? await maskJoined(options, parts, joined) : await maskParts(options, parts);
  return { ...masked, heldBack: masked.heldBack + partial };
}

/**
 * A running attempt's log may end inside a character still being written (it shows as U+FFFD):
 * those bytes are held back like a possible start of a secret, so what comes before them is
 * judged without them. Their count is found by decoding the last 1, 2, 3 bytes: the most that
 * still decode to one U+FFFD.
 */
async function withoutPartialTail(backend: Backend, ref: AttemptRef, read: Parts): Promise<{ parts: Parts; partial: number }> {
  const { main } = read;
  if (!read.atLogEnd || read.after.text.length > 0 || !main.text.endsWith(REPLACEMENT)) return { parts: read, partial: 0 };
  let partial = 1;
  for (let bytes = 2; bytes <= 3 && bytes <= main.nextOffset - main.offset; bytes++) {
    if ((await backend.readLog(ref, main.nextOffset - bytes, bytes)).text !== REPLACEMENT) break;
    partial = bytes;
  }
  const end = main.nextOffset - partial;
  const trimmed = { ...main, text: main.text.slice(0, -1), nextOffset: end };
  return { parts: { ...read, main: trimmed, after: { text: '', offset: end, nextOffset: end, size: read.after.size } }, partial };
}

/** The usual case: no character straddles an edge, so before + main + after is the window. */
async function maskParts({ matcher, ended }: MaskedReadOptions, { before, main, after, atLogEnd }: Parts): Promise<MaskedChunk> {
  const coverage = await matcher.cover([before, main.text, after.text]);
  const windowLength = before.length + main.text.length + after.text.length;
  let to = main.text.length;
  let nextOffset = main.nextOffset;
  if (!ended && atLogEnd && coverage.pending > after.text.length) {
    const cut = Math.max(0, windowLength - coverage.pending - before.length);
    nextOffset -= Buffer.byteLength(main.text.slice(cut, to));
    to = cut;
  }
  const text = renderMasked(main.text, coverage.regions, 0, to, before.length);
  return { text, offset: main.offset, nextOffset, size: Math.max(main.size, after.size), heldBack: main.nextOffset - nextOffset };
}

function splitsCharacter({ before, main, after }: Parts): boolean {
  return (before.endsWith(REPLACEMENT) && main.text.startsWith(REPLACEMENT)) || (main.text.endsWith(REPLACEMENT) && after.text.startsWith(REPLACEMENT));
}

/** Where main's text lies in the window decoded whole: main[lead, lead + bodyLength) is window[start, …). */
interface JoinedView {
  window: string;
  start: number;
  /** Main's leading U+FFFDs that stand for the end of a character split at the left edge (0: none). */
  lead: number;
  /** The window index of that character. */
  leadAt: number;
  bodyLength: number;
  /** Main's last U+FFFD stands for the start of a character split at the right edge. */
  trail: boolean;
  /** The window index of that character (= start + bodyLength). */
  tailAt: number;
}

async function joinedView(backend: Backend, ref: AttemptRef, lookStart: number, { before, main, after }: Parts): Promise<JoinedView | null> {
  const window = (await backend.readLog(ref, lookStart, after.nextOffset - lookStart)).text;
  let start = before.length;
  let lead = 0;
  let leadAt = -1;
  if (before.endsWith(REPLACEMENT) && main.text.startsWith(REPLACEMENT)) {
    leadAt = before.length - 1;
    const code = window.codePointAt(leadAt);
    if (!window.startsWith(before.slice(0, -1)) || code === undefined || code === 0xfffd) return null;
    lead = leadingReplacements(main.text);
    start = leadAt + (code > 0xffff ? 2 : 1);
  } else if (!window.startsWith(before)) {
    return null;
  }
  const trail = main.text.endsWith(REPLACEMENT) && after.text.startsWith(REPLACEMENT);
  const bodyLength = main.text.length - lead - (trail ? 1 : 0);
  if (bodyLength <= 0 || !window.startsWith(main.text.slice(lead, lead + bodyLength), start)) return null;
  const tailAt = start + bodyLength;
  const tail = window.codePointAt(tailAt);
  if (trail && (tail === undefined || tail === 0xfffd)) return null;
  return { window, start, lead, leadAt, bodyLength, trail, tailAt };
}

async function maskJoined({ matcher, ended }: MaskedReadOptions, { main, after, atLogEnd }: Parts, view: JoinedView): Promise<MaskedChunk> {
  const { window, start, lead, tailAt } = view;
  const coverage = await matcher.cover(window);
  const { regions } = coverage;
  const size = Math.max(main.size, after.size);
  let bodyEnd = lead + view.bodyLength;
  let trail = view.trail;
  let nextOffset = main.nextOffset;
  const cut = window.length - coverage.pending;
  if (!ended && atLogEnd && coverage.pending > 0 && cut <= tailAt) {
    if (cut < start) return { text: '', offset: main.offset, nextOffset: main.offset, size, heldBack: main.nextOffset - main.offset };
    const splitBytes = trail ? Buffer.byteLength(String.fromCodePoint(window.codePointAt(tailAt)!)) - leadingReplacements(after.text) : 0;
    nextOffset -= Buffer.byteLength(window.slice(cut, tailAt)) + splitBytes;
    bodyEnd = lead + (cut - start);
    trail = false;
  }
  const body = renderMasked(main.text, regions, lead, bodyEnd, start - lead);
  let head = '';
  if (lead > 0) {
    const region = regionAt(regions, view.leadAt);
    head = !region ? main.text.slice(0, lead) : region[1] > start && bodyEnd > lead ? '' : SECRET_MASK;
  }
  let tail = '';
  if (trail) {
    const region = regionAt(regions, tailAt);
    tail = !region ? REPLACEMENT : region[0] < tailAt ? '' : SECRET_MASK;
  }
  return { text: head + body + tail, offset: main.offset, nextOffset, size, heldBack: main.nextOffset - nextOffset };
}

function leadingReplacements(text: string): number {
  let n = 0;
  while (n < text.length && text[n] === REPLACEMENT) n++;
  return n;
}

/** The region [start, end) that holds position `at`, if any (regions are sorted, disjoint). */
function regionAt(regions: readonly number[], at: number): [number, number] | null {
  let low = 0;
  let high = regions.length / 2 - 1;
  while (low <= high) {
    const mid = (low + high) >> 1;
    if (regions[2 * mid + 1]! <= at) low = mid + 1;
    else if (regions[2 * mid]! > at) high = mid - 1;
    else return [regions[2 * mid]!, regions[2 * mid + 1]!];
  }
  return null;
}
