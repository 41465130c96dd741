// No secret value and no one else's token in any API answer: a scripted session of three users
// (submit with a secret, dry run, queue, detail, logs, tokens, admin lists, audit, refusals) whose
// every response body is scanned. The only plain tokens a response may hold are the caller's own
// and the one that response creates. The server log is scanned too.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inProcessServer, isEnded, sleep, type InProcessServer } from './helpers/server.js';

const SECRET = 'hunter2-very-secret-value';

interface Recorded {
  caller: string;
  what: string;
  body: string;
  created: string | null;
}

let s: InProcessServer;
const recorded: Recorded[] = [];

beforeAll(async () => {
  s = await inProcessServer({ gpus: 'A100:2' });
});
afterAll(async () => {
  await s.server.stop().catch(() => undefined);
});

/** One API call as the holder of `token`; the raw answer is recorded for the scan. */
async function api(token: string, method: string, path: string, body?: unknown): Promise<any> {
  const response = await fetch(s.server.url + path, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  const parsed = JSON.parse(text);
  recorded.push({ caller: token, what: `${method} ${path} -> ${response.status}`, body: text, created: typeof parsed?.token === 'string' ? parsed.token : null });
  return parsed;
}

async function waitEnded(token: string, id: number): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (isEnded(await api(token, 'GET', `/api/v1/jobs/${id}`))) return;
    await sleep(50);
  }
  throw new Error(`job ${id} did not end`);
}

describe('a scripted session never shows a secret or another token', () => {
  it('scans every answer', async () => {
    const root = s.token;
    const ann = (await api(root, 'POST', '/api/v1/admin/users', { name: 'ann' })).token as string;
    const bob = (await api(root, 'POST', '/api/v1/admin/users', { name: 'bob', role: 'member' })).token as string;
    const eve = (await api(root, 'POST', '/api/v1/admin/users', { name: 'eve', role: 'viewer' })).token as string;
    await api(root, 'POST', '/api/v1/admin/projects', { name: 'vision' });
    await api(root, 'PUT', '/api/v1/admin/projects/vision/members/ann', { role: 'admin' });

    const task = 'name: leaky\nsecrets: {API_KEY: null}\nenvs: {MODE: fast}\nresources: {accelerators: A100:1}\nrun: echo "key=$API_KEY mode=$MODE"\nproject: vision\n';
    await api(ann, 'POST', '/api/v1/jobs', { task, secrets: { API_KEY: SECRET }, dryRun: true });
    const { id } = await api(ann, 'POST', '/api/v1/jobs', { task, secrets: { API_KEY: SECRET } });
    await waitEnded(ann, id);
    const annToken2 = (await api(ann, 'POST', '/api/v1/tokens', { label: 'laptop' })).token as string;

    for (const token of [root, ann, annToken2, bob, eve]) {
      await api(token, 'GET', '/api/v1/jobs?all=true');
      await api(token, 'GET', `/api/v1/jobs/${id}`);
      await api(token, 'GET', `/api/v1/jobs/${id}/logs`);
      await api(token, 'GET', '/api/v1/gpus');
      await api(token, 'GET', '/api/v1/me');
      await api(token, 'GET', '/api/v1/tokens');
      await api(token, 'GET', '/api/v1/admin/users?all=true');
      await api(token, 'GET', '/api/v1/admin/projects');
      await api(token, 'GET', '/api/v1/admin/audit');
      await api(token, 'GET', '/api/v1/tokens?user=ann');
    }
    await api(bob, 'POST', `/api/v1/jobs/${id}/cancel`);
    const laptop = (await api(ann, 'GET', '/api/v1/tokens')).tokens.find((t: { label: string }) => t.label === 'laptop');
    await api(root, 'POST', `/api/v1/tokens/${laptop.id}/revoke`);
    await api(root, 'DELETE', '/api/v1/admin/users/bob');

    // The job printed its secret: the owner's log shows it masked.
    const logs = await api(ann, 'GET', `/api/v1/jobs/${id}/logs`);
    expect(logs.text).toBe('key=<secret> mode=fast\n');

    const tokens = [root, ann, annToken2, bob, eve];
    expect(recorded.length).toBeGreaterThan(50);
    for (const r of recorded) {
      expect(r.body, r.what).not.toContain(SECRET);
      for (const token of tokens) {
        if (token === r.caller || token === r.created) continue;
        expect(r.body, `${r.what} shows another token`).not.toContain(token);
      }
    }
    await s.server.stop();
    const log = readFileSync(join(s.home, 'server.log'), 'utf8');
    expect(log).not.toContain(SECRET);
    for (const token of tokens) expect(log).not.toContain(token);
  });
});
