// The user store's queries, written once for every SQL engine through Kysely (the port is
// users.ts). Invariants: only token and session hashes are written; removing a user revokes its
// tokens and drops its sessions, memberships, caps and webhook in the same transaction, and
// revoking a token drops its sessions with it; a session is found only with its expiry, its
// token's revoked state and its user's removed state checked in the same query; adding a user
// always makes a new id (a removed user's name may be reused, its id never is); a unique-name or
// unique-hash violation becomes StintError CONFLICT, whichever engine reports it (the adapter says
// which errors those are).

import { sql, type Kysely, type Selectable, type Transaction } from 'kysely';
import { StintError } from '../core/errors.js';
import type { AuditTable, Database as Schema, SessionsTable, UsersTable } from './schema.js';
import type { AuditFilter, AuditRow, BootstrapOutcome, Membership, NewSession, ProjectRole, ProjectRow, SessionRow, TokenRow, UserRole, UserRow, UserStore } from './users.js';

export class KyselyUserStore implements UserStore {
  constructor(
    private readonly db: Kysely<Schema>,
    /** Whether a failed write broke a unique constraint (the dialect's error). */
    private readonly isUniqueViolation: (error: unknown) => boolean,
  ) {}

  async addUser(name: string, role: UserRole, at: number): Promise<UserRow> {
    // Always a new row (a new id): a removed user's name is free again, but nothing keyed by the
    // old id (jobs, tokens, memberships, Unix account) comes with it.
    return this.unique(`user ${name} already exists`, { user: name }, async () => {
      const row = await this.db.insertInto('users').values({ name, role, created_at: at, removed_at: null }).returningAll().executeTakeFirstOrThrow();
      return toUserRow(row);
    });
  }

  async bootstrapAdmin(name: string, tokenHash: string, at: number): Promise<BootstrapOutcome> {
    try {
      return await this.db.transaction().execute(async (trx) => {
        const any = await trx.selectFrom('users').select('id').limit(1).executeTakeFirst();
        if (!any) {
          const user = await trx.insertInto('users').values({ name, role: 'admin', created_at: at, removed_at: null }).returning('id').executeTakeFirstOrThrow();
          await insertHomeToken(trx, user.id, tokenHash, at);
          return 'created';
        }
        const user = await trx.selectFrom('users').selectAll().where('name', '=', name).where('removed_at', 'is', null).executeTakeFirst();
        if (!user || user.role !== 'admin') return 'unchanged';
        if (await trx.selectFrom('tokens').select('id').where('hash', '=', tokenHash).executeTakeFirst()) return 'unchanged';
        await insertHomeToken(trx, user.id, tokenHash, at);
        return 'token-added';
      });
    } catch (error) {
      // Another server sharing the database did the same at the same moment.
      if (this.isUniqueViolation(error)) return 'unchanged';
      throw error;
    }
  }

  async getUser(name: string): Promise<UserRow | null> {
    // The active user of that name, else the most recently removed one.
    const row = await this.db
      .selectFrom('users')
      .selectAll()
      .where('name', '=', name)
      .orderBy(sql`removed_at is null`, 'desc')
      .orderBy('id', 'desc')
      .limit(1)
      .executeTakeFirst();
    return row ? toUserRow(row) : null;
  }

  async getUserById(id: number): Promise<UserRow | null> {
    const row = await this.db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? toUserRow(row) : null;
  }

  async listUsers(options: { includeRemoved?: boolean } = {}): Promise<UserRow[]> {
    let query = this.db.selectFrom('users').selectAll().orderBy('name').orderBy('id');
    if (!options.includeRemoved) query = query.where('removed_at', 'is', null);
    return (await query.execute()).map(toUserRow);
  }

  async removeUser(name: string, at: number): Promise<UserRow | null> {
    return this.db.transaction().execute(async (trx) => {
      const row = await trx
        .updateTable('users')
        .set({ removed_at: at })
        .where('name', '=', name)
        .where('removed_at', 'is', null)
        .returningAll()
        .executeTakeFirst();
      if (!row) return null;
      await trx.updateTable('tokens').set({ revoked_at: at }).where('user_id', '=', row.id).where('revoked_at', 'is', null).execute();
      await trx.deleteFrom('sessions').where('user_id', '=', row.id).execute();
      await trx.deleteFrom('project_members').where('user_id', '=', row.id).execute();
      // Caps and the webhook are keyed by name: a later user of the name must not inherit them.
      await trx.deleteFrom('user_caps').where('user_name', '=', row.name).execute();
      await trx.deleteFrom('webhooks').where('user_name', '=', row.name).execute();
      return toUserRow(row);
    });
  }

  async addToken(userId: number, hash: string, label: string | null, at: number): Promise<TokenRow> {
    const inserted = await this.unique('a token with this value already exists; create another', {}, () =>
      this.db.insertInto('tokens').values({ user_id: userId, hash, label, created_at: at, revoked_at: null, last_used_at: null }).returning('id').executeTakeFirstOrThrow(),
    );
    return (await this.getToken(inserted.id))!;
  }

