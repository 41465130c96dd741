// Runs the store contract and the users contract against the real SQLite engine, in temporary files,
// and migrates a database made before migration 007 (the users table is rebuilt there).
import Database from 'better-sqlite3';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { storeContract, type StoreFactory } from '../store.contract.js';
import { usersContract } from '../users.contract.js';
import { observabilityContract } from '../observability.contract.js';
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
