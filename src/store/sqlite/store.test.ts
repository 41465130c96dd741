// Runs the store contract and the users contract against the real SQLite engine, in temporary files.
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { storeContract, type StoreFactory } from '../store.contract.js';
import { usersContract } from '../users.contract.js';
import { observabilityContract } from '../observability.contract.js';
import { openSqliteStore } from './store.js';

const sqlite: StoreFactory = {
  open: (location) => openSqliteStore(location),
  freshLocation: async () => join(await mkdtemp(join(tmpdir(), 'stint-store-')), 'stint.db'),
};

storeContract('sqlite', sqlite);
usersContract('sqlite', sqlite);
observabilityContract('sqlite', sqlite);
