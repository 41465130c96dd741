// The embedded SQLite store (better-sqlite3 behind Kysely). WAL mode with synchronous=NORMAL: a
// committed transaction survives a crash of the server process (it is in the WAL before the call
// returns); only a power loss may drop the last transactions. Owns the SQLite dialect details:
// pragmas, a prepared-statement cache, migrations, which error is a GPU hold conflict; the queries
// are the shared ones of kysely-store.ts.

import Database from 'better-sqlite3';
import { Kysely, SqliteDialect, sql } from 'kysely';
import { KyselyStore } from '../kysely-store.js';
import { KyselyUserStore } from '../kysely-users.js';
import { MIGRATIONS } from '../migrations/index.js';
import { PLAIN_SECRETS, sealedSecrets } from '../secret-box.js';
import type { Database as Schema } from '../schema.js';
import type { Store } from '../types.js';

export interface SqliteStoreOptions {
  /** Seals job secrets at rest with this 32-byte key (secret-box.ts); plain JSON without one. */
  secretKey?: Buffer;
}

export async function openSqliteStore(path: string, options: SqliteStoreOptions = {}): Promise<Store> {
  const raw = new Database(path);
  raw.pragma('journal_mode = WAL');
  raw.pragma('synchronous = NORMAL');
  raw.pragma('foreign_keys = ON');
  raw.pragma('busy_timeout = 5000');
  // Deleted and overwritten content (a purged job's secrets) is zeroed, not left in free pages.
  raw.pragma('secure_delete = ON');
  const db = new Kysely<Schema>({ dialect: new SqliteDialect({ database: withStatementCache(raw) }) });
  await migrate(db);
  const box = options.secretKey ? sealedSecrets(options.secretKey) : PLAIN_SECRETS;
  return new KyselyStore(db, isUniqueViolation, new KyselyUserStore(db, isUniqueViolation), isUniqueViolation, box);
}

/**
 * Kysely prepares every query anew; preparing costs more than running our small queries, so
 * statements are kept by SQL text (bounded: queries with IN lists vary in length).
 */
function withStatementCache(raw: Database.Database): { close(): void; prepare(sql: string): Database.Statement } {
  const cache = new Map<string, Database.Statement>();
  return {
    close: () => raw.close(),
    prepare(text: string) {
      let statement = cache.get(text);
      if (!statement) {
        statement = raw.prepare(text);
        if (cache.size >= 256) cache.delete(cache.keys().next().value!);
        cache.set(text, statement);
      }
      return statement;
    },
  };
}

async function migrate(db: Kysely<Schema>): Promise<void> {
  await sql`CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)`.execute(db);
  const applied = new Set((await db.selectFrom('schema_migrations').select('version').execute()).map((r) => r.version));
  for (const migration of MIGRATIONS) {
    if (applied.has(migration.version)) continue;
    // PRAGMA foreign_keys is a no-op inside a transaction: switched around it, checked within it.
    if (migration.foreignKeysOff) await sql`PRAGMA foreign_keys = OFF`.execute(db);
    try {
      await db.transaction().execute(async (trx) => {
        for (const statement of migration.statements.sqlite) await sql.raw(statement).execute(trx);
        if (migration.foreignKeysOff) await assertForeignKeys(trx, migration.version);
        await trx
          .insertInto('schema_migrations')
          .values({ version: migration.version, name: migration.name, applied_at: Date.now() })
          .execute();
      });
    } finally {
      if (migration.foreignKeysOff) await sql`PRAGMA foreign_keys = ON`.execute(db);
    }
  }
}

async function assertForeignKeys(trx: Kysely<Schema>, version: number): Promise<void> {
  const { rows } = await sql<Record<string, unknown>>`PRAGMA foreign_key_check`.execute(trx);
  if (rows.length > 0) throw new Error(`migration ${version} would leave ${rows.length} broken references, first: ${JSON.stringify(rows[0])}`);
}

function isUniqueViolation(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || code === 'SQLITE_CONSTRAINT_UNIQUE';
}
