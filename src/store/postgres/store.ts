// The PostgreSQL store (node-postgres pool behind Kysely), for a lab that runs several servers or
// wants its state on a shared database. Owns the PostgreSQL dialect details: BIGINT read as JS
// numbers (on this pool's own type set only), the optional schema every connection searches, the
// migration lock, and which error is a GPU hold conflict. The queries are the shared ones of
// kysely-store.ts (a concurrent second transition waits on the row lock, then sees the new state
// and writes nothing).

import pg from 'pg';
import { CompiledQuery, Kysely, PostgresDialect, sql } from 'kysely';
import { KyselyStore } from '../kysely-store.js';
import { KyselyUserStore } from '../kysely-users.js';
import { MIGRATIONS } from '../migrations/index.js';
import { PLAIN_SECRETS, sealedSecrets } from '../secret-box.js';
import type { Database as Schema } from '../schema.js';
import type { Store } from '../types.js';

export interface PostgresStoreOptions {
  /** Schema holding stint's tables, created if missing; every connection searches only it. */
  schema?: string;
  /** Seals job secrets at rest with this 32-byte key (secret-box.ts); plain JSON without one. */
  secretKey?: Buffer;
}

/** Advisory lock class for migrations; the second key is the schema, so schemas migrate apart. */
const MIGRATION_LOCK_CLASS = 0x5717;

export async function openPostgresStore(url: string, options: PostgresStoreOptions = {}): Promise<Store> {
  const { schema } = options;
  const pool = new pg.Pool({ connectionString: url, types: typeParsers() });
  // An idle connection that dies (server restart) is dropped by the pool; without a listener its
  // 'error' event would end the process. The next query reconnects or fails with its own error.
  pool.on('error', () => {});
  const setSearchPath = schema === undefined ? null : CompiledQuery.raw(`SET search_path TO ${quoteIdent(schema)}`);
  const db = new Kysely<Schema>({
    dialect: new PostgresDialect({
      pool,
      onCreateConnection: async (connection) => {
        if (setSearchPath) await connection.executeQuery(setSearchPath);
      },
    }),
  });
  try {
    await migrate(db, schema);
  } catch (error) {
    await db.destroy();
    throw error;
  }
  const box = options.secretKey ? sealedSecrets(options.secretKey) : PLAIN_SECRETS;
  return new KyselyStore(db, isGpuHoldConflict, new KyselyUserStore(db, isUniqueViolation), isUniqueViolation, box);
}

/**
 * BIGINT (ids, epoch-ms times, count(*)) comes back as a JS number, like SQLite's INTEGER; a value
 * past 2^53 would lose digits, so it is refused instead. Set on this pool only: pg's global
 * parsers stay as they are for anyone else in the process.
 */
function typeParsers(): pg.CustomTypesConfig {
  const types = new pg.TypeOverrides();
  types.setTypeParser(pg.types.builtins.INT8, (text: string) => {
    const value = Number(text);
    if (!Number.isSafeInteger(value)) throw new RangeError(`BIGINT ${text} does not fit a JavaScript number`);
    return value;
  });
  return types;
}

function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/**
 * Applies the pending migrations in one transaction under an advisory lock, so servers starting
 * at once take turns: the second finds the work done. The schema is created here, under the lock.
 */
async function migrate(db: Kysely<Schema>, schema: string | undefined): Promise<void> {
  await db.transaction().execute(async (trx) => {
    await sql`SELECT pg_advisory_xact_lock(${MIGRATION_LOCK_CLASS}::int, hashtext(${schema ?? ''}))`.execute(trx);
    if (schema !== undefined) await sql`CREATE SCHEMA IF NOT EXISTS ${sql.id(schema)}`.execute(trx);
    await sql`CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)`.execute(trx);
    const applied = new Set((await trx.selectFrom('schema_migrations').select('version').execute()).map((r) => r.version));
    for (const migration of MIGRATIONS) {
      if (applied.has(migration.version)) continue;
      for (const statement of migration.statements.postgres) await sql.raw(statement).execute(trx);
      await trx
        .insertInto('schema_migrations')
        .values({ version: migration.version, name: migration.name, applied_at: Date.now() })
        .execute();
    }
  });
}

/** Any unique violation (SQLSTATE 23505): a user name, project or token hash taken. */
function isUniqueViolation(error: unknown): boolean {
  return (error as { code?: unknown } | null)?.code === '23505';
}

/** A unique violation (SQLSTATE 23505) on gpu_holds: another job holds one of the GPUs. */
function isGpuHoldConflict(error: unknown): boolean {
  const { code, table } = (error ?? {}) as { code?: unknown; table?: unknown };
  return code === '23505' && table === 'gpu_holds';
}
