// Runs the store and users contracts against a real PostgreSQL: the database
// STINT_TEST_DATABASE_URL names, or else a throwaway cluster started from the installed binaries
// (test/postgres/server.ts). Each store location is a schema of its own, so runs never see each
// other's rows. Also checks what only a shared server can get wrong: servers starting at once,
// and racing for a GPU.

import Database from 'better-sqlite3';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dropSchemas, findPostgresBin, NOT_INSTALLED, startTestPostgres, type TestPostgres } from '../../../test/postgres/server.js';
import type { TaskSpec } from '../../core/spec/types.js';
import { MIGRATIONS } from '../migrations/index.js';
import { storeContract, type StoreFactory } from '../store.contract.js';
import { usersContract } from '../users.contract.js';
import { observabilityContract } from '../observability.contract.js';
import { imagesContract } from '../images.contract.js';
import type { NewJob } from '../types.js';
import { openPostgresStore } from './store.js';
import { lockSchema } from './server-lock.js';
import { openSqliteStore } from '../sqlite/store.js';

let server: TestPostgres | undefined;
let url = '';
const schemas: string[] = [];
const runId = `stint_test_${Date.now().toString(36)}_${process.pid}`;

beforeAll(async () => {
  const given = process.env.STINT_TEST_DATABASE_URL;
  if (given) {
    url = given;
  } else {
    server = await startTestPostgres();
    url = server.url;
  }
});

afterAll(async () => {
  if (server) await server.stop();
  else if (url) await dropSchemas(url, schemas);
});

async function freshSchema(): Promise<string> {
  const schema = `${runId}_${schemas.length + 1}`;
  schemas.push(schema);
  return schema;
}

const postgres: StoreFactory = {
  open: (schema) => openPostgresStore(url, { schema }),
  freshLocation: freshSchema,
};

storeContract('postgres', postgres);
usersContract('postgres', postgres);
observabilityContract('postgres', postgres);
imagesContract('postgres', postgres);

/** The store keeps the spec as opaque JSON; these tests need none of its fields. */
function newJob(submittedAt: number): NewJob {
  return { name: 't', owner: 'ann', project: null, priority: 0, spec: { run: 'true' } as TaskSpec, choices: [0], secrets: {}, backend: 'local', workdirArchive: null, submittedAt };
}

