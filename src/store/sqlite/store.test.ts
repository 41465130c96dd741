// Runs the store contract against the real SQLite engine, in temporary files.
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { storeContract } from '../store.contract.js';
import { openSqliteStore } from './store.js';

storeContract('sqlite', {
  open: (location) => openSqliteStore(location),
  freshLocation: async () => join(await mkdtemp(join(tmpdir(), 'stint-store-')), 'stint.db'),
});
