// Reads the Idempotency-Key request header of a submission (IETF draft
// httpapi-idempotency-key-header: an sf-string, e.g. `Idempotency-Key: "8e03978e-40d5"`; a bare
// value of the same characters is taken too). Invariant: a key that reaches the store is 1-255
// printable ASCII characters; anything else is refused with 400 naming the header, never stored.

import type { IncomingHttpHeaders } from 'node:http';
import { StintError } from '../core/errors.js';

export const IDEMPOTENCY_HEADER = 'Idempotency-Key';
/** Set on an answer that returns the job of an earlier submission with the same key. */
export const REPLAYED_HEADER = 'Idempotent-Replayed';
const MAX_KEY_LENGTH = 255;
const ACCEPTED = `1 to ${MAX_KEY_LENGTH} printable ASCII characters, as a quoted string ("…", the draft's form) or bare, e.g. a random UUID`;

/** The key, or undefined when the header is absent. */
export function readIdempotencyKey(headers: IncomingHttpHeaders): string | undefined {
  const raw = headers[IDEMPOTENCY_HEADER.toLowerCase()];
  if (raw === undefined) return undefined;
  if (Array.isArray(raw)) throw invalid(raw.join(', '), 'the header was sent more than once');
  const text = raw.trim();
  const key = text.startsWith('"') ? unquote(text) : text;
  if (key === null) throw invalid(raw, 'a quoted key must end with its quote and escape only \\" and \\\\');
  if (key.length === 0) throw invalid(raw, 'the key is empty');
  if (key.length > MAX_KEY_LENGTH) throw invalid(raw, `the key is ${key.length} characters long`);
  if (!/^[\x20-\x7e]+$/.test(key)) throw invalid(raw, 'the key holds a character that is not printable ASCII');
  return key;
}

/** An RFC 8941 sf-string's value; null when it is not one. */
function unquote(text: string): string | null {
  let value = '';
  for (let i = 1; i < text.length; i++) {
    const c = text[i]!;
    if (c === '\\') {
      const next = text[++i];
      if (next !== '"' && next !== '\\') return null;
      value += next;
    } else if (c === '"') {
      return i === text.length - 1 ? value : null;
    } else {
      value += c;
    }
  }
  return null;
}

function invalid(value: string, why: string): StintError {
  const shown = value.length > 80 ? `${value.slice(0, 77)}...` : value;
  return new StintError('INVALID_REQUEST', `${IDEMPOTENCY_HEADER} header: ${why}; accepted: ${ACCEPTED}`, {
    field: IDEMPOTENCY_HEADER, value: shown, accepted: ACCEPTED,
  });
}
