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
//   the attempt ends. So a secret still being written is never shown in parts either.
// Limit: the Backend port gives decoded text, so the window's three parts are decoded separately
// and a character split by a range edge shows as U+FFFD on both sides (as it does unmasked). A
// value containing a multi-byte character is therefore not recognised by two reads whose edge
// falls inside that very character: each read then shows its side of the value. Values of
// ASCII characters (tokens, keys) are not affected. The fix is a port that returns the bytes
// (mask over bytes, decode after cutting).

import type { AttemptRef, Backend, LogChunk } from '../backends/backend.js';
import { renderMasked, type SecretMatcher } from './secret-mask.js';

export interface MaskedChunk extends LogChunk {
  /** Bytes held back at the end because they may be the start of a secret (0 when none). */
  heldBack: number;
}

export interface MaskedReadOptions {
  matcher: SecretMatcher;
  /** The attempt has ended: the log will not grow, so nothing is held back. */
  ended: boolean;
}

export async function readMaskedLog(backend: Backend, ref: AttemptRef, offset: number, limit: number, options: MaskedReadOptions): Promise<MaskedChunk> {
  const main = await backend.readLog(ref, offset, limit);
  const { matcher } = options;
  if (matcher.empty || main.text.length === 0) return { ...main, heldBack: 0 };
  const reach = matcher.maxBytes - 1;
  const lookStart = Math.max(0, main.offset - reach);
  const before = main.offset > lookStart ? (await backend.readLog(ref, lookStart, main.offset - lookStart)).text : '';
  const after = reach > 0 ? await backend.readLog(ref, main.nextOffset, reach) : { text: '', nextOffset: main.nextOffset, size: main.size };
  const coverage = await matcher.cover([before, main.text, after.text]);
  // Positions in the window before + main + after; the answer is cut from main alone.
  const windowLength = before.length + main.text.length + after.text.length;
  let to = main.text.length;
  let nextOffset = main.nextOffset;
  const atLogEnd = after.nextOffset >= after.size;
  if (!options.ended && atLogEnd && coverage.pending > after.text.length) {
    const cut = Math.max(0, windowLength - coverage.pending - before.length);
    nextOffset -= Buffer.byteLength(main.text.slice(cut, to));
    to = cut;
  }
  return { text: renderMasked(main.text, coverage.regions, 0, to, before.length), offset: main.offset, nextOffset, size: Math.max(main.size, after.size), heldBack: main.nextOffset - nextOffset };
}
