// Migration 009: the web UI's sessions (POST /api/v1/session). A session is kept only as the
// SHA-256 hex of its id (`hash`, the primary key), never the id itself, with the user and the API
// token it was made from; it is refused from `expires_at` on (the server slides it with use, up to
// its absolute limit: src/server/sessions.ts) and whenever its token is revoked or its user
// removed. Expired rows are deleted when the next session is made (index on expires_at); rows of a
// revoked token or a removed user are deleted with the revoke or removal (index on token_id).
// Append-only.

import type { Migration } from './index.js';

const tables = (id: string, time: string) => [
  `CREATE TABLE sessions (
    hash TEXT PRIMARY KEY,
    user_id ${id} NOT NULL REFERENCES users (id),
    token_id ${id} NOT NULL REFERENCES tokens (id),
    created_at ${time} NOT NULL,
    last_seen_at ${time} NOT NULL,
    expires_at ${time} NOT NULL
  )`,
  `CREATE INDEX sessions_expires ON sessions (expires_at)`,
  `CREATE INDEX sessions_token ON sessions (token_id)`,
  `CREATE INDEX sessions_user ON sessions (user_id)`,
];

export const migration009: Migration = {
  version: 9,
  name: 'sessions',
  statements: { sqlite: tables('INTEGER', 'INTEGER'), postgres: tables('BIGINT', 'BIGINT') },
};
