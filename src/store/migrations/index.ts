// The ordered list of schema migrations. Versions are dense and increasing; each runs once, in a
// transaction, and is recorded in schema_migrations. Every migration carries its statements for
// each dialect; they must create the same tables, columns and indexes (each adapter picks its own).

import { migration001 } from './001_jobs.js';
import { migration002 } from './002_users.js';
import { migration003 } from './003_quotas.js';
import { migration004 } from './004_unix_users.js';
import { migration005 } from './005_user_caps.js';
import { migration006 } from './006_observability.js';
import { migration007 } from './007_user_ids.js';
import { migration008 } from './008_idempotency_keys.js';
import { migration009 } from './009_sessions.js';
import { migration010 } from './010_exported_env.js';
import { migration011 } from './011_images.js';

export type Dialect = 'sqlite' | 'postgres';

export interface Migration {
  version: number;
  name: string;
  statements: Record<Dialect, string[]>;
  /**
   * SQLite only: the migration rebuilds a table others reference, so it runs with foreign keys
   * off (they cannot change inside a transaction) and `PRAGMA foreign_key_check` must find no
   * violation before it commits.
   */
  foreignKeysOff?: boolean;
}

export const MIGRATIONS: readonly Migration[] = [migration001, migration002, migration003, migration004, migration005, migration006, migration007, migration008, migration009, migration010, migration011];
