// Exactly once, against real `bin/stint server` processes (review: two servers on one home both
// scheduled and a job ran twice; stopping the second deleted the first's server.json; M8, #114,
// #116: a retry after a lost acknowledgement stored and ran a job twice).
//   - A second server on the same home, on the same SQLite file through another home, or on the
//     same PostgreSQL schema, exits non-zero naming the PID that holds the lock; the first keeps serving and keeps its
//     server.json; a kill -9 frees the lock for the next server.
//   - Submissions take an Idempotency-Key: the same key and body give one job (the retry answers
//     200 with Idempotent-Replayed: true), whether the answer was dropped by the client or lost in
//     a kill -9; the same key with another body is 422; a bad key is 400 naming the header.
//   - `stint launch` sends a key and retries with it until a server answers.
// Needs the build (dist/).

import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { linkSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { createServer, connect as tcpConnect } from 'node:net';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { StintClient } from '../../src/api/client.js';
import { startTestPostgres, type TestPostgres } from '../postgres/server.js';
import { isEnded, serverProcess, sleep, STINT_BIN, tempHome, waitForJob, type ServerProcess } from '../helpers/server.js';

const started: ServerProcess[] = [];
afterEach(() => {
  for (const s of started.splice(0)) s.child.kill('SIGKILL');
});

async function start(home: string, args: string[] = []): Promise<ServerProcess> {
  const s = await serverProcess(home, ['--gpus', 'A100:2', '--kill-grace', '1', ...args]);
  started.push(s);
  return s;
}

/** Runs `stint server` on the home and waits for it to exit (or kills it after `limitMs`). */
async function secondServer(home: string, limitMs = 20_000): Promise<{ code: number | null; output: string; killed: boolean }> {
  const child = spawn(process.execPath, [STINT_BIN, 'server', '--home', home, '--port', '0', '--allow-root-jobs', '--gpus', 'A100:2'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  let killed = false;
  // Still running after the limit: it started beside the first. Stop it the polite way, as a user
  // would, which is when it used to delete the first server's server.json.
  const timer = setTimeout(() => {
    killed = true;
    child.kill('SIGTERM');
  }, limitMs);
  const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
  clearTimeout(timer);
  return { code, output, killed };
}

const serverJson = (home: string) => JSON.parse(readFileSync(join(home, 'server.json'), 'utf8')) as { url: string; pid: number };

describe('one server per home', () => {
  it('refuses a second server on the same home, naming the PID; the first keeps running with its server.json', async () => {
    const home = await tempHome();
    const first = await start(home);
    const second = await secondServer(home);
    expect(second.killed, second.output).toBe(false);
    expect(second.code).not.toBe(0);
    expect(second.output).toMatch(new RegExp(`another stint server already runs on .*locked by PID ${first.child.pid}`));
    expect(serverJson(home).pid).toBe(first.child.pid);
    const { id } = await first.client.submit({ task: 'resources: {accelerators: A100:1}\nrun: echo still-here\n' });
    expect((await waitForJob(first.client, id!, isEnded)).state).toBe('SUCCEEDED');
    expect((await first.client.logs(id!)).text).toBe('still-here\n');
  });

  it('refuses a second server on the same SQLite file reached through another home', async () => {
    const home = await tempHome();
    const first = await start(home);
    const other = await tempHome();
    symlinkSync(join(home, 'stint.db'), join(other, 'stint.db'));
    const second = await secondServer(other);
    expect(second.killed, second.output).toBe(false);
    expect(second.code).not.toBe(0);
    expect(second.output).toMatch(new RegExp(`locked by PID ${first.child.pid}`));
    expect((await first.client.info()).version).toEqual(expect.any(String));
  });

  it('refuses a second server on the same SQLite file hard-linked into another home (red-team finding)', async () => {
    const home = await tempHome();
    const first = await start(home);
    const other = await tempHome();
    linkSync(join(home, 'stint.db'), join(other, 'stint.db'));
    const second = await secondServer(other);
    expect(second.killed, second.output).toBe(false);
    expect(second.code).not.toBe(0);
    expect(second.output).toMatch(/stint\.db has 2 hard links/);
    expect((await first.client.info()).version).toEqual(expect.any(String));
  });

  it("a stopping server leaves a server.json that is no longer its own", async () => {
    const home = await tempHome();
    const first = await start(home);
    // Another server's file (e.g. written after this one's): stopping must not delete it.
    const other = JSON.stringify({ url: 'http://127.0.0.1:1', pid: 999_999 }) + '\n';
    writeFileSync(join(home, 'server.json'), other);
    first.child.kill('SIGTERM');
    expect(await new Promise((r) => first.child.once('exit', r))).toBe(0);
    expect(readFileSync(join(home, 'server.json'), 'utf8')).toBe(other);
  });

  it('lets the next server start once the holder is killed with SIGKILL', async () => {
    const home = await tempHome();
    const first = await start(home);
    first.child.kill('SIGKILL');
    await new Promise((r) => first.child.once('exit', r));
    const next = await start(home);
    expect(serverJson(home).pid).toBe(next.child.pid);
  });
});

describe('one server per PostgreSQL schema', () => {
  let pg: TestPostgres;
  beforeAll(async () => {
    pg = await startTestPostgres();
  }, 120_000);
  afterAll(async () => {
    await pg?.stop();
  });

  it('refuses a second server (another home) on the same database and schema, naming the first', async () => {
    process.env.STINT_DATABASE_URL = pg.url;
    try {
      const first = await start(await tempHome());
      const second = await secondServer(await tempHome());
      expect(second.killed, second.output).toBe(false);
      expect(second.code).not.toBe(0);
      expect(second.output).toMatch(new RegExp(`another stint server already schedules from this database \\(schema stint\\): stint server pid ${first.child.pid} on `));
      expect((await first.client.info()).version).toEqual(expect.any(String));
    } finally {
      delete process.env.STINT_DATABASE_URL;
    }
  });
});

/** POST /api/v1/jobs with raw fetch, so the test sees the status and headers. */
async function post(url: string, token: string, body: unknown, key?: string) {
  const headers: Record<string, string> = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
  if (key !== undefined) headers['idempotency-key'] = key;
  const response = await fetch(`${url}/api/v1/jobs`, { method: 'POST', headers, body: JSON.stringify(body) });
  return { status: response.status, replayed: response.headers.get('idempotent-replayed'), body: (await response.json()) as { id: number | null; code?: string; details?: Record<string, unknown> } };
}

const tokenOf = (home: string) => readFileSync(join(home, 'token'), 'utf8').trim();
const named = async (client: StintClient, name: string) => (await client.listJobs({ all: true, limit: 10_000 })).jobs.filter((j) => j.name === name);

describe('Idempotency-Key on POST /api/v1/jobs', () => {
  it('makes one job of two submissions with the same key and body; another body is 422; bad keys are 400', async () => {
    const home = await tempHome();
    const s = await start(home);
    const token = tokenOf(home);
    const body = { task: 'name: once\nrun: "true"\n' };
    const first = await post(s.url, token, body, '"k-1"');
    const again = await post(s.url, token, body, '"k-1"');
    expect(first).toMatchObject({ status: 201, replayed: null });
    expect(again).toMatchObject({ status: 200, replayed: 'true', body: { id: first.body.id } });
    expect(await named(s.client, 'once')).toHaveLength(1);
    const other = await post(s.url, token, { task: 'name: twice\nrun: "true"\n' }, '"k-1"');
    expect(other).toMatchObject({ status: 422, body: { code: 'IDEMPOTENCY_KEY_REUSED', details: { field: 'Idempotency-Key', job: first.body.id } } });
    for (const bad of ['""', `"${'x'.repeat(256)}"`, '"unterminated']) {
      expect(await post(s.url, token, body, bad)).toMatchObject({ status: 400, body: { code: 'INVALID_REQUEST', details: { field: 'Idempotency-Key' } } });
    }
    // Bytes fetch will not send go on a raw socket: a non-ASCII byte reaches stint and is refused
    // naming the header; a control character is refused by Node's HTTP parser before it.
    expect(await rawPost(s.url, token, body, '"k\xe9"')).toMatch(/^HTTP\/1\.1 400[\s\S]*Idempotency-Key header: the key holds a character that is not printable ASCII/);
    expect(await rawPost(s.url, token, body, '"k\x01"')).toMatch(/^HTTP\/1\.1 400/);
    expect(await named(s.client, 'once')).toHaveLength(1);
    // Keys are per user: another user's same key is its own submission.
    const { token: ann } = await s.client.addUser('ann');
    expect(await post(s.url, ann, body, '"k-1"')).toMatchObject({ status: 201 });
    expect(await named(s.client, 'once')).toHaveLength(2);
  });

  it('stores a submission once when the client dropped the connection before the answer and retried', async () => {
    const home = await tempHome();
    const s = await start(home);
    const token = tokenOf(home);
    const body = { task: 'name: dropped\nrun: "true"\n' };
    const drops: Array<() => void> = [];
    await rawPost(s.url, token, body, '"drop-1"', { hangUp: true, drops });
    for (let i = 0; i < 200 && (await named(s.client, 'dropped')).length === 0; i++) await sleep(50);
    expect(await named(s.client, 'dropped')).toHaveLength(1);
    for (const drop of drops) drop(); // the answer is thrown away unread
    const retry = await post(s.url, token, body, '"drop-1"');
    expect(retry).toMatchObject({ status: 200, replayed: 'true' });
    expect(await named(s.client, 'dropped')).toEqual([expect.objectContaining({ id: retry.body.id })]);
  });

  it('stores a submission once when the server was killed with SIGKILL after the commit and the client retried after the restart', async () => {
    const home = await tempHome();
    let s = await start(home);
    const token = tokenOf(home);
    const body = { task: 'name: crashed\nresources: {accelerators: A100:1}\nrun: echo ran-once\n' };
    const first = await post(s.url, token, body, '"crash-1"');
    expect(first.status).toBe(201);
    s.child.kill('SIGKILL'); // the answer "was lost": the client never saw it and retries
    await new Promise((r) => s.child.once('exit', r));
    s = await start(home);
    const retry = await post(s.url, token, body, '"crash-1"');
    expect(retry).toMatchObject({ status: 200, replayed: 'true', body: { id: first.body.id } });
    const jobs = await named(s.client, 'crashed');
    expect(jobs).toHaveLength(1);
    expect((await waitForJob(s.client, jobs[0]!.id, isEnded)).state).toBe('SUCCEEDED');
  });
});

describe('stint launch retries with its key', () => {
  it('submits once when the server comes up while the CLI is retrying', async () => {
    const home = await tempHome();
    await mkdir(home, { recursive: true });
    writeFileSync(join(home, 'token'), `${randomBytes(24).toString('base64url')}\n`, { mode: 0o600 });
    const port = await freePort();
    const task = join(home, 'task.yaml');
    writeFileSync(task, 'name: launched\nrun: "true"\n');
    // The CLI reads the token from the home (no STINT_TOKEN), as on the server's own machine.
    const env: NodeJS.ProcessEnv = { ...process.env, STINT_HOME: home, STINT_URL: `http://127.0.0.1:${port}` };
    delete env.STINT_TOKEN;
    const cli = spawn(process.execPath, [STINT_BIN, 'launch', task, '--detach'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    cli.stdout.on('data', (d) => (out += d));
    cli.stderr.on('data', (d) => (err += d));
    for (let i = 0; i < 200 && !/try 2/.test(err); i++) await sleep(25);
    expect(err).toMatch(/try 2 in .* with the same Idempotency-Key/);
    const s = await start(home, ['--port', String(port)]);
    const code = await new Promise<number | null>((resolve) => cli.once('exit', resolve));
    expect(code, err).toBe(0);
    const jobs = await named(s.client, 'launched');
    expect(jobs.map((j) => j.id)).toEqual([Number(out.trim())]);
  });
});

/**
 * Sends the POST on a raw socket. With hangUp the client half-closes after writing (so the whole
 * request arrives) and never reads: `drop()` later destroys the socket with the answer unread.
 */
function rawPost(url: string, token: string, body: unknown, key: string, options: { hangUp?: boolean; drops?: Array<() => void> } = {}): Promise<string> {
  const { hostname, port } = new URL(url);
  const text = JSON.stringify(body);
  const request = `POST /api/v1/jobs HTTP/1.1\r\nHost: ${hostname}:${port}\r\nAuthorization: Bearer ${token}\r\nContent-Type: application/json\r\nIdempotency-Key: ${key}\r\nContent-Length: ${Buffer.byteLength(text)}\r\nConnection: close\r\n\r\n${text}`;
  return new Promise((resolve, reject) => {
    const socket = tcpConnect(Number(port), hostname, () => {
      socket.write(request, 'latin1', () => {
        if (options.hangUp) {
          socket.pause();
          socket.end();
          options.drops?.push(() => socket.destroy());
          resolve('');
        }
      });
    });
    let answer = '';
    socket.on('data', (d) => (answer += d));
    socket.on('end', () => resolve(answer));
    socket.on('error', reject);
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}