describe('postgres store', () => {
  it('migrates once when several servers start at once on a new schema', async () => {
    const schema = await freshSchema();
    const stores = await Promise.all([1, 2, 3].map(() => openPostgresStore(url, { schema })));
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      const { rows } = await client.query(`SELECT version FROM "${schema}".schema_migrations`);
      expect(rows).toEqual(MIGRATIONS.map((m) => ({ version: m.version })));
    } finally {
      await client.end();
      await Promise.all(stores.map((s) => s.close()));
    }
  });

  it('bootstraps one admin when servers start at once on an empty database', async () => {
    const schema = await freshSchema();
    const stores = await Promise.all([1, 2, 3].map(() => openPostgresStore(url, { schema })));
    const results = await Promise.all(stores.map((s, i) => s.users.bootstrapAdmin('root', `hash-${i}`, 1)));
    expect(results.filter((r) => r === 'created')).toHaveLength(1);
    expect((await stores[0]!.users.listUsers()).map((u) => u.name)).toEqual(['root']);
    expect((await stores[0]!.users.findActiveToken(`hash-${results.indexOf('created')}`))?.user.role).toBe('admin');
    await Promise.all(stores.map((s) => s.close()));
  });

  it('gives a GPU to exactly one of two servers racing for it', async () => {
    const schema = await freshSchema();
    const [one, two] = await Promise.all([openPostgresStore(url, { schema }), openPostgresStore(url, { schema })]);
    const a = await one!.submitJob(newJob(1));
    const b = await two!.submitJob(newJob(2));
    const place = (store: typeof one, jobId: number) =>
      store!.transition({
        jobId, from: 'PENDING', to: 'STARTING', reason: 'placed', at: 3, set: { attempt: 1 },
        newAttempt: { jobId, attempt: 1, backend: 'local', node: 'n1', gpus: [0], cpus: 1, memoryGb: 0, handle: {}, logPath: null, startedAt: 3 },
        hold: [{ backend: 'local', node: 'n1', gpuIndex: 0 }],
      });
    const results = await Promise.allSettled([place(one, a.id), place(two, b.id)]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const refused = results.find((r) => r.status === 'rejected');
    expect(refused?.reason).toMatchObject({ code: 'CONFLICT' });
    const holds = await one!.listHolds();
    expect(holds).toHaveLength(1);
    expect(await one!.listOpenAttempts()).toHaveLength(1);
    expect((await one!.getJob(holds[0]!.jobId))?.state).toBe('STARTING');
    await Promise.all([one!.close(), two!.close()]);
  });

  it('keeps epoch-millisecond times and fractional CPUs exactly, as numbers', async () => {
    const store = await openPostgresStore(url, { schema: await freshSchema() });
    const now = 1_760_000_000_123;
    const job = await store.submitJob(newJob(now));
    await store.transition({
      jobId: job.id, from: 'PENDING', to: 'STARTING', reason: 'placed', at: now + 1, set: { attempt: 1 },
      newAttempt: { jobId: job.id, attempt: 1, backend: 'local', node: null, gpus: [], cpus: 1.5, memoryGb: 0.25, handle: {}, logPath: null, startedAt: now + 1 },
    });
    expect((await store.getJob(job.id))?.submittedAt).toBe(now);
    expect(await store.getAttempt(job.id, 1)).toMatchObject({ startedAt: now + 1, cpus: 1.5, memoryGb: 0.25 });
    expect(await store.countJobs()).toBe(1);
    expect(await store.listJobs({ states: [] })).toEqual([]);
    // BIGINT as number is this store's own setting: pg's global parser still returns text.
    expect(pg.types.getTypeParser(pg.types.builtins.INT8)('9007199254740993')).toBe('9007199254740993');
    await store.close();
  });

  it('lets one server at a time hold a schema, naming the holder, and frees it with the session', async () => {
    const schema = await freshSchema();
    const first = await lockSchema(url, schema);
    await expect(lockSchema(url, schema)).rejects.toMatchObject({ code: 'CONFLICT', message: expect.stringMatching(new RegExp(`schema ${schema}\\): stint server pid ${process.pid} on .* holds its lock`)) });
    const other = await lockSchema(url, await freshSchema());
    await first.release();
    const again = await lockSchema(url, schema);
    await Promise.all([again.release(), other.release()]);
  });

  it('migrates a schema made before migration 007: owner ids from names, and a removed name reusable', async () => {
    const schema = await freshSchema();
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      await client.query(`CREATE SCHEMA "${schema}"; SET search_path TO "${schema}"`);
      await client.query('CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)');
      for (const m of MIGRATIONS.filter((m) => m.version <= 6)) {
        for (const statement of m.statements.postgres) await client.query(statement);
        await client.query('INSERT INTO schema_migrations VALUES ($1, $2, 0)', [m.version, m.name]);
      }
      await client.query(`INSERT INTO users (name, role, created_at, removed_at) VALUES ('ann', 'member', 1, 2)`);
      await client.query(`INSERT INTO jobs (name, owner, priority, state, spec, choices, secrets, submitted_at) VALUES ('j', 'ann', 0, 'PENDING', '{}', '[]', '{}', 1)`);
    } finally {
      await client.end();
    }
    const store = await openPostgresStore(url, { schema });
    const [job] = await store.listJobs();
    const old = await store.users.getUser('ann');
    expect(job).toMatchObject({ owner: 'ann', ownerId: old!.id });
    const fresh = await store.users.addUser('ann', 'member', 3);
    expect(fresh.id).not.toBe(old!.id);
    await store.close();
  });

  it('has the same tables, columns and indexes as SQLite after every migration', async () => {
    const schema = await freshSchema();
    const store = await openPostgresStore(url, { schema });
    await store.close();
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    const columns = await client.query<{ table_name: string; column_name: string }>('SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = $1', [schema]);
    // Primary keys and UNIQUE columns are indexes of their own in PostgreSQL (sqlite_autoindex_* in SQLite).
    const indexes = await client.query<{ indexname: string }>(`SELECT indexname FROM pg_indexes WHERE schemaname = $1 AND indexname NOT LIKE '%_pkey' AND indexname NOT LIKE '%_key'`, [schema]);
    await client.end();
    const sqlitePath = join(await mkdtemp(join(tmpdir(), 'stint-schema-')), 'stint.db');
    await (await openSqliteStore(sqlitePath)).close();
    const raw = new Database(sqlitePath);
    const tables = raw.prepare(`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'`).pluck().all() as string[];
    const sqliteColumns = tables.flatMap((t) => (raw.pragma(`table_info(${t})`) as Array<{ name: string }>).map((c) => `${t}.${c.name}`));
    const sqliteIndexes = raw.prepare(`SELECT name FROM sqlite_master WHERE type = 'index' AND name NOT LIKE 'sqlite_%'`).pluck().all() as string[];
    raw.close();
    expect(columns.rows.map((r) => `${r.table_name}.${r.column_name}`).sort()).toEqual(sqliteColumns.sort());
    expect(indexes.rows.map((r) => r.indexname).sort()).toEqual(sqliteIndexes.sort());
  });

  it('says how to install PostgreSQL when its binaries are missing', () => {
    expect(() => findPostgresBin('/nonexistent/postgresql')).toThrow(NOT_INSTALLED);
  });
});
