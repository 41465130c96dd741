// Authentication: a bearer token, or the web session's cookie holding a session id, becomes the
// calling user. Owns token creation and hashing, starting and ending web sessions (their limits:
// sessions.ts), the resolution cache, the CSRF token of a web session, the limit on failed
// credentials per client address, and single-user bootstrap. Invariants: a token or session id
// is compared and stored only as its SHA-256 hex; a token is never a session id nor the other way
// round (they are looked up in their own tables and cached under their own keys); an unknown,
// revoked or removed user's token, and an ended, expired or unknown session, answers 401
// UNAUTHORIZED; a session ends with its token and its user; an address with too many failures
// answers 429 RATE_LIMITED before the database is asked, except for a credential that resolved
// recently (so an attacker on a shared address cannot lock out the users who are already
// working); a change made through this server (revoke, removal, membership, signing out) empties
// the cache at once and tells the listeners (live log streams re-check their caller), so it takes
// effect on the next request (other servers sharing the database see it within CACHE_TTL_MS); a
// cached session is never honoured past its end.

import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import type { Clock } from '../core/clock.js';
import { StintError } from '../core/errors.js';
import type { BootstrapOutcome, UserRow, UserStore } from '../store/users.js';
import type { Caller } from './access.js';
import { FailureLimiter, RecentSet } from './failure-limiter.js';
import { newSessionId, sessionEnd, SESSION_LIMITS, type SessionLimits } from './sessions.js';

export const CACHE_TTL_MS = 5_000;
const CACHE_MAX = 1_000;
/** The web session's cookie: a session id (never the API token), httpOnly and SameSite=Strict (routes/session.ts). */
export const SESSION_COOKIE = 'stint_session';
export const CSRF_HEADER = 'x-csrf-token';

/** How a request proved who it is. */
export interface Credential {
  /** The API token (bearer) or the session id (cookie). */
  secret: string;
  via: 'bearer' | 'cookie';
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The authenticated caller of a non-public route (set by the app's onRequest hook). */
    user: Caller | null;
    /** The credential the caller was authenticated with (null on public routes). */
    credential: Credential | null;
  }
}

