// The ordered list of schema migrations. Versions are dense and increasing; each runs once, in a
// transaction, and is recorded in schema_migrations.

import { migration001 } from './001_jobs.js';

export interface Migration {
  version: number;
  name: string;
  statements: string[];
}

export const MIGRATIONS: readonly Migration[] = [migration001];
