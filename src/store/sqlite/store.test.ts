// Runs the store contract and the users contract against the real SQLite engine, in temporary files,
// and migrates a database made before migration 007 (the users table is rebuilt there).
import Database from 'better-sqlite3';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { storeContract, type StoreFactory } from '../store.contract.js';
import { usersContract } from '../users.contract.js';
import { observabilityContract } from '../observability.contract.js';
import { imagesContract } from '../images.contract.js';
import { openSqliteStore } from './store.js';
import { MIGRATIONS } from '../migrations/index.js';
import { describe, expect, it } from 'vitest';

const sqlite: StoreFactory = {
  open: (location) => openSqliteStore(location),
  freshLocation: async () => join(await mkdtemp(join(tmpdir(), 'stint-store-')), 'stint.db'),
};

storeContract('sqlite', sqlite);
usersContract('sqlite', sqlite);
observabilityContract('sqlite', sqlite);
imagesContract('sqlite', sqlite);

describe('sqlite: migration 007 on a database made before it', () => {
  it('keeps users, tokens and memberships, and gives old jobs their owner id', async () => {
    const path = await sqlite.freshLocation();
    const raw = new Database(path);
    raw.exec('CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)');
    for (const m of MIGRATIONS.filter((m) => m.version <= 6)) {
      for (const statement of m.statements.sqlite) raw.exec(statement);
      raw.prepare('INSERT INTO schema_migrations VALUES (?, ?, 0)').run(m.version, m.name);
    }
    raw.exec(`INSERT INTO users (name, role, created_at) VALUES ('ann', 'member', 1), ('bob', 'member', 1)`);
    raw.exec(`INSERT INTO tokens (user_id, hash, created_at) VALUES (2, 'h', 1)`);
    raw.exec(`INSERT INTO projects VALUES ('vision', 1)`);
    raw.exec(`INSERT INTO project_members VALUES ('vision', 2, 'member')`);
    raw.exec(`INSERT INTO jobs (name, owner, priority, state, spec, choices, secrets, submitted_at) VALUES ('j', 'bob', 0, 'PENDING', '{}', '[]', '{}', 1)`);
    raw.close();
    const store = await openSqliteStore(path);
    expect(await store.getJob(1)).toMatchObject({ owner: 'bob', ownerId: 2 });
    expect(await store.users.listMemberships(2)).toEqual([{ project: 'vision', role: 'member' }]);
    expect((await store.users.listTokens(2)).map((t) => t.userName)).toEqual(['bob']);
    const next = await store.users.addUser('cat', 'member', 2);
    expect(next.id).toBe(3);
    // Foreign keys are on again after the migration: a member must be a user.
    await expect(store.users.setMember('vision', 999, 'member')).rejects.toThrow(/FOREIGN KEY/);
    await store.close();
    const check = new Database(path);
    expect(check.pragma('foreign_key_check')).toEqual([]);
    check.close();
  });
});

describe('sqlite: job secrets sealed at rest', () => {
  const key = Buffer.alloc(32, 7);
  const job = (secrets: Record<string, string>) => ({
    name: 's', owner: 'ann', project: null, priority: 0, spec: { run: 'true' } as never, choices: [0], secrets, backend: 'local', workdirArchive: null, submittedAt: 1,
  });

  it('writes no secret value to the database file and reads it back with the key', async () => {
    const path = await sqlite.freshLocation();
    const store = await openSqliteStore(path, { secretKey: key });
    const { id } = await store.submitJob(job({ TOKEN: 'plain-value-that-must-not-be-stored' }));
    expect((await store.getJob(id))?.secrets).toEqual({ TOKEN: 'plain-value-that-must-not-be-stored' });
    await store.close();
    const raw = new Database(path);
    const stored = raw.prepare('SELECT secrets FROM jobs WHERE id = ?').pluck().get(id) as string;
    raw.close();
    expect(stored).toMatch(/^sealed:v1:/);
    expect(stored).not.toContain('plain-value');
    // Without the key, or with another, reading the secrets is an error (never {} in silence);
    // the rest of the row, and listing the queue, still work.
    const keyless = await openSqliteStore(path);
    const row = (await keyless.listJobs())[0]!;
    expect(row.id).toBe(id);
    expect(() => row.secrets).toThrow(/secrets of job 1 cannot be opened/);
    await keyless.close();
    const other = await openSqliteStore(path, { secretKey: Buffer.alloc(32, 8) });
    await expect(other.getJob(id).then((j) => j!.secrets)).rejects.toMatchObject({ code: 'INTERNAL' });
    await other.close();
  });

  it('writes no exported environment value to the database file', async () => {
    const path = await sqlite.freshLocation();
    const store = await openSqliteStore(path, { secretKey: key });
    const { id } = await store.submitJob({ ...job({}), exportedEnv: { MY_SUBMIT_VAR: 'exported-value-that-must-not-be-stored' } });
    expect(await store.getExportedEnv(id)).toEqual({ MY_SUBMIT_VAR: 'exported-value-that-must-not-be-stored' });
    await store.close();
    const raw = new Database(path);
    const stored = raw.prepare('SELECT env FROM job_exported_env WHERE job_id = ?').pluck().get(id) as string;
    raw.close();
    expect(stored).toMatch(/^sealed:v1:/);
    expect(stored).not.toContain('exported-value');
    const other = await openSqliteStore(path, { secretKey: Buffer.alloc(32, 8) });
    await expect(other.getExportedEnv(id)).rejects.toMatchObject({ code: 'INTERNAL' });
    await other.close();
  });

  it('reads rows written before sealing (plain JSON) as they are', async () => {
    const path = await sqlite.freshLocation();
    const plain = await openSqliteStore(path);
    const { id } = await plain.submitJob(job({ A: 'old' }));
    await plain.close();
    const sealed = await openSqliteStore(path, { secretKey: key });
    expect((await sealed.getJob(id))?.secrets).toEqual({ A: 'old' });
    await sealed.close();
  });
});
