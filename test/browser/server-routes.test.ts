// The server side of the web UI, over real HTTP: the built UI at / with an SPA fallback, caching
// and a CSP, unknown API paths still JSON errors, a clear page when the UI was not built; the
// live log stream (SSE) with its order, end event and access rule; the jobs list's filters,
// sort, paging and total; usage in time buckets.
import Fastify from 'fastify';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerUiRoutes } from '../../src/server/routes/ui.js';
import { inProcessServer, waitForJob, type InProcessServer } from '../helpers/server.js';
import { ensureUiBuilt } from './browser.js';

let s: InProcessServer;
const auth = () => ({ authorization: `Bearer ${s.token}` });

beforeAll(async () => {
  ensureUiBuilt();
  s = await inProcessServer({ gpus: 'A100:2' });
});
afterAll(async () => {
  await s?.server.stop();
});

/** Reads an SSE answer to its end: the events in order. */
async function readEvents(response: Response): Promise<Array<{ event: string; data: Record<string, unknown> }>> {
  const text = await response.text();
  return text.split('\n\n').filter((b) => b.includes('data: ')).map((block) => {
    const event = /^event: (.*)$/m.exec(block)?.[1] ?? 'message';
    const data = JSON.parse(/^data: (.*)$/m.exec(block)![1]!) as Record<string, unknown>;
    return { event, data };
  });
}

describe('the UI route', () => {
  it('serves index.html at / and for app paths, never cached', async () => {
    for (const path of ['/', '/jobs/12', '/admin/users']) {
      const r = await fetch(s.server.url + path);
      expect(r.status).toBe(200);
      expect(r.headers.get('content-type')).toMatch(/text\/html/);
      expect(r.headers.get('cache-control')).toMatch(/no-cache|max-age=0/);
      expect(r.headers.get('content-security-policy')).toContain("default-src 'self'");
      expect(await r.text()).toContain('<div id="root">');
    }
  });

  it('serves hashed assets as immutable, and a missing asset is a 404', async () => {
    const html = await (await fetch(s.server.url + '/')).text();
    const script = /src="(\/assets\/[^"]+\.js)"/.exec(html)![1]!;
    const r = await fetch(s.server.url + script);
    expect(r.status).toBe(200);
    expect(r.headers.get('cache-control')).toMatch(/immutable/);
    expect(r.headers.get('content-type')).toMatch(/javascript/);
    expect((await fetch(s.server.url + '/assets/nope-123.js')).status).toBe(404);
  });

  it('keeps unknown API paths JSON errors and never serves files outside the UI', async () => {
    const r = await fetch(s.server.url + '/api/v2/nothing');
    expect(r.status).toBe(404);
    expect(((await r.json()) as { code: string }).code).toBe('NOT_FOUND');
    const escape = await fetch(s.server.url + '/assets/..%2f..%2fpackage.json');
    expect(await escape.text()).not.toContain('"name": "stint"');
  });

  it('says how to build the UI when it was not built', async () => {
    const app = Fastify();
    await registerUiRoutes(app, { root: await mkdtemp(join(tmpdir(), 'stint-noui-')) });
    const r = await app.inject({ method: 'GET', url: '/jobs' });
    expect(r.statusCode).toBe(503);
    expect(r.body).toContain('npm run build');
    await app.close();
  });
});

