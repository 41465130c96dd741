// Migration 004: the Unix account a user's jobs run as when the server runs as root. Append-only.

import type { Migration } from './index.js';

export const migration004: Migration = {
  version: 4,
  name: 'unix_users',
  statements: {
    sqlite: [`ALTER TABLE users ADD COLUMN unix_user TEXT`],
    postgres: [`ALTER TABLE users ADD COLUMN unix_user TEXT`],
  },
};
