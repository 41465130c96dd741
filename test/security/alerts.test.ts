// Attacks on alert webhooks (review findings M5/#74/#75 and L11/#73) against real `bin/stint server`
// processes (needs `npx tsc -p tsconfig.build.json`): a member points their webhook at loopback,
// link-local, private and odd IPv4 spellings, at a name that resolves to 127.0.0.1, at the server
// itself; a receiver answers 307 and 302 towards another loopback port; a job name carries Slack
// mrkdwn. Each must be refused, not followed, or escaped. Admins stay free to choose any target.

import { createServer, type IncomingMessage, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StintClient } from '../../src/api/client.js';
import { StintError } from '../../src/core/errors.js';
import { serverProcess, tempHome, type ServerProcess } from '../helpers/server.js';
import { until } from '../helpers/observability.js';

interface Listener {
  port: number;
  url: string;
  requests: Array<{ method: string; path: string; body: string }>;
  close(): Promise<void>;
}

/** A loopback HTTP listener recording every request; `answer` picks the status and headers. */
async function listener(answer: (req: IncomingMessage) => { status: number; headers?: Record<string, string> } = () => ({ status: 200 })): Promise<Listener> {
  const requests: Listener['requests'] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      requests.push({ method: req.method ?? '', path: req.url ?? '', body });
      const a = answer(req);
      res.writeHead(a.status, a.headers).end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return { port, url: `http://127.0.0.1:${port}/hook`, requests, close: () => new Promise((r) => server.close(() => r())) };
}

async function refusal(promise: Promise<unknown>): Promise<StintError> {
  const error = await promise.then(() => null, (e: unknown) => e);
  if (!(error instanceof StintError)) throw new Error(`expected a refusal, got ${error === null ? 'success' : String(error)}`);
  return error;
}

async function deliveries(url: string, outcome: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const match = new RegExp(`stint_webhook_deliveries_total\\{outcome="${outcome}"\\} (\\d+)`).exec(text);
  return match ? Number(match[1]) : 0;
}

async function memberOf(srv: ServerProcess, name: string): Promise<StintClient> {
  const { token } = await srv.client.addUser(name, 'member');
  return new StintClient(srv.url, token);
}

async function runJob(client: StintClient, task: string): Promise<number> {
  const { id } = await client.submit({ task });
  await until(`job ${id} to end`, async () => (['SUCCEEDED', 'FAILED', 'CANCELLED'].includes((await client.getJob(id!)).state) ? true : undefined));
  return id!;
}

const servers: ServerProcess[] = [];
const listeners: Listener[] = [];
afterAll(async () => {
  for (const s of servers) if (s.child.exitCode === null) s.child.kill('SIGTERM');
  for (const l of listeners) await l.close();
});

async function start(home: string, args: string[]): Promise<ServerProcess> {
  const s = await serverProcess(home, ['--gpus', 'A100:1', ...args]);
  servers.push(s);
  return s;
}

async function stop(s: ServerProcess): Promise<void> {
  const exited = new Promise((r) => s.child.once('exit', r));
  s.child.kill('SIGTERM');
  await exited;
}

describe('a member\'s webhook, on a server with the default (empty) allow-list', () => {
  let srv: ServerProcess;
  let bob: StintClient;
  let target: Listener;
  beforeAll(async () => {
    target = await listener();
    listeners.push(target);
    srv = await start(await tempHome(), []);
    bob = await memberOf(srv, 'bob');
  }, 60_000);

  it('is refused for every loopback, link-local, private and odd spelling, and for the server itself', async () => {
    const p = target.port;
    const urls = [
      `http://127.0.0.1:${p}/`, `http://0x7f000001:${p}/`, `http://2130706433:${p}/`, `http://127.1:${p}/`, `http://0177.0.0.1:${p}/`,
      `http://[::1]:${p}/`, `http://[::ffff:127.0.0.1]:${p}/`, 'http://169.254.169.254/latest/meta-data/', `http://localhost:${p}/`,
      `${srv.url}/api/v1/admin/users`, 'https://hooks.slack.com/services/T0/B0/x',
    ];
    for (const url of urls) {
      const error = await refusal(bob.setWebhook(url));
      expect(error.code, url).toBe('FORBIDDEN');
      expect(error.message, url).toContain('--webhook-allow');
      expect(error.details, url).toMatchObject({ field: 'url', value: url });
    }
    expect(await bob.webhook()).toEqual({ webhook: null });
  }, 60_000);

  it('lets an admin point their own webhook anywhere, loopback included', async () => {
    await srv.client.setWebhook(target.url);
    expect(await srv.client.webhook()).toEqual({ webhook: { url: target.url, format: 'json' } });
    await srv.client.removeWebhook();
  }, 30_000);
});

