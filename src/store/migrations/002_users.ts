// Migration 002: users, their API tokens, projects and their members, and the audit log.
// Append-only, like 001. Tokens are kept only as the SHA-256 hex of the token (`hash`, unique),
// never in plain text. A removed user keeps its row (removed_at set) so jobs and audit entries
// that name it stay meaningful. `details` of an audit entry is JSON text; it never holds a token
// or a secret value. The dialects differ only in types, as in 001.

import type { Migration } from './index.js';

const sqlite = [
  `CREATE TABLE users (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    role TEXT NOT NULL CHECK (role IN ('admin', 'member', 'viewer')),
    created_at INTEGER NOT NULL,
    removed_at INTEGER
  )`,
  `CREATE TABLE tokens (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id INTEGER NOT NULL REFERENCES users (id),
    hash TEXT NOT NULL UNIQUE,
    label TEXT,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER,
    last_used_at INTEGER
  )`,
  `CREATE INDEX tokens_user ON tokens (user_id)`,
  `CREATE TABLE projects (name TEXT PRIMARY KEY, created_at INTEGER NOT NULL)`,
  `CREATE TABLE project_members (
    project TEXT NOT NULL REFERENCES projects (name),
    user_id INTEGER NOT NULL REFERENCES users (id),
    role TEXT NOT NULL CHECK (role IN ('admin', 'member')),
    PRIMARY KEY (project, user_id)
  )`,
  `CREATE INDEX project_members_user ON project_members (user_id)`,
  `CREATE TABLE audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at INTEGER NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    details TEXT NOT NULL
  )`,
];

const postgres = [
  `CREATE TABLE users (
    id BIGSERIAL PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    role TEXT NOT NULL CHECK (role IN ('admin', 'member', 'viewer')),
    created_at BIGINT NOT NULL,
    removed_at BIGINT
  )`,
  `CREATE TABLE tokens (
    id BIGSERIAL PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users (id),
    hash TEXT NOT NULL UNIQUE,
    label TEXT,
    created_at BIGINT NOT NULL,
    revoked_at BIGINT,
    last_used_at BIGINT
  )`,
  `CREATE INDEX tokens_user ON tokens (user_id)`,
  `CREATE TABLE projects (name TEXT PRIMARY KEY, created_at BIGINT NOT NULL)`,
  `CREATE TABLE project_members (
    project TEXT NOT NULL REFERENCES projects (name),
    user_id BIGINT NOT NULL REFERENCES users (id),
    role TEXT NOT NULL CHECK (role IN ('admin', 'member')),
    PRIMARY KEY (project, user_id)
  )`,
  `CREATE INDEX project_members_user ON project_members (user_id)`,
  `CREATE TABLE audit (
    id BIGSERIAL PRIMARY KEY,
    at BIGINT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    details TEXT NOT NULL
  )`,
];

export const migration002: Migration = {
  version: 2,
  name: 'users',
  statements: { sqlite, postgres },
};
