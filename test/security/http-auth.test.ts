// Attacks on the HTTP boundary (issue 11; review findings M1, L2, L3 and the server side of L4),
// against a real server in this process over real sockets. Every route of the OpenAPI document
// (and every hidden one) is walked with no token, a garbage token, a viewer's, a member's, and
// odd spellings of its path; telemetry is read across users; bad tokens are sent until the
// server refuses the address; the web session's cookie and CSRF rule are checked, and that the
// cookie holds a server-side session (never the API token) that ends when signed out, when its
// token is revoked and when its user is removed (expiry: src/server/sessions.test.ts).

import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StintClient } from '../../src/api/client.js';
import { PUBLIC_ROUTES, registeredRoutes } from '../../src/server/route-access.js';
import { inProcessServer, isEnded, serverProcess, tempHome, waitForJob, type InProcessServer } from '../helpers/server.js';
import { codeOf, raw, type RawAnswer } from './http-raw.js';

let s: InProcessServer;
let aliceToken: string;
let vicToken: string;
let adminJob: number;
let aliceJob: number;
const MARK = 'ADMIN-JOB-OUTPUT-77';

beforeAll(async () => {
  s = await inProcessServer({ gpus: 'A100:4' });
  aliceToken = (await s.client.addUser('alice', 'member')).token;
  vicToken = (await s.client.addUser('vic', 'viewer')).token;
  await s.client.addProject('vision');
  adminJob = (await s.client.submit({ task: `name: secret-admin-job\nresources: {accelerators: A100:1}\nrun: echo ${MARK}\n` })).id!;
  aliceJob = (await new StintClient(s.server.url, aliceToken).submit({ task: 'resources: {accelerators: A100:1}\nrun: echo alice\n' })).id!;
  await waitForJob(s.client, adminJob, isEnded);
  await waitForJob(s.client, aliceJob, isEnded);
}, 60_000);
afterAll(async () => {
  await s.server.stop();
});

interface Route {
  method: string;
  url: string;
}

/** Hidden routes (schema.hide) that the OpenAPI document does not list. */
const HIDDEN: Route[] = [
  { method: 'GET', url: '/api/openapi.json' },
  { method: 'GET', url: '/healthz' },
  { method: 'GET', url: '/metrics' },
  { method: 'GET', url: '/' },
  { method: 'GET', url: '/*' },
  { method: 'POST', url: '/api/v1/session' },
  { method: 'DELETE', url: '/api/v1/session' },
];

async function documentedRoutes(): Promise<Route[]> {
  const doc = JSON.parse((await raw(s.server.url, '/api/openapi.json')).text) as { paths: Record<string, Record<string, unknown>> };
  return Object.entries(doc.paths).flatMap(([path, methods]) =>
    Object.keys(methods).map((m) => ({ method: m.toUpperCase(), url: path.replace(/\{(\w+)\}/g, ':$1') })),
  );
}

/** A concrete path for a route: ids of the admin's job and token, names that exist. */
function concrete(url: string): string {
  return url.replace(':id', String(adminJob)).replace(':name', 'vision').replace(':user', 'alice').replace(':project', 'vision').replace('/*', '/index.html');
}

function call(route: Route, headers: Record<string, string>, from?: string): Promise<RawAnswer> {
  const body = route.method === 'POST' || route.method === 'PUT' ? '{}' : undefined;
  return raw(s.server.url, concrete(route.url), { method: route.method, headers, body, from });
}

const isPublic = (r: Route) => PUBLIC_ROUTES.some((p) => p.method === r.method && p.url === r.url);
const key = (r: Route) => `${r.method} ${r.url}`;

/** No answer to an attacker may carry the admin's job: not its output, not its name. */
function expectNoData(answer: RawAnswer, what: string): void {
  expect(answer.status, what).toBeLessThan(500);
  expect(answer.text, what).not.toContain(MARK);
  expect(answer.text, what).not.toContain('secret-admin-job');
}

