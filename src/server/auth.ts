// Authentication: a bearer token (or the web session's cookie holding one) becomes the calling
// user. Owns token creation and hashing, the resolution cache, the CSRF token of a web session,
// the limit on failed tokens per client address, and single-user bootstrap. Invariants: a token
// is compared and stored only as its SHA-256 hex; an unknown, revoked or removed user's token
// answers 401 UNAUTHORIZED; an address with too many failures answers 429 RATE_LIMITED before
// the database is asked, except for a token that resolved recently (so an attacker on a shared
// address cannot lock out the users who are already working); a change made through this server
// (revoke, removal, membership) empties the cache at once and tells the listeners (live log
// streams re-check their caller), so it takes effect on the next request (other servers sharing
// the database see it within CACHE_TTL_MS).

import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import type { Clock } from '../core/clock.js';
import { StintError } from '../core/errors.js';
import type { BootstrapOutcome, UserStore } from '../store/users.js';
import type { Caller } from './access.js';
import { FailureLimiter, RecentSet } from './failure-limiter.js';

export const CACHE_TTL_MS = 5_000;
const CACHE_MAX = 1_000;
/** The web session's cookie: the API token itself, httpOnly and SameSite=Strict (routes/session.ts). */
export const SESSION_COOKIE = 'stint_session';
export const CSRF_HEADER = 'x-csrf-token';

/** How a request proved who it is. */
export interface Credential {
  token: string;
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

/** The CSRF token of a web session: SHA-256 hex of "csrf:" + its API token. */
export function csrfTokenFor(token: string): string {
  return createHash('sha256').update(`csrf:${token}`).digest('hex');
}

/** The caller of a request that passed authentication. */
export function callerOf(request: FastifyRequest): Caller {
  if (!request.user) throw new StintError('UNAUTHORIZED', 'this request was not authenticated');
  return request.user;
}

/** `{csrfToken}` for a request authenticated by the session cookie, else nothing (GET /api/v1/me). */
export function sessionFieldsOf(request: FastifyRequest): { csrfToken?: string } {
  return request.credential?.via === 'cookie' ? { csrfToken: csrfTokenFor(request.credential.token) } : {};
}

/** The bearer token, else the session cookie's token; null when the request carries neither. */
export function credentialOf(request: FastifyRequest): Credential | null {
  const header = request.headers.authorization;
  const bearer = header?.startsWith('Bearer ') ? header.slice('Bearer '.length).trim() : '';
  if (bearer) return { token: bearer, via: 'bearer' };
  const cookie = request.cookies?.[SESSION_COOKIE];
  return cookie ? { token: cookie, via: 'cookie' } : null;
}

/** A cookie-authenticated change must carry the session's CSRF token; bearer calls need none. */
export function assertCsrf(request: FastifyRequest, credential: Credential): void {
  if (credential.via !== 'cookie' || ['GET', 'HEAD', 'OPTIONS'].includes(request.method)) return;
  const given = Buffer.from(String(request.headers[CSRF_HEADER] ?? ''));
  const wanted = Buffer.from(csrfTokenFor(credential.token));
  if (given.length === wanted.length && timingSafeEqual(given, wanted)) return;
  throw new StintError('CSRF', `a ${request.method} authenticated by the ${SESSION_COOKIE} cookie needs the header X-CSRF-Token: <csrfToken> (from POST /api/v1/session or GET /api/v1/me); ${given.length === 0 ? 'none was sent' : 'the one sent does not belong to this session'}`, { header: 'X-CSRF-Token', sent: given.length > 0 });
}

export const MISSING_TOKEN_MESSAGE = 'an API token is required: send "Authorization: Bearer <token>" (the token is in $STINT_HOME/token on the server machine)';

interface CacheEntry {
  caller: Caller;
  expiresAt: number;
}

export class Authenticator {
  private readonly cache = new Map<string, CacheEntry>();
  private readonly listeners = new Set<() => void>();
  private readonly limiter: FailureLimiter;
  /** Hashes of tokens that resolved recently: not held back by an address's failure limit. */
  private readonly recent = new RecentSet(10_000);

  constructor(
    private readonly users: UserStore,
    private readonly clock: Clock,
    private readonly ttlMs = CACHE_TTL_MS,
  ) {
    this.limiter = new FailureLimiter(clock);
  }

  /** Resolves a token presented by `address` to its user; throws UNAUTHORIZED or RATE_LIMITED. */
  async authenticate(token: string, address: string): Promise<Caller> {
    if (!token) throw new StintError('UNAUTHORIZED', MISSING_TOKEN_MESSAGE);
    const hash = hashToken(token);
    const cached = this.cached(hash);
    if (cached) return cached;
    if (!this.recent.has(hash)) this.limiter.assertAllowed(address);
    try {
      const caller = await this.resolveAndCache(hash);
      this.recent.add(hash);
      return caller;
    } catch (error) {
      if (error instanceof StintError && error.code === 'UNAUTHORIZED') {
        this.limiter.failed(address);
        this.recent.delete(hash);
      }
      throw error;
    }
  }

  /** The caller a token stands for now (cache first), for callers re-checked while they run. */
  async recheck(token: string): Promise<Caller> {
    const hash = hashToken(token);
    return this.cached(hash) ?? this.resolveAndCache(hash);
  }

  /** Drops every cached token and tells the listeners: call after any change to tokens, users or memberships. */
  forget(): void {
    this.cache.clear();
    for (const listener of this.listeners) listener();
  }

  /** Called after every forget(); returns the function that unsubscribes. */
  onForget(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private cached(hash: string): Caller | null {
    const entry = this.cache.get(hash);
    return entry && entry.expiresAt > this.clock.now() ? entry.caller : null;
  }

  private async resolveAndCache(hash: string): Promise<Caller> {
    const now = this.clock.now();
    const caller = await this.resolve(hash, now);
    if (this.cache.size >= CACHE_MAX) this.cache.clear();
    this.cache.set(hash, { caller, expiresAt: now + this.ttlMs });
    return caller;
  }

  private async resolve(hash: string, now: number): Promise<Caller> {
    const found = await this.users.findActiveToken(hash);
    if (!found) throw new StintError('UNAUTHORIZED', 'the API token is not valid for this server (unknown, revoked, or its user was removed)');
    const memberships = await this.users.listMemberships(found.user.id);
    await this.users.touchToken(found.token.id, now);
    const { id, name, role } = found.user;
    return { id, name, role, projects: Object.fromEntries(memberships.map((m) => [m.project, m.role])) };
  }
}

/**
 * Single-user mode: on a database with no users, the server's OS user becomes the admin and the
 * token in $STINT_HOME/token its token (stored as its hash). Later starts add a new home token
 * (the file was lost) to that user while it is an admin; a revoked one stays revoked.
 */
export async function bootstrapSingleUser(users: UserStore, owner: string, homeToken: string, at: number): Promise<BootstrapOutcome> {
  return users.bootstrapAdmin(owner, hashToken(homeToken), at);
}
