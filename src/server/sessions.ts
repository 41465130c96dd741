// The web UI's session rules: how a session id is made and how long a session lives. A session id
// is 32 random bytes, base64url; it goes only into the stint_session cookie, and the store keeps
// only its SHA-256 hex (hashToken). A session ends SESSION_LIMITS.idleMs after its last use (each
// use moves the end), and SESSION_LIMITS.maxMs after it was made however often it is used; it ends
// at once when it is signed out, its token revoked or its user removed (auth.ts, the store).
// Invariants: the end is never later than createdAt + maxMs; the CSRF token is derived from the
// session id, never from the API token (auth.ts: csrfTokenFor).

import { randomBytes } from 'node:crypto';

export interface SessionLimits {
  /** A session not used for this long has ended. */
  idleMs: number;
  /** A session has ended this long after it was made, used or not. */
  maxMs: number;
}

const HOUR_MS = 3_600_000;
export const SESSION_LIMITS: Readonly<SessionLimits> = Object.freeze({ idleMs: 12 * HOUR_MS, maxMs: 7 * 24 * HOUR_MS });

/** A new session id: 32 random bytes, base64url (43 characters). */
export function newSessionId(): string {
  return randomBytes(32).toString('base64url');
}

/** When a session made at `createdAt` and used at `now` ends. */
export function sessionEnd(createdAt: number, now: number, limits: SessionLimits): number {
  return Math.min(now + limits.idleMs, createdAt + limits.maxMs);
}
