// A throwaway PostgreSQL cluster for tests, started from the installed binaries (Debian puts them
// in /usr/lib/postgresql/<version>/bin) in a temporary directory, and removed by stop(). It
// listens only on a unix socket in that directory (no TCP), so it collides with no other server
// and nothing else on the machine reaches it. initdb refuses to run as root: as root, the cluster
// is owned and run by the `postgres` OS user. No PostgreSQL binaries is an error, never a skip.

import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { appendFile, chown, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';

const run = promisify(execFile);

export const NOT_INSTALLED = 'PostgreSQL is not installed: run .ci/run, or apt-get install postgresql';

export interface TestPostgres {
  /** Connection URL of the cluster's `postgres` database, as its superuser. */
  url: string;
  stop(): Promise<void>;
}

/** The bin directory of the newest installed PostgreSQL that has initdb and pg_ctl. */
export function findPostgresBin(root = '/usr/lib/postgresql'): string {
  const versions = existsSync(root) ? readdirSync(root).filter((v) => /^\d+(\.\d+)?$/.test(v)) : [];
  versions.sort((a, b) => Number(b) - Number(a));
  for (const version of versions) {
    const bin = join(root, version, 'bin');
    if (existsSync(join(bin, 'initdb')) && existsSync(join(bin, 'pg_ctl'))) return bin;
  }
  throw new Error(NOT_INSTALLED);
}

export async function startTestPostgres(): Promise<TestPostgres> {
  const bin = findPostgresBin();
  const dir = await mkdtemp(join(tmpdir(), 'stint-pg-'));
  const data = join(dir, 'data');
  const log = join(dir, 'server.log');
  const asRoot = process.getuid?.() === 0;
  if (asRoot) {
    const [uid, gid] = await Promise.all([idOf('-u'), idOf('-g')]);
    await chown(dir, uid, gid);
  }
  const tool = (name: string, args: string[]) =>
    asRoot ? run('runuser', ['-u', 'postgres', '--', join(bin, name), ...args]) : run(join(bin, name), args);
  try {
    await tool('initdb', ['-D', data, '-U', 'postgres', '--auth=trust', '--encoding=UTF8', '--locale=C', '--no-sync']);
    // Durability is not what these tests check: skip the fsyncs.
    const settings = [`listen_addresses = ''`, `unix_socket_directories = '${dir}'`, 'port = 5432', 'fsync = off', 'synchronous_commit = off', 'full_page_writes = off'];
    await appendFile(join(data, 'postgresql.conf'), `\n${settings.join('\n')}\n`);
    await tool('pg_ctl', ['-D', data, '-l', log, '-w', '-t', '60', 'start']);
  } catch (error) {
    const serverLog = await readFile(log, 'utf8').catch(() => '');
    await rm(dir, { recursive: true, force: true });
    throw new Error(`could not start a test PostgreSQL from ${bin}: ${String(error)}\n${serverLog}`, { cause: error });
  }
  return {
    url: `postgresql://postgres@localhost/postgres?host=${encodeURIComponent(dir)}&port=5432`,
    async stop() {
      try {
        await tool('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
  };
}

async function idOf(flag: '-u' | '-g'): Promise<number> {
  try {
    return Number((await run('id', [flag, 'postgres'])).stdout.trim());
  } catch (error) {
    throw new Error(`running as root, the test PostgreSQL needs the 'postgres' OS user (${NOT_INSTALLED})`, { cause: error });
  }
}

/** Drops schemas a test created (on a shared database given by STINT_TEST_DATABASE_URL). */
export async function dropSchemas(url: string, schemas: readonly string[]): Promise<void> {
  if (schemas.length === 0) return;
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    for (const schema of schemas) await client.query(`DROP SCHEMA IF EXISTS "${schema.replaceAll('"', '""')}" CASCADE`);
  } finally {
    await client.end();
  }
}
