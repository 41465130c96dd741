// Secrets at rest (review L14: secret values stayed in plain text in jobs.secrets and the WAL
// after the job ended, protected only by the file mode). Against a real `bin/stint server`: once
// a job that used a secret has ended, no file under $STINT_HOME (stint.db, its WAL and
// shared-memory files, job directories) holds the value; the job still got it, and the logs of a
// job that printed it still show it masked. Needs the build (dist/).

import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isEnded, serverProcess, tempHome, waitForJob, type ServerProcess } from '../helpers/server.js';

const SECRET = 'Sx-7f3a9c1e-at-rest-4d2b8e6f';
let home: string;
let server: ServerProcess;

beforeAll(async () => {
  home = await tempHome();
  server = await serverProcess(home, ['--gpus', 'A100:1']);
}, 60_000);
afterAll(() => {
  server?.child.kill('SIGKILL');
});

/** Every regular file under the directory, with its bytes. */
function filesUnder(dir: string): Array<{ path: string; bytes: Buffer }> {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .map((name) => join(dir, name))
    .filter((path) => statSync(path, { throwIfNoEntry: false })?.isFile())
    .map((path) => ({ path, bytes: readFileSync(path) }));
}

describe('secret values at rest', () => {
  it('leaves no copy of a secret value in any file of the home once its job ended', async () => {
    const task = 'name: uses-secret\nsecrets: {API_KEY: null}\nrun: test "${#API_KEY}" -eq 28 && echo got-it\n';
    const { id } = await server.client.submit({ task, secrets: { API_KEY: SECRET } });
    const ended = await waitForJob(server.client, id!, isEnded);
    expect(ended.state).toBe('SUCCEEDED');
    expect((await server.client.logs(id!)).text).toBe('got-it\n');
    const holding = filesUnder(home).filter((f) => f.bytes.includes(SECRET)).map((f) => f.path);
    expect(holding).toEqual([]);
  });

  it('still masks the value in the logs of an ended job that printed it', async () => {
    const task = 'name: prints-secret\nsecrets: {API_KEY: null}\nrun: echo "key=$API_KEY"\n';
    const { id } = await server.client.submit({ task, secrets: { API_KEY: SECRET } });
    expect((await waitForJob(server.client, id!, isEnded)).state).toBe('SUCCEEDED');
    expect((await server.client.logs(id!)).text).toBe('key=<secret>\n');
  });
});