  async setUnixUser(name: string, unixUser: string | null): Promise<UserRow | null> {
    const row = await this.db.updateTable('users').set({ unix_user: unixUser }).where('name', '=', name).where('removed_at', 'is', null).returningAll().executeTakeFirst();
    return row ? toUserRow(row) : this.getUser(name);
  }

  async findActiveToken(hash: string): Promise<{ token: TokenRow; user: UserRow } | null> {
    const row = await this.tokens()
      .select(['users.role', 'users.created_at as user_created_at', 'users.unix_user'])
      .where('tokens.hash', '=', hash)
      .where('tokens.revoked_at', 'is', null)
      .where('users.removed_at', 'is', null)
      .executeTakeFirst();
    if (!row) return null;
    const user: UserRow = { id: row.user_id, name: row.user_name, role: row.role as UserRole, createdAt: row.user_created_at, removedAt: null, unixUser: row.unix_user };
    return { token: toTokenRow(row), user };
  }

  async touchToken(id: number, at: number): Promise<void> {
    await this.db.updateTable('tokens').set({ last_used_at: at }).where('id', '=', id).execute();
  }

  async getToken(id: number): Promise<TokenRow | null> {
    const row = await this.tokens().where('tokens.id', '=', id).executeTakeFirst();
    return row ? toTokenRow(row) : null;
  }

  async listTokens(userId: number): Promise<TokenRow[]> {
    const rows = await this.tokens().where('tokens.user_id', '=', userId).orderBy('tokens.id').execute();
    return rows.map(toTokenRow);
  }

  async revokeToken(id: number, at: number): Promise<TokenRow | null> {
    await this.db.transaction().execute(async (trx) => {
      await trx.updateTable('tokens').set({ revoked_at: at }).where('id', '=', id).where('revoked_at', 'is', null).execute();
      await trx.deleteFrom('sessions').where('token_id', '=', id).execute();
    });
    return this.getToken(id);
  }

  async addSession(session: NewSession): Promise<SessionRow> {
    const row = { hash: session.hash, user_id: session.userId, token_id: session.tokenId, created_at: session.at, last_seen_at: session.at, expires_at: session.expiresAt };
    await this.db.transaction().execute(async (trx) => {
      // The purge: cheap (an index on expires_at) and bounded by the sessions made since the last one.
      await trx.deleteFrom('sessions').where('expires_at', '<=', session.at).execute();
      await this.unique('a session with this id already exists; start another', {}, () => trx.insertInto('sessions').values(row).execute());
    });
    return toSessionRow(row);
  }

  async findActiveSession(hash: string, at: number): Promise<{ session: SessionRow; token: TokenRow; user: UserRow } | null> {
    const row = await this.tokens()
      .innerJoin('sessions', 'sessions.token_id', 'tokens.id')
      .select(['users.role', 'users.created_at as user_created_at', 'users.unix_user'])
      .select(['sessions.hash', 'sessions.token_id', 'sessions.created_at as session_created_at', 'sessions.last_seen_at', 'sessions.expires_at'])
      .where('sessions.hash', '=', hash)
      .where('sessions.expires_at', '>', at)
      .whereRef('sessions.user_id', '=', 'tokens.user_id')
      .where('tokens.revoked_at', 'is', null)
      .where('users.removed_at', 'is', null)
      .executeTakeFirst();
    if (!row) return null;
    const user: UserRow = { id: row.user_id, name: row.user_name, role: row.role as UserRole, createdAt: row.user_created_at, removedAt: null, unixUser: row.unix_user };
    const session = toSessionRow({ user_id: row.user_id, token_id: row.token_id, created_at: row.session_created_at, last_seen_at: row.last_seen_at, expires_at: row.expires_at });
    return { session, token: toTokenRow(row), user };
  }

  async touchSession(hash: string, at: number, expiresAt: number): Promise<void> {
    await this.db.updateTable('sessions').set({ last_seen_at: at, expires_at: expiresAt }).where('hash', '=', hash).execute();
  }

