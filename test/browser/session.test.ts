// The web UI's session in a real browser against a real server (review finding L4/#27): after
// signing in, neither localStorage nor sessionStorage holds the token (or anything that contains
// it), the session cookie is httpOnly and SameSite=Strict (so page scripts cannot read it), a
// reload stays signed in without asking for the token, a change sent without the CSRF header is
// refused, and logging out clears the cookie, so the page is signed out after a reload too.

import type { Browser } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { StintClient } from '../../src/api/client.js';
import type { StintError } from '../../src/core/errors.js';
import { inProcessServer, type InProcessServer } from '../helpers/server.js';
import { ensureUiBuilt, launchBrowser, logIn, openPage, poll, type WatchedPage } from './browser.js';

let s: InProcessServer;
let browser: Browser;
let w: WatchedPage;

beforeAll(async () => {
  ensureUiBuilt();
  s = await inProcessServer({ gpus: 'A100:1' });
  browser = await launchBrowser();
  w = await openPage(browser);
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await s?.server.stop();
});

afterEach(() => {
  expect(w.errors).toEqual([]);
});

const storage = () => w.page.evaluate(() => JSON.stringify({ local: { ...localStorage }, session: { ...sessionStorage } }));
const status = (method: string, path: string, headers: Record<string, string> = {}) =>
  w.page.evaluate(async ([m, p, h]) => (await fetch(p as string, { method: m as string, headers: h as Record<string, string> })).status, [method, path, headers] as const);

describe('the typed client\'s cookie mode', () => {
  it('sends no bearer token, the cookie it is given, and the CSRF token on changes only', async () => {
    const opened = await fetch(`${s.server.url}/api/v1/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token: s.token }) });
    expect(opened.status).toBe(200);
    const { csrfToken } = (await opened.json()) as { csrfToken: string };
    const cookie = opened.headers.getSetCookie().map((c) => c.split(';')[0]!).join('; ');
    expect(cookie).toMatch(/^stint_session=/);
    const client = StintClient.withSession(s.server.url, { csrfToken, cookie });
    expect((await client.me()).role).toBe('admin');
    const created = await client.createToken({ label: 'through the cookie' });
    expect(created.tokenInfo.label).toBe('through the cookie');
    await client.revokeToken(created.tokenInfo.id);
    const forged = StintClient.withSession(s.server.url, { csrfToken: 'not-the-csrf-token', cookie });
    expect(await forged.createToken({}).then(() => 'accepted', (e: StintError) => e.code)).toBe('CSRF');
  });
});

describe('the web UI\'s session', () => {
  it('keeps no token in the page: storage holds none, the cookie is httpOnly and SameSite=Strict', async () => {
    await logIn(w.page, s.server.url, s.token);
    expect(await storage()).not.toContain(s.token);
    expect(await storage()).not.toContain(s.token.slice(0, 12));
    const cookies = await w.context.cookies();
    const session = cookies.find((c) => c.name === 'stint_session');
    expect(session).toMatchObject({ httpOnly: true, sameSite: 'Strict', path: '/' });
    expect(await w.page.evaluate(() => document.cookie)).not.toContain('stint_session');
  });

  it('stays signed in across a reload, without the token', async () => {
    await w.page.reload();
    await w.page.getByRole('button', { name: 'Log out' }).waitFor();
    await poll(() => w.page.locator('header .who').textContent()).toContain('admin');
    expect(await w.page.getByLabel('API token').count()).toBe(0);
  });

  it('refuses a change the page sends with the cookie but without the CSRF token', async () => {
    w.expectHttpError(403, '/api/v1/tokens');
    expect(await status('POST', '/api/v1/tokens', { 'content-type': 'application/json' })).toBe(403);
    expect(await status('GET', '/api/v1/me')).toBe(200);
  });

  it('asks before revoking the last admin token, and keeps it when the admin says no', async () => {
    await w.page.getByRole('link', { name: 'Admin' }).click();
    await w.page.getByRole('link', { name: 'Tokens' }).click();
    w.expectHttpError(409, '/revoke');
    let asked = '';
    w.page.once('dialog', (dialog) => {
      asked = dialog.message();
      void dialog.dismiss();
    });
    await w.page.getByRole('button', { name: 'Revoke' }).first().click();
    await poll(() => asked).toMatch(/last active admin token.*--force/s);
    await w.page.getByRole('alert').filter({ hasText: 'last active admin token' }).waitFor();
    expect((await s.client.me()).role).toBe('admin');
    await w.page.getByRole('link', { name: 'Overview' }).click();
  });

  it('ends the session when logging out: no cookie, signed out after a reload', async () => {
    await w.page.getByRole('button', { name: 'Log out' }).click();
    await w.page.getByLabel('API token').waitFor();
    expect((await w.context.cookies()).filter((c) => c.name === 'stint_session')).toEqual([]);
    await w.page.reload();
    await w.page.getByLabel('API token').waitFor();
    expect(await storage()).not.toContain(s.token);
    w.expectHttpError(401, '/api/v1/me');
    expect(await status('GET', '/api/v1/me')).toBe(401);
  });
});
