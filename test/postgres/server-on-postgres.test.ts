// `stint server` on PostgreSQL (STINT_DATABASE_URL): jobs run and survive a restart of the server,
// against a throwaway real PostgreSQL cluster.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StintClient } from '../../src/api/client.js';
import { serverConfig } from '../../src/config.js';
import { startServer } from '../../src/server/start.js';
import { isEnded, tempHome, waitForJob } from '../helpers/server.js';
import { startTestPostgres, type TestPostgres } from './server.js';

let pg: TestPostgres;
beforeAll(async () => {
  pg = await startTestPostgres();
});
afterAll(async () => {
  await pg.stop();
});

describe('stint server on PostgreSQL', () => {
  it('runs jobs and keeps them across a restart', async () => {
    const home = await tempHome();
    const config = serverConfig({ home, port: '0', gpus: 'A100:2', databaseUrl: pg.url });
    const first = await startServer(config);
    const token = readFileSync(join(home, 'token'), 'utf8').trim();
    const client = new StintClient(first.url, token);
    const { id } = await client.submit({ task: 'resources: {accelerators: A100:1}\nrun: echo on-postgres; exit 4\n' });
    expect(await waitForJob(client, id!, isEnded)).toMatchObject({ state: 'FAILED', exitCode: 4 });
    await first.stop();
    const second = await startServer(config);
    const again = new StintClient(second.url, token);
    expect((await again.getJob(id!)).exitCode).toBe(4);
    expect((await again.logs(id!)).text).toBe('on-postgres\n');
    await second.stop();
  });

  it('refuses a URL that is not PostgreSQL, naming the variable', () => {
    expect(() => serverConfig({ databaseUrl: 'mysql://u:secret@h/db' })).toThrow(/STINT_DATABASE_URL: "mysql:\/\/\*\*\*@h\/db" is not a PostgreSQL URL/);
  });
});