/** A new API token: 24 random bytes, base64url (the same form as $STINT_HOME/token). */
export function newToken(): string {
  return randomBytes(24).toString('base64url');
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** The CSRF token of a web session: SHA-256 hex of "csrf:" + its session id. */
export function csrfTokenFor(sessionId: string): string {
  return createHash('sha256').update(`csrf:${sessionId}`).digest('hex');
}

/** The caller of a request that passed authentication. */
export function callerOf(request: FastifyRequest): Caller {
  if (!request.user) throw new StintError('UNAUTHORIZED', 'this request was not authenticated');
  return request.user;
}

/** `{csrfToken}` for a request authenticated by the session cookie, else nothing (GET /api/v1/me). */
export function sessionFieldsOf(request: FastifyRequest): { csrfToken?: string } {
  return request.credential?.via === 'cookie' ? { csrfToken: csrfTokenFor(request.credential.secret) } : {};
}

/** The bearer token, else the session cookie's session id; null when the request carries neither. */
export function credentialOf(request: FastifyRequest): Credential | null {
  const header = request.headers.authorization;
  const bearer = header?.startsWith('Bearer ') ? header.slice('Bearer '.length).trim() : '';
  if (bearer) return { secret: bearer, via: 'bearer' };
  const cookie = request.cookies?.[SESSION_COOKIE];
  return cookie ? { secret: cookie, via: 'cookie' } : null;
}

/** A cookie-authenticated change must carry the session's CSRF token; bearer calls need none. */
export function assertCsrf(request: FastifyRequest, credential: Credential): void {
  if (credential.via !== 'cookie' || ['GET', 'HEAD', 'OPTIONS'].includes(request.method)) return;
  const given = Buffer.from(String(request.headers[CSRF_HEADER] ?? ''));
  const wanted = Buffer.from(csrfTokenFor(credential.secret));
  if (given.length === wanted.length && timingSafeEqual(given, wanted)) return;
  throw new StintError('CSRF', `a ${request.method} authenticated by the ${SESSION_COOKIE} cookie needs the header X-CSRF-Token: <csrfToken> (from POST /api/v1/session or GET /api/v1/me); ${given.length === 0 ? 'none was sent' : 'the one sent does not belong to this session'}`, { header: 'X-CSRF-Token', sent: given.length > 0 });
}

export const MISSING_TOKEN_MESSAGE = 'an API token is required: send "Authorization: Bearer <token>" (the token is in $STINT_HOME/token on the server machine)';

const SESSION_ENDED_MESSAGE = 'the web session has ended (signed out, expired, or its token was revoked or its user removed): sign in again with an API token';

/** What a credential resolved to. */
interface Identity {
  caller: Caller;
  /** The API token it is (bearer) or was made from (cookie). */
  tokenId: number;
  /** When it stops resolving (a session's end; Infinity for a token). */
  until: number;
}

interface CacheEntry {
  identity: Identity;
  expiresAt: number;
}

export interface AuthenticatorOptions {
  /** How long a resolved credential is trusted without asking the database. */
  ttlMs?: number;
  sessions?: SessionLimits;
}

export class Authenticator {
  private readonly cache = new Map<string, CacheEntry>();
  private readonly listeners = new Set<() => void>();
  private readonly limiter: FailureLimiter;
  /** Keys of credentials that resolved recently: not held back by an address's failure limit. */
  private readonly recent = new RecentSet(10_000);
  private readonly ttlMs: number;
  private readonly limits: SessionLimits;

  constructor(
    private readonly users: UserStore,
    private readonly clock: Clock,
    options: AuthenticatorOptions = {},
  ) {
    this.limiter = new FailureLimiter(clock);
    this.ttlMs = options.ttlMs ?? CACHE_TTL_MS;
    this.limits = options.sessions ?? SESSION_LIMITS;
  }

  /** Resolves a credential presented by `address` to its user; throws UNAUTHORIZED or RATE_LIMITED. */
  async authenticate(credential: Credential, address: string): Promise<Caller> {
    return (await this.identify(credential, address)).caller;
  }

  /** Verifies an API token (like authenticate) and starts a web session of it; the id goes only into the cookie. */
  async startSession(token: string, address: string): Promise<{ sessionId: string; caller: Caller }> {
    const { caller, tokenId } = await this.identify({ secret: token, via: 'bearer' }, address);
    const sessionId = newSessionId();
    const now = this.clock.now();
    await this.users.addSession({ hash: hashToken(sessionId), userId: caller.id, tokenId, at: now, expiresAt: sessionEnd(now, now, this.limits) });
    return { sessionId, caller };
  }

  /**
   * Ends a web session (signing out): its cookie is refused from now on, and live streams opened
   * with it end. Only a session that existed empties the cache, so unknown cookies sent to this
   * public route cannot make every stream re-check.
   */
  async endSession(sessionId: string): Promise<void> {
    if (await this.users.deleteSession(hashToken(sessionId))) this.forget();
  }

  /** The caller a credential stands for now (cache first), for callers re-checked while they run. */
  async recheck(credential: Credential): Promise<Caller> {
    const key = keyOf(credential);
    return (this.cached(key) ?? (await this.resolveAndCache(key, credential))).caller;
  }

  /** Drops every cached credential and tells the listeners: call after any change to tokens, sessions, users or memberships. */
  forget(): void {
    this.cache.clear();
    for (const listener of this.listeners) listener();
  }

  /** Called after every forget(); returns the function that unsubscribes. */
  onForget(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private async identify(credential: Credential, address: string): Promise<Identity> {
    if (!credential.secret) throw new StintError('UNAUTHORIZED', MISSING_TOKEN_MESSAGE);
    const key = keyOf(credential);
    const cached = this.cached(key);
    if (cached) return cached;
    if (!this.recent.has(key)) this.limiter.assertAllowed(address);
    try {
      const identity = await this.resolveAndCache(key, credential);
      this.recent.add(key);
      return identity;
    } catch (error) {
      if (error instanceof StintError && error.code === 'UNAUTHORIZED') {
        this.limiter.failed(address);
        this.recent.delete(key);
      }
      throw error;
    }
  }

  private cached(key: string): Identity | null {
    const entry = this.cache.get(key);
    return entry && entry.expiresAt > this.clock.now() ? entry.identity : null;
  }

  private async resolveAndCache(key: string, credential: Credential): Promise<Identity> {
    const now = this.clock.now();
    const identity = credential.via === 'cookie' ? await this.resolveSession(credential.secret, now) : await this.resolveToken(credential.secret, now);
    if (this.cache.size >= CACHE_MAX) this.cache.clear();
    this.cache.set(key, { identity, expiresAt: Math.min(now + this.ttlMs, identity.until) });
    return identity;
  }

  private async resolveToken(token: string, now: number): Promise<Identity> {
    const found = await this.users.findActiveToken(hashToken(token));
    if (!found) throw new StintError('UNAUTHORIZED', 'the API token is not valid for this server (unknown, revoked, or its user was removed)');
    await this.users.touchToken(found.token.id, now);
    return { caller: await this.callerOf(found.user), tokenId: found.token.id, until: Infinity };
  }

  private async resolveSession(sessionId: string, now: number): Promise<Identity> {
    const hash = hashToken(sessionId);
    const found = await this.users.findActiveSession(hash, now);
    if (!found) throw new StintError('UNAUTHORIZED', SESSION_ENDED_MESSAGE);
    const until = sessionEnd(found.session.createdAt, now, this.limits);
    await this.users.touchSession(hash, now, until);
    await this.users.touchToken(found.token.id, now);
    return { caller: await this.callerOf(found.user), tokenId: found.token.id, until };
  }

  private async callerOf(user: UserRow): Promise<Caller> {
    const memberships = await this.users.listMemberships(user.id);
    const { id, name, role } = user;
    return { id, name, role, projects: Object.fromEntries(memberships.map((m) => [m.project, m.role])) };
  }
}

/** The cache key of a credential: its hash, under the kind it was presented as. */
function keyOf(credential: Credential): string {
  return `${credential.via}:${hashToken(credential.secret)}`;
}

/**
 * Single-user mode: on a database with no users, the server's OS user becomes the admin and the
 * token in $STINT_HOME/token its token (stored as its hash). Later starts add a new home token
 * (the file was lost) to that user while it is an admin; a revoked one stays revoked.
 */
export async function bootstrapSingleUser(users: UserStore, owner: string, homeToken: string, at: number): Promise<BootstrapOutcome> {
  return users.bootstrapAdmin(owner, hashToken(homeToken), at);
}