describe('M1: authentication is decided on the matched route, deny by default', () => {
  it('every registered route is documented or a known hidden one, and only the listed ones are public', async () => {
    const known = new Set([...(await documentedRoutes()), ...HIDDEN].map(key));
    const registered = registeredRoutes(s.server.app).filter((r) => r.method !== 'HEAD' && r.method !== 'OPTIONS');
    expect(registered.map(key).filter((k) => !known.has(k)), 'routes no test walks').toEqual([]);
    expect(registered.filter((r) => r.public).map(key).sort()).toEqual(
      ['DELETE /api/v1/session', 'GET /', 'GET /*', 'GET /api/openapi.json', 'GET /healthz', 'GET /metrics', 'POST /api/v1/session'].sort(),
    );
    for (const r of PUBLIC_ROUTES) expect(known.has(key(r)), `public route ${key(r)} is registered`).toBe(true);
  });

  it('no token and a garbage token: every non-public route answers 401 (or 429 once the address is limited)', async () => {
    for (const route of (await documentedRoutes()).filter((r) => !isPublic(r))) {
      const none = await call(route, {});
      expectNoData(none, `${key(route)} without a token`);
      expect([none.status, codeOf(none)], `${key(route)} without a token`).toEqual([401, 'UNAUTHORIZED']);
      const garbage = await call(route, { authorization: 'Bearer not-a-real-token-0000000000000000' }, '127.0.0.3');
      expectNoData(garbage, `${key(route)} with a garbage token`);
      expect([401, 429], `${key(route)} with a garbage token`).toContain(garbage.status);
    }
  });

  it("a viewer and a member: never a 5xx; admin routes and the admin's job's private parts are 403", async () => {
    for (const [who, token] of [['viewer', vicToken], ['member', aliceToken]] as const) {
      for (const route of (await documentedRoutes()).filter((r) => !isPublic(r))) {
        const answer = await call(route, { authorization: `Bearer ${token}` });
        const what = `${key(route)} as a ${who}`;
        expect(answer.status, what).toBeLessThan(500);
        const privateJob = /^\/api\/v1\/jobs\/:id\/(logs|logs\/stream|telemetry|cancel)$/.test(route.url);
        const submits = route.method === 'POST' && ['/api/v1/jobs', '/api/v1/uploads'].includes(route.url);
        // Decided before the body is read: the '{}' body is never looked at.
        if (route.url.startsWith('/api/v1/admin/') || privateJob || (submits && who === 'viewer')) expect([answer.status, codeOf(answer)], what).toEqual([403, 'FORBIDDEN']);
        if (privateJob) expectNoData(answer, what);
      }
    }
  });

  it('odd spellings of every path reach the same rule: never data, never a 5xx', async () => {
    const spellings = (p: string) => [
      p.replace('/api/', '/%61pi/'),
      p.replace('/api/v1/', '/api/%76%31/'),
      p.replace('/api/v1/', '/%61%70%69/v1/'),
      p.replace('/api/v1/', '/api%2Fv1/'),
      `/${p}`,
      p.replace('/api/v1/', '/api/v1/./'),
      p.replace('/api/v1/', '/api/v1//'),
      p.replace('/api/', '/API/'),
      `${p}/`,
      `${p};x=1`,
      `${p}%00`,
      `${p}?all=true`,
    ];
    for (const route of (await documentedRoutes()).filter((r) => !isPublic(r))) {
      for (const path of spellings(concrete(route.url))) {
        const body = route.method === 'POST' || route.method === 'PUT' ? '{}' : undefined;
        const answer = await raw(s.server.url, path, { method: route.method, body });
        const what = `${route.method} ${path} without a token`;
        expectNoData(answer, what);
        // No spelling of an API path is answered with the UI either (any case, doubled slashes).
        const html = String(answer.headers['content-type'] ?? '').startsWith('text/html');
        expect(html, `${what} answered ${answer.status} with the UI: ${answer.text.slice(0, 80)}`).toBe(false);
        expect(answer.status, what).toBeGreaterThanOrEqual(400);
      }
    }
  });
});

describe('L2: telemetry checks the job grant', () => {
  it("a viewer and another member get 403 for the admin's job; the owner and admins read it", async () => {
    const path = (id: number) => `/api/v1/jobs/${id}/telemetry`;
    for (const token of [vicToken, aliceToken]) {
      const answer = await raw(s.server.url, path(adminJob), { headers: { authorization: `Bearer ${token}` } });
      expect([answer.status, codeOf(answer)]).toEqual([403, 'FORBIDDEN']);
    }
    expect((await raw(s.server.url, path(aliceJob), { headers: { authorization: `Bearer ${aliceToken}` } })).status).toBe(200);
    expect((await raw(s.server.url, path(aliceJob), { headers: { authorization: `Bearer ${s.token}` } })).status).toBe(200);
    expect((await raw(s.server.url, path(aliceJob), { headers: { authorization: `Bearer ${vicToken}` } })).status).toBe(403);
  });
});