  async deleteSession(hash: string): Promise<boolean> {
    const result = await this.db.deleteFrom('sessions').where('hash', '=', hash).executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  async addProject(name: string, at: number): Promise<ProjectRow> {
    await this.unique(`project ${name} already exists`, { project: name }, () => this.db.insertInto('projects').values({ name, created_at: at }).execute());
    return { name, createdAt: at, members: [] };
  }

  async getProject(name: string): Promise<ProjectRow | null> {
    const row = await this.db.selectFrom('projects').selectAll().where('name', '=', name).executeTakeFirst();
    if (!row) return null;
    return { name: row.name, createdAt: row.created_at, members: await membersOf(this.db, [name]).then((m) => m.get(name) ?? []) };
  }

  async listProjects(): Promise<ProjectRow[]> {
    const rows = await this.db.selectFrom('projects').selectAll().orderBy('name').execute();
    const members = await membersOf(this.db, rows.map((r) => r.name));
    return rows.map((r) => ({ name: r.name, createdAt: r.created_at, members: members.get(r.name) ?? [] }));
  }

  async setMember(project: string, userId: number, role: ProjectRole): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      const exists = await trx.selectFrom('projects').select('name').where('name', '=', project).executeTakeFirst();
      if (!exists) throw new StintError('NOT_FOUND', `project ${project} does not exist; add it with \`stint admin project add ${project}\``, { project });
      await trx
        .insertInto('project_members')
        .values({ project, user_id: userId, role })
        .onConflict((oc) => oc.columns(['project', 'user_id']).doUpdateSet({ role }))
        .execute();
    });
  }

  async removeMember(project: string, userId: number): Promise<boolean> {
    const result = await this.db.deleteFrom('project_members').where('project', '=', project).where('user_id', '=', userId).executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  async listMemberships(userId: number): Promise<Membership[]> {
    const rows = await this.db.selectFrom('project_members').select(['project', 'role']).where('user_id', '=', userId).orderBy('project').execute();
    return rows.map((r) => ({ project: r.project, role: r.role as ProjectRole }));
  }

  async appendAudit(entry: Omit<AuditRow, 'id'>): Promise<AuditRow> {
    const row = await this.db
      .insertInto('audit')
      .values({ at: entry.at, actor: entry.actor, action: entry.action, target: entry.target, details: JSON.stringify(entry.details) })
      .returningAll()
      .executeTakeFirstOrThrow();
    return toAuditRow(row);
  }

  async listAudit(filter: AuditFilter = {}): Promise<AuditRow[]> {
    let query = this.db.selectFrom('audit').selectAll().orderBy('id', 'desc');
    if (filter.beforeId !== undefined) query = query.where('id', '<', filter.beforeId);
    if (filter.limit !== undefined) query = query.limit(filter.limit);
    return (await query.execute()).map(toAuditRow);
  }

  /** Tokens joined with their user's name; never selects the hash. */
  private tokens() {
    return this.db
      .selectFrom('tokens')
      .innerJoin('users', 'users.id', 'tokens.user_id')
      .select(['tokens.id', 'tokens.user_id', 'users.name as user_name', 'tokens.label', 'tokens.created_at', 'tokens.revoked_at', 'tokens.last_used_at']);
  }

  /** Runs a write, turning a unique violation into CONFLICT with this message. */
  private async unique<T>(message: string, details: Record<string, unknown>, write: () => Promise<T>): Promise<T> {
    try {
      return await write();
    } catch (error) {
      if (this.isUniqueViolation(error)) throw new StintError('CONFLICT', message, details);
      throw error;
    }
  }
}

async function insertHomeToken(trx: Transaction<Schema>, userId: number, hash: string, at: number): Promise<void> {
  await trx.insertInto('tokens').values({ user_id: userId, hash, label: 'server home token', created_at: at, revoked_at: null, last_used_at: null }).execute();
}

async function membersOf(db: Kysely<Schema> | Transaction<Schema>, projects: string[]): Promise<Map<string, ProjectRow['members']>> {
  const members = new Map<string, ProjectRow['members']>();
  if (projects.length === 0) return members;
  const rows = await db
    .selectFrom('project_members')
    .innerJoin('users', 'users.id', 'project_members.user_id')
    .select(['project_members.project', 'project_members.user_id', 'project_members.role', 'users.name'])
    .where('project_members.project', 'in', projects)
    .where('users.removed_at', 'is', null)
    .orderBy('users.name')
    .execute();
  for (const r of rows) {
    const list = members.get(r.project) ?? [];
    list.push({ userId: r.user_id, userName: r.name, role: r.role as ProjectRole });
    members.set(r.project, list);
  }
  return members;
}

function toUserRow(r: Selectable<UsersTable>): UserRow {
  return { id: r.id, name: r.name, role: r.role as UserRole, createdAt: r.created_at, removedAt: r.removed_at, unixUser: r.unix_user };
}

interface TokenSelection {
  id: number;
  user_id: number;
  user_name: string;
  label: string | null;
  created_at: number;
  revoked_at: number | null;
  last_used_at: number | null;
}

function toTokenRow(r: TokenSelection): TokenRow {
  return { id: r.id, userId: r.user_id, userName: r.user_name, label: r.label, createdAt: r.created_at, revokedAt: r.revoked_at, lastUsedAt: r.last_used_at };
}

function toAuditRow(r: Selectable<AuditTable>): AuditRow {
  return { id: r.id, at: r.at, actor: r.actor, action: r.action, target: r.target, details: JSON.parse(r.details) as Record<string, unknown> };
}

function toSessionRow(r: Omit<SessionsTable, 'hash'>): SessionRow {
  return { userId: r.user_id, tokenId: r.token_id, createdAt: r.created_at, lastSeenAt: r.last_seen_at, expiresAt: r.expires_at };
}
