// Migration 007: jobs are owned by a user id, and a removed user's name can be taken by a new
// user (a new row, a new id) that inherits nothing of the old one. Append-only.
//   - users.name is unique only among active users (a partial unique index) instead of for ever;
//     SQLite cannot drop a column constraint, so it rebuilds the table (the documented 12-step
//     procedure; the adapter runs this migration with foreign keys off and checks them after).
//   - jobs.owner_id references users(id); jobs.owner stays as the owner's name at submission (for
//     views, fair share and usage by name). Existing jobs take the id of the row with their name
//     (before 007 a re-added name reused its row, so there is exactly one).

import type { Migration } from './index.js';

const sqlite = [
  `CREATE TABLE users_007 (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('admin', 'member', 'viewer')),
    created_at INTEGER NOT NULL,
    removed_at INTEGER,
    unix_user TEXT
  )`,
  `INSERT INTO users_007 (id, name, role, created_at, removed_at, unix_user) SELECT id, name, role, created_at, removed_at, unix_user FROM users`,
  `DROP TABLE users`,
  `ALTER TABLE users_007 RENAME TO users`,
  `CREATE UNIQUE INDEX users_active_name ON users (name) WHERE removed_at IS NULL`,
  `CREATE INDEX users_name ON users (name)`,
  `ALTER TABLE jobs ADD COLUMN owner_id INTEGER REFERENCES users (id)`,
  `UPDATE jobs SET owner_id = (SELECT id FROM users WHERE users.name = jobs.owner)`,
  `CREATE INDEX jobs_owner_id ON jobs (owner_id)`,
];

const postgres = [
  `ALTER TABLE users DROP CONSTRAINT users_name_key`,
  `CREATE UNIQUE INDEX users_active_name ON users (name) WHERE removed_at IS NULL`,
  `CREATE INDEX users_name ON users (name)`,
  `ALTER TABLE jobs ADD COLUMN owner_id BIGINT REFERENCES users (id)`,
  `UPDATE jobs SET owner_id = (SELECT id FROM users WHERE users.name = jobs.owner)`,
  `CREATE INDEX jobs_owner_id ON jobs (owner_id)`,
];

export const migration007: Migration = {
  version: 7,
  name: 'user_ids',
  statements: { sqlite, postgres },
  foreignKeysOff: true,
};