describe('a member\'s webhook, on a server that allows any public host (--webhook-allow "*")', () => {
  let srv: ServerProcess;
  let bob: StintClient;
  beforeAll(async () => {
    srv = await start(await tempHome(), ['--webhook-allow', '*']);
    bob = await memberOf(srv, 'bob');
  }, 60_000);

  it('is still refused for every address a member must not reach, named by its range', async () => {
    const cases: Array<[string, RegExp]> = [
      ['http://127.0.0.1:9/', /loopback/], ['http://0x7f000001:9/', /loopback/], ['http://2130706433/', /loopback/],
      ['http://127.1/', /loopback/], ['http://0177.0.0.1/', /loopback/], ['http://[::1]/', /loopback/],
      ['http://[::ffff:127.0.0.1]/', /loopback/], ['http://[::ffff:a9fe:a9fe]/', /link-local/],
      ['http://169.254.169.254/latest/meta-data/', /link-local/], ['http://[fe80::1]/', /link-local/],
      ['http://10.1.2.3/', /private/], ['http://172.16.0.1/', /private/], ['http://192.168.1.1/', /private/],
      ['http://[fd00::1]/', /unique-local/], ['http://0.0.0.0/', /unspecified/], ['http://[::]/', /unspecified/],
      ['http://224.0.0.1/', /multicast/], ['http://[ff02::1]/', /multicast/], ['http://100.64.0.1/', /shared \(CGNAT\)/],
      ['http://localhost:9/', /loopback/], [`${srv.url}/api/v1/admin/users`, /loopback/],
      // Found by a red-team pass: local-use NAT64, IPv4-translated and Teredo forms.
      ['http://[64:ff9b:1::7f00:1]/', /not global unicast/], ['http://[::ffff:0:7f00:1]/', /not global unicast/],
      ['http://[2001::7f00:1]/', /IETF protocol assignment/], ['http://[2001:0::7f00:1]/', /IETF protocol assignment/],
    ];
    for (const [url, range] of cases) {
      const error = await refusal(bob.setWebhook(url));
      expect(error.code, url).toBe('FORBIDDEN');
      expect(error.message, url).toMatch(range);
      expect(error.message, url).toContain('--webhook-allow');
    }
  }, 60_000);

  it('accepts a public address, and refuses credentials in the URL with a reason', async () => {
    expect(await bob.setWebhook('http://93.184.216.34/hook', 'slack')).toEqual({ webhook: { url: 'http://93.184.216.34/hook', format: 'slack' } });
    const error = await refusal(bob.setWebhook('https://user:secret@93.184.216.34/hook'));
    expect(error.code).toBe('INVALID_REQUEST');
    expect(error.message).toMatch(/user name or password/);
  }, 30_000);
});

