// The user store port: users, their API tokens and web sessions, projects with members, and the
// audit log. Kept apart from the job store (types.ts) and reached as `store.users`; implemented
// once over Kysely (kysely-users.ts) for every SQL engine. Invariants every adapter keeps: a
// token is stored only as its SHA-256 hex (`hash`), never in plain text, and so is a web
// session's id; a removed user's tokens are all revoked in the same transaction, so no token of a
// removed user ever resolves; a session resolves only before its end, while its token is not revoked and its user not removed
// (checked on every lookup, whoever made the change); a name is unique among active users (a
// removed user keeps its row and name, and a new user of that name gets a new id); audit entries
// are append-only.

export const USER_ROLES = ['admin', 'member', 'viewer'] as const;
export type UserRole = (typeof USER_ROLES)[number];

export const PROJECT_ROLES = ['admin', 'member'] as const;
export type ProjectRole = (typeof PROJECT_ROLES)[number];

export interface UserRow {
  id: number;
  name: string;
  role: UserRole;
  createdAt: number;
  removedAt: number | null;
  /** The Unix account the user's jobs run as when the server runs as root; null = not mapped. */
  unixUser: string | null;
}

/** A token as the store describes it: everything but the token and its hash. */
export interface TokenRow {
  id: number;
  userId: number;
  userName: string;
  label: string | null;
  createdAt: number;
  revokedAt: number | null;
  lastUsedAt: number | null;
}

/** A web session as the store keeps it: everything but its id and the hash of it. */
export interface SessionRow {
  userId: number;
  /** The API token the session was made from: revoking it ends the session. */
  tokenId: number;
  createdAt: number;
  lastSeenAt: number;
  /** Refused from this time on (the server computes it from its idle and absolute limits). */
  expiresAt: number;
}

export interface NewSession {
  /** SHA-256 hex of the session id. */
  hash: string;
  userId: number;
  tokenId: number;
  at: number;
  expiresAt: number;
}

export interface ProjectMemberRow {
  userId: number;
  userName: string;
  role: ProjectRole;
}

export interface ProjectRow {
  name: string;
  createdAt: number;
  /** Members who are active users, by name. */
  members: ProjectMemberRow[];
}

export interface Membership {
  project: string;
  role: ProjectRole;
}

export interface AuditRow {
  id: number;
  at: number;
  /** Name of the user who acted. */
  actor: string;
  /** e.g. "user.add", "token.revoke", "job.cancel" */
  action: string;
  /** What was acted on, e.g. "user/alice", "token/7", "job/12". */
  target: string;
  /** Context; never a token or a secret value. */
  details: Record<string, unknown>;
}

export type BootstrapOutcome = 'created' | 'token-added' | 'unchanged';

export interface AuditFilter {
  limit?: number;
  /** Only entries with id below this (paging backwards from the newest). */
  beforeId?: number;
}

export interface UserStore {
  /**
   * Adds a user with a new id. A removed user's name may be taken again: the new user is a new
   * row and inherits nothing (tokens, memberships, caps, webhook, Unix account, jobs are keyed by
   * the old id or were dropped at removal); CONFLICT when an active user already has the name.
   */
  addUser(name: string, role: UserRole, at: number): Promise<UserRow>;
  /**
   * The server's own token at start. With no users at all, creates `name` as admin with this token
   * hash ('created'). Otherwise, if `name` is an active admin and no token, revoked or not, has
   * this hash, adds it to `name` ('token-added': a lost home token is replaced by restarting, but
   * a revoked one stays revoked). Else 'unchanged'. Servers sharing one database that race here
   * with the same name: one creates, the others get 'unchanged' (the unique name).
   */
  bootstrapAdmin(name: string, tokenHash: string, at: number): Promise<BootstrapOutcome>;
  /** The active user with this name, else the most recently removed one of that name. */
  getUser(name: string): Promise<UserRow | null>;
  /** The user with this id, removed or not. */
  getUserById(id: number): Promise<UserRow | null>;
  /** Active users by name (removed ones too when asked). */
  listUsers(options?: { includeRemoved?: boolean }): Promise<UserRow[]>;
  /** Marks an active user removed, revokes every token of it and drops its sessions, memberships, caps and webhook; null if none. */
  removeUser(name: string, at: number): Promise<UserRow | null>;
  /** Maps a user to a Unix account (null removes the mapping); null if the user does not exist. */
  setUnixUser(name: string, unixUser: string | null): Promise<UserRow | null>;
  /** Records a token by its hash; CONFLICT if the hash is known (a token collision: never reuse). */
  addToken(userId: number, hash: string, label: string | null, at: number): Promise<TokenRow>;
  /** The token with this hash and its user, only if the token is not revoked and the user not removed. */
  findActiveToken(hash: string): Promise<{ token: TokenRow; user: UserRow } | null>;
  touchToken(id: number, at: number): Promise<void>;
  getToken(id: number): Promise<TokenRow | null>;
  listTokens(userId: number): Promise<TokenRow[]>;
  /** Revokes a token and deletes its sessions (a second revoke keeps the first time); null if there is no such token. */
  revokeToken(id: number, at: number): Promise<TokenRow | null>;
  /** Records a web session by its hash and deletes every session expired at `at`; CONFLICT if the hash is known. */
  addSession(session: NewSession): Promise<SessionRow>;
  /** The session with this hash, its token and user, only if it has not expired at `at`, the token is not revoked and the user not removed. */
  findActiveSession(hash: string, at: number): Promise<{ session: SessionRow; token: TokenRow; user: UserRow } | null>;
  /** Records a use of the session and its new end. */
  touchSession(hash: string, at: number, expiresAt: number): Promise<void>;
  /** Whether there was such a session. */
  deleteSession(hash: string): Promise<boolean>;
  /** CONFLICT if the project exists. */
  addProject(name: string, at: number): Promise<ProjectRow>;
  getProject(name: string): Promise<ProjectRow | null>;
  listProjects(): Promise<ProjectRow[]>;
  /** Adds a member or changes its role; NOT_FOUND if the project does not exist. */
  setMember(project: string, userId: number, role: ProjectRole): Promise<void>;
  /** Whether there was such a member. */
  removeMember(project: string, userId: number): Promise<boolean>;
  listMemberships(userId: number): Promise<Membership[]>;
  appendAudit(entry: Omit<AuditRow, 'id'>): Promise<AuditRow>;
  /** Newest first. */
  listAudit(filter?: AuditFilter): Promise<AuditRow[]>;
}