describe('L3: failed tokens are limited per client address', () => {
  it('after 20 failures an address gets 429 RATE_LIMITED with Retry-After; known tokens and other addresses are not slowed', async () => {
    const from = '127.0.0.9';
    const bad = { authorization: 'Bearer guess-0000000000000000000000000000' };
    for (let i = 0; i < 20; i++) expect((await raw(s.server.url, '/api/v1/jobs', { headers: bad, from })).status).toBe(401);
    const limited = await raw(s.server.url, '/api/v1/jobs', { headers: bad, from });
    expect([limited.status, codeOf(limited)]).toEqual([429, 'RATE_LIMITED']);
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    expect(JSON.parse(limited.text).message).toMatch(/20 failed/);
    const session = await raw(s.server.url, '/api/v1/session', { method: 'POST', body: JSON.stringify({ token: 'guess-1' }), from });
    expect([session.status, codeOf(session)]).toEqual([429, 'RATE_LIMITED']);
    expect((await raw(s.server.url, '/api/v1/jobs', { headers: { authorization: `Bearer ${aliceToken}` }, from })).status).toBe(200);
    expect((await raw(s.server.url, '/api/v1/jobs', { headers: bad, from: '127.0.0.10' })).status).toBe(401);
  });
});

describe('L4 (server side): the web session is an httpOnly cookie with a CSRF token', () => {
  const csrfOf = (token: string) => createHash('sha256').update(`csrf:${token}`).digest('hex');

  async function login(token: string): Promise<{ cookie: string; csrf: string; answer: RawAnswer }> {
    const answer = await raw(s.server.url, '/api/v1/session', { method: 'POST', body: JSON.stringify({ token }) });
    const setCookie = ([] as string[]).concat(answer.headers['set-cookie'] ?? []).join('\n');
    return { cookie: setCookie.split(';')[0]!, csrf: (JSON.parse(answer.text) as { csrfToken: string }).csrfToken, answer };
  }
  const valueOf = (cookie: string) => cookie.slice('stint_session='.length);
  const meWith = (cookie: string, from?: string) => raw(s.server.url, '/api/v1/me', { headers: { cookie }, from });

  it('POST /api/v1/session sets stint_session HttpOnly, SameSite=Strict, Path=/ and returns {csrfToken, me}', async () => {
    const { cookie, csrf, answer } = await login(aliceToken);
    expect(answer.status).toBe(200);
    const setCookie = String(answer.headers['set-cookie']);
    expect(cookie).toMatch(/^stint_session=[\w-]{43}$/);
    expect(setCookie).toMatch(/HttpOnly/i);
    expect(setCookie).toMatch(/SameSite=Strict/i);
    expect(setCookie).toMatch(/Path=\//);
    expect(setCookie).not.toMatch(/Secure/i);
    expect(csrf).toBe(csrfOf(valueOf(cookie)));
    expect(JSON.parse(answer.text).me).toMatchObject({ name: 'alice', role: 'member' });
    const me = await raw(s.server.url, '/api/v1/me', { headers: { cookie } });
    expect(me.status).toBe(200);
    expect(JSON.parse(me.text)).toMatchObject({ name: 'alice', csrfToken: csrf });
  });

  it('a cookie-authenticated change needs X-CSRF-Token; a bearer one does not', async () => {
    const { cookie, csrf } = await login(aliceToken);
    const create = (headers: Record<string, string>) => raw(s.server.url, '/api/v1/tokens', { method: 'POST', body: '{}', headers });
    const none = await create({ cookie });
    expect([none.status, codeOf(none)]).toEqual([403, 'CSRF']);
    expect(JSON.parse(none.text).message).toContain('X-CSRF-Token');
    expect((await create({ cookie, 'x-csrf-token': csrfOf('another-token') })).status).toBe(403);
    expect((await create({ cookie, 'x-csrf-token': csrf })).status).toBe(201);
    expect((await create({ authorization: `Bearer ${aliceToken}` })).status).toBe(201);
  });

  it('a bad token does not get a session; a body without a token names the field', async () => {
    const bad = await raw(s.server.url, '/api/v1/session', { method: 'POST', body: JSON.stringify({ token: 'nope' }), from: '127.0.0.20' });
    expect([bad.status, codeOf(bad)]).toEqual([401, 'UNAUTHORIZED']);
    expect(bad.headers['set-cookie']).toBeUndefined();
    const empty = await raw(s.server.url, '/api/v1/session', { method: 'POST', body: '{}' });
    expect([empty.status, codeOf(empty)]).toEqual([400, 'INVALID_REQUEST']);
    expect(empty.text).toContain('token');
    const staleCookie = await raw(s.server.url, '/api/v1/jobs', { headers: { cookie: 'stint_session=stale' }, from: '127.0.0.20' });
    expect([staleCookie.status, codeOf(staleCookie)]).toEqual([401, 'UNAUTHORIZED']);
  });

  it('the log stream works with the cookie; DELETE /api/v1/session clears it', async () => {
    const { cookie } = await login(s.token);
    const stream = await raw(s.server.url, `/api/v1/jobs/${adminJob}/logs/stream`, { headers: { cookie } });
    expect(stream.status).toBe(200);
    expect(stream.text).toContain(MARK);
    expect(stream.text).toContain('event: end');
    const out = await raw(s.server.url, '/api/v1/session', { method: 'DELETE' });
    expect(out.status).toBe(200);
    expect(String(out.headers['set-cookie'])).toMatch(/stint_session=;.*(Max-Age=0|Expires=Thu, 01 Jan 1970)/i);
  });

  it('the cookie holds a new session id, never the API token; each sign-in gets its own', async () => {
    const first = await login(aliceToken);
    const second = await login(aliceToken);
    for (const { cookie, answer } of [first, second]) {
      expect(valueOf(cookie)).not.toContain(aliceToken);
      expect(String(answer.headers['set-cookie'])).not.toContain(aliceToken);
      expect(answer.text).not.toContain(aliceToken);
    }
    expect(first.cookie).not.toBe(second.cookie);
    expect(first.csrf).not.toBe(second.csrf);
    expect(first.csrf).not.toBe(csrfOf(aliceToken));
    // The API token itself is not a session: sent as the cookie it is refused.
    expect((await meWith(`stint_session=${aliceToken}`, '127.0.0.21')).status).toBe(401);
    // Each session's CSRF token is its own.
    const create = await raw(s.server.url, '/api/v1/tokens', { method: 'POST', body: '{}', headers: { cookie: first.cookie, 'x-csrf-token': second.csrf } });
    expect([create.status, codeOf(create)]).toEqual([403, 'CSRF']);
  });

  it('DELETE /api/v1/session ends the session on the server: the old cookie replayed answers 401', async () => {
    const { cookie } = await login(aliceToken);
    const other = await login(aliceToken);
    expect((await meWith(cookie)).status).toBe(200);
    const out = await raw(s.server.url, '/api/v1/session', { method: 'DELETE', headers: { cookie } });
    expect(out.status).toBe(200);
    const replay = await meWith(cookie, '127.0.0.22');
    expect([replay.status, codeOf(replay)]).toEqual([401, 'UNAUTHORIZED']);
    expect(JSON.parse(replay.text).message).toMatch(/session/);
    // Only that session ended: another sign-in of the same token goes on.
    expect((await meWith(other.cookie)).status).toBe(200);
    // Ending it again (or without a cookie) is harmless.
    expect((await raw(s.server.url, '/api/v1/session', { method: 'DELETE', headers: { cookie } })).status).toBe(200);
  });

  it('a session ends when the token it was made from is revoked', async () => {
    const made = await s.client.createToken({ user: 'alice', label: 'for the web' });
    const { cookie } = await login(made.token);
    expect((await meWith(cookie)).status).toBe(200);
    await s.client.revokeToken(made.tokenInfo.id);
    const after = await meWith(cookie, '127.0.0.23');
    expect([after.status, codeOf(after)]).toEqual([401, 'UNAUTHORIZED']);
  });

  it('a session ends when its user is removed', async () => {
    const { token } = await s.client.addUser('sam', 'member');
    const { cookie } = await login(token);
    expect((await meWith(cookie)).status).toBe(200);
    await s.client.removeUser('sam');
    const after = await meWith(cookie, '127.0.0.24');
    expect([after.status, codeOf(after)]).toEqual([401, 'UNAUTHORIZED']);
    // A new user of the name inherits nothing, this session included.
    await s.client.addUser('sam', 'member');
    expect((await meWith(cookie, '127.0.0.24')).status).toBe(401);
  });
});

describe('M1 against a `bin/stint server` process (needs dist/: npx tsc -p tsconfig.build.json)', () => {
  it('the review\'s requests: /%61pi/v1/jobs?all=true and /api/%761/jobs answer 401 without a token', async () => {
    const proc = await serverProcess(await tempHome());
    try {
      for (const path of ['/%61pi/v1/jobs?all=true', '/api/%761/jobs', '/api/%76%31/gpus', '/%61pi/v1/usage', '/%61pi/v1/health', '/%61pi/v1/info']) {
        const answer = await raw(proc.url, path);
        expect([answer.status, codeOf(answer)], path).toEqual([401, 'UNAUTHORIZED']);
      }
    } finally {
      proc.child.kill('SIGTERM');
      await new Promise((r) => proc.child.once('exit', r));
    }
  }, 60_000);
});