describe('delivery', () => {
  it('does not follow a 307 or a 302 to another loopback port, even for an admin\'s webhook', async () => {
    const inner = await listener();
    const redirector = await listener((req) => ({ status: req.url?.includes('302') ? 302 : 307, headers: { location: `http://127.0.0.1:${inner.port}/stolen` } }));
    listeners.push(inner, redirector);
    const srv = await start(await tempHome(), []);
    const settled = async () => (await deliveries(srv.url, 'dropped')) + (await deliveries(srv.url, 'delivered'));
    for (const code of ['307', '302']) {
      await srv.client.setWebhook(`http://127.0.0.1:${redirector.port}/hook-${code}`);
      const before = await settled();
      await runJob(srv.client, `name: redirect-${code}\nrun: exit 0\n`);
      await until(`the ${code} delivery to settle`, async () => ((await settled()) > before ? true : undefined));
      expect(redirector.requests.filter((r) => r.path === `/hook-${code}`)).toHaveLength(1);
    }
    expect(inner.requests).toEqual([]);
    expect(await deliveries(srv.url, 'delivered')).toBe(0);
  }, 90_000);

  it('checks the resolved address when it sends: a name allowed by name only, resolving to 127.0.0.1, gets nothing', async () => {
    const hook = await listener();
    listeners.push(hook);
    const home = await tempHome();
    // First the admin allows localhost and its address: bob's webhook is accepted and delivered.
    let srv = await start(home, ['--webhook-allow', `localhost:${hook.port},127.0.0.1:${hook.port}`]);
    const bob = await memberOf(srv, 'bob');
    await bob.setWebhook(`http://localhost:${hook.port}/bob`);
    await runJob(bob, 'name: allowed\nrun: exit 0\n');
    await until('bob\'s alert', async () => (hook.requests.length === 1 ? true : undefined));
    await stop(srv);
    // Then only the name stays allowed: the address it resolves to is loopback, so nothing is sent.
    srv = await start(home, ['--webhook-allow', `localhost:${hook.port}`]);
    const again = new StintClient(srv.url, (await srv.client.createToken({ user: 'bob' })).token);
    await runJob(again, 'name: after\nrun: exit 0\n');
    await until('the delivery to be dropped', async () => ((await deliveries(srv.url, 'dropped')) > 0 ? true : undefined));
    expect(hook.requests).toHaveLength(1);
    // And setting it again is refused, naming the address it resolved to.
    const error = await refusal(again.setWebhook(`http://localhost:${hook.port}/bob2`));
    expect(error.message).toMatch(/127\.0\.0\.1.*loopback/);
  }, 120_000);

  it("sends a removed user's job alerts to nobody, not to the next user of the name (M9)", async () => {
    const hook = await listener();
    listeners.push(hook);
    const srv = await start(await tempHome(), ['--webhook-allow', `127.0.0.1:${hook.port}`]);
    const old = await memberOf(srv, 'tmpu');
    const { id } = await old.submit({ task: 'name: old-private\nrun: sleep 60\n' });
    await until(`job ${id} to run`, async () => ((await srv.client.getJob(id!)).state === 'RUNNING' ? true : undefined));
    await srv.client.removeUser('tmpu');
    const fresh = await memberOf(srv, 'tmpu');
    await fresh.setWebhook(hook.url);
    await srv.client.cancel(id!);
    await until(`job ${id} to end`, async () => ((await srv.client.getJob(id!)).state === 'CANCELLED' ? true : undefined));
    // The new tmpu's own job is alerted, and only it: the old job's end was never sent.
    await runJob(fresh, 'name: fresh-own\nrun: exit 0\n');
    await until('the new tmpu\'s alert', async () => (hook.requests.length >= 1 ? true : undefined));
    expect(hook.requests.map((r) => JSON.parse(r.body).job.name)).toEqual(['fresh-own']);
  }, 90_000);

  it('escapes every user-controlled field in Slack text: no @channel, no disguised link', async () => {
    const hook = await listener();
    listeners.push(hook);
    const srv = await start(await tempHome(), []);
    await srv.client.setWebhook(hook.url, 'slack');
    await runJob(srv.client, 'name: "<!channel> <http://evil.example|Click to re-login> & more"\nrun: exit 3\n');
    await until('the Slack alert', async () => (hook.requests.length >= 1 ? true : undefined));
    const body = JSON.parse(hook.requests[0]!.body) as { text: string; blocks: Array<{ text?: { text: string } }> };
    for (const text of [body.text, body.blocks[0]!.text!.text]) {
      expect(text).not.toMatch(/[<>]/);
      expect(text).toContain('&lt;!channel&gt; &lt;http://evil.example|Click to re-login&gt; &amp; more');
    }
  }, 60_000);
});
