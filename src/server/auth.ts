// Authentication: a bearer token becomes the calling user. Owns token creation and hashing, the
// resolution cache, and single-user bootstrap. Invariants: a token is compared and stored only as
// its SHA-256 hex; an unknown, revoked or removed user's token answers 401 UNAUTHORIZED; a change
// made through this server (revoke, removal, membership) empties the cache at once, so it takes
// effect on the next request (other servers sharing the database see it within CACHE_TTL_MS).

import { createHash, randomBytes } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import type { Clock } from '../core/clock.js';
import { StintError } from '../core/errors.js';
import type { BootstrapOutcome, UserStore } from '../store/users.js';
import type { Caller } from './access.js';

export const CACHE_TTL_MS = 5_000;
const CACHE_MAX = 1_000;

declare module 'fastify' {
  interface FastifyRequest {
    /** The authenticated caller of an /api/v1 request (set by the app's onRequest hook). */
    user: Caller | null;
  }
}

/** A new API token: 24 random bytes, base64url (the same form as $STINT_HOME/token). */
export function newToken(): string {
  return randomBytes(24).toString('base64url');
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** The caller of a request that passed authentication. */
export function callerOf(request: FastifyRequest): Caller {
  if (!request.user) throw new StintError('UNAUTHORIZED', 'this request was not authenticated');
  return request.user;
}

interface CacheEntry {
  caller: Caller;
  expiresAt: number;
}

export class Authenticator {
  private readonly cache = new Map<string, CacheEntry>();

  constructor(
    private readonly users: UserStore,
    private readonly clock: Clock,
    private readonly ttlMs = CACHE_TTL_MS,
  ) {}

  /** Resolves an Authorization header to its user, or throws UNAUTHORIZED. */
  async authenticate(header: string | undefined): Promise<Caller> {
    const given = header?.startsWith('Bearer ') ? header.slice('Bearer '.length).trim() : '';
    if (!given) {
      throw new StintError('UNAUTHORIZED', 'an API token is required: send "Authorization: Bearer <token>" (the token is in $STINT_HOME/token on the server machine)');
    }
    const hash = hashToken(given);
    const now = this.clock.now();
    const cached = this.cache.get(hash);
    if (cached && cached.expiresAt > now) return cached.caller;
    const caller = await this.resolve(hash, now);
    if (this.cache.size >= CACHE_MAX) this.cache.clear();
    this.cache.set(hash, { caller, expiresAt: now + this.ttlMs });
    return caller;
  }

  /** Drops every cached token: call after any change to tokens, users or memberships. */
  forget(): void {
    this.cache.clear();
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
