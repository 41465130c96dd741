// One scheduling server per PostgreSQL schema: a session advisory lock (pg_try_advisory_lock) on
// a connection of its own, held for the life of the server. Invariants: two servers never
// schedule from one schema at once; the lock goes with the session, so a server that dies (kill
// -9, lost network) frees it when PostgreSQL drops the connection; a refused server learns who
// holds it from the holder's application_name ("stint server pid N on HOST").

import { hostname } from 'node:os';
import pg from 'pg';
import { StintError } from '../../core/errors.js';

/** Advisory lock class of the running server; the second key is the schema (as for migrations). */
const SERVER_LOCK_CLASS = 0x5718;

export interface SchemaLock {
  release(): Promise<void>;
}

export async function lockSchema(url: string, schema: string | undefined): Promise<SchemaLock> {
  const client = new pg.Client({ connectionString: url, application_name: `stint server pid ${process.pid} on ${hostname()}` });
  // A dropped connection loses the lock: the server must not go on scheduling without it.
  client.on('error', () => {});
  await client.connect();
  try {
    const key = schema ?? '';
    const { rows } = await client.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1::int, hashtext($2)) AS locked', [SERVER_LOCK_CLASS, key]);
    if (!rows[0]?.locked) throw new StintError('CONFLICT', `another stint server already schedules from this database${schema === undefined ? '' : ` (schema ${schema})`}: ${await holderOf(client, key)} holds its lock. Stop that server first, or give this one its own schema (STINT_DATABASE_SCHEMA)`, { field: 'STINT_DATABASE_URL', schema: schema ?? null });
  } catch (error) {
    await client.end().catch(() => undefined);
    throw error;
  }
  return {
    async release() {
      await client.end().catch(() => undefined);
    },
  };
}

async function holderOf(client: pg.Client, key: string): Promise<string> {
  const { rows } = await client.query<{ application_name: string }>(
    `SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
     WHERE l.locktype = 'advisory' AND l.granted AND l.classid = $1::int::oid AND l.objid = hashtext($2)::oid AND l.objsubid = 2`,
    [SERVER_LOCK_CLASS, key],
  ).catch(() => ({ rows: [] as Array<{ application_name: string }> }));
  return rows[0]?.application_name || 'another server';
}