describe('the live log stream', () => {
  it('sends the output in order from the offset asked for, then an end event', async () => {
    const id = (await s.client.submit({ task: 'run: |\n  echo first\n  sleep 1\n  echo second\n' })).id!;
    const events = await readEvents(await fetch(`${s.server.url}/api/v1/jobs/${id}/logs/stream?offset=0`, { headers: auth() }));
    const logs = events.filter((e) => e.event === 'log');
    expect(logs.map((e) => e.data.text).join('')).toBe('first\nsecond\n');
    for (let i = 1; i < logs.length; i++) expect(logs[i]!.data.offset).toBe(logs[i - 1]!.data.nextOffset);
    expect(events.at(-1)).toEqual({ event: 'end', data: { attempt: 1, state: 'SUCCEEDED', exitCode: 0, endReason: 'exit' } });
    const tail = await readEvents(await fetch(`${s.server.url}/api/v1/jobs/${id}/logs/stream?offset=-7`, { headers: auth() }));
    expect(tail[0]).toMatchObject({ event: 'log', data: { text: 'second\n', offset: 6 } });
  });

  it('masks secret values and refuses users without a grant', async () => {
    const id = (await s.client.submit({ task: 'secrets:\n  KEY: s3cr3t-value\nrun: echo "key=$KEY"\n', secrets: { KEY: 's3cr3t-value' } })).id!;
    await waitForJob(s.client, id, (j) => j.state === 'SUCCEEDED');
    const events = await readEvents(await fetch(`${s.server.url}/api/v1/jobs/${id}/logs/stream`, { headers: auth() }));
    expect(events[0]!.data.text).toBe('key=<secret>\n');
    const bob = (await s.client.addUser('bob', 'member')).token;
    const refused = await fetch(`${s.server.url}/api/v1/jobs/${id}/logs/stream`, { headers: { authorization: `Bearer ${bob}` } });
    expect(refused.status).toBe(403);
    expect(((await refused.json()) as { details: { rule: string } }).details.rule).toBe('logs.owner-or-project-admin');
  });

  it('waits for a pending job to start, and ends a job cancelled before it ran', async () => {
    const blocker = (await s.client.submit({ task: 'resources: {accelerators: A100:2}\nrun: sleep 60\n' })).id!;
    await waitForJob(s.client, blocker, (j) => j.state === 'RUNNING');
    const waiting = (await s.client.submit({ task: 'resources: {accelerators: A100:2}\nrun: echo late\n' })).id!;
    const stream = fetch(`${s.server.url}/api/v1/jobs/${waiting}/logs/stream`, { headers: auth() }).then(readEvents);
    await s.client.cancel(waiting);
    expect(await stream).toEqual([{ event: 'end', data: { attempt: null, state: 'CANCELLED' } }]);
    await s.client.cancel(blocker);
  });
});

describe('the jobs list for the UI', () => {
  it('filters by name, user and state, sorts, pages and counts', async () => {
    for (const name of ['sweep-a', 'sweep-b', 'other']) await s.client.submit({ task: `name: ${name}\nrun: "true"\n` });
    const get = async (query: string) => (await (await fetch(`${s.server.url}/api/v1/jobs?${query}`, { headers: auth() })).json()) as { jobs: Array<{ name: string }>; total?: number };
    const page = await get('all=true&q=SWEEP&sort=name&order=asc&offset=0&limit=1');
    expect(page).toMatchObject({ total: 2, jobs: [{ name: 'sweep-a' }] });
    expect((await get('all=true&q=sweep&sort=name&order=asc&offset=1&limit=1')).jobs.map((j) => j.name)).toEqual(['sweep-b']);
    expect((await get('all=true&user=nobody&offset=0')).total).toBe(0);
    expect((await get('all=true&q=sweep')).total).toBeUndefined();
    const bad = await fetch(`${s.server.url}/api/v1/jobs?since=yesterday`, { headers: auth() });
    expect(bad.status).toBe(400);
  });

  it('gives usage in equal time buckets', async () => {
    // Two GPUs held for about 4 s: 0.002 GPU-hours, above the 0.001 the report rounds to.
    const id = (await s.client.submit({ task: 'resources: {accelerators: A100:2}\nrun: sleep 4\n' })).id!;
    await waitForJob(s.client, id, (j) => j.state === 'SUCCEEDED');
    const r = (await (await fetch(`${s.server.url}/api/v1/usage/series?since=1h&buckets=6`, { headers: auth() })).json()) as { starts: string[]; bucketSeconds: number; series: Array<{ name: string; gpuHours: number[] }> };
    const total = await s.client.usage({ since: '1h' });
    expect(r.starts).toHaveLength(6);
    expect(r.bucketSeconds).toBeCloseTo(600, 0);
    expect(r.series.map((x) => x.name)).toEqual(total.rows.map((row) => row.name).sort());
    const owner = total.rows[0]!;
    const buckets = r.series.find((x) => x.name === owner.name)!.gpuHours;
    expect(buckets).toHaveLength(6);
    expect(buckets.at(-1)).toBeGreaterThan(0);
    expect(Math.abs(buckets.reduce((a, b) => a + b, 0) - owner.gpuHours)).toBeLessThanOrEqual(0.001 * 6);
  });
});
