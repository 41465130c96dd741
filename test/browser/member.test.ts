// The web UI as a member: no Admin link, and opening an admin page by its address shows the
// server's refusal (rule admin.admin-only) — the server refuses the calls, whatever the UI shows.
// Another user's job shows only its queue view (spec, events and logs withheld). Screenshots go
// to test-output/screenshots/; any unexpected browser console error fails the test.
import type { Browser } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { inProcessServer, type InProcessServer } from '../helpers/server.js';
import { ensureUiBuilt, launchBrowser, logIn, openPage, poll, screenshot, type WatchedPage } from './browser.js';

let s: InProcessServer;
let browser: Browser;
let w: WatchedPage;
let annToken = '';
let rootJob = 0;

beforeAll(async () => {
  ensureUiBuilt();
  s = await inProcessServer({ gpus: 'A100:2' });
  annToken = (await s.client.addUser('ann', 'member')).token;
  rootJob = (await s.client.submit({ task: 'name: private-work\nsecrets:\n  API_KEY: abcdef123\nrun: echo hidden\n' })).id!;
  browser = await launchBrowser();
  w = await openPage(browser);
});

afterAll(async () => {
  await browser?.close();
  await s?.server.stop();
});

afterEach(() => {
  expect(w.errors).toEqual([]);
});

describe('the web UI, as a member', () => {
  it('shows no Admin link to a member', async () => {
    await logIn(w.page, s.server.url, annToken);
    expect(await w.page.locator('header .who').textContent()).toContain('ann (member)');
    expect(await w.page.getByRole('navigation', { name: 'Main' }).getByRole('link').allTextContents()).toEqual(['Overview', 'Jobs', 'Launch']);
  });

  it('can be used from the keyboard', async () => {
    await w.page.goto(s.server.url + '/');
    await w.page.locator('.gpu-tile').first().waitFor();
    await w.page.keyboard.press('Tab');
    expect(await w.page.evaluate('document.activeElement.textContent')).toBe('Skip to content');
    const focusedName = () => w.page.evaluate('document.activeElement.textContent');
    for (let i = 0; i < 6 && (await focusedName()) !== 'Jobs'; i++) await w.page.keyboard.press('Tab');
    expect(await focusedName()).toBe('Jobs');
    expect(await w.page.evaluate('getComputedStyle(document.activeElement).outlineStyle')).toBe('solid');
    await w.page.keyboard.press('Enter');
    await w.page.waitForURL(/\/jobs$/);
  });

  it('shows the server refusing an admin page opened by its address', async () => {
    w.expectHttpError(403, '/api/v1/admin/users');
    await w.page.goto(s.server.url + '/admin/users');
    const refusal = w.page.locator('.refused');
    await refusal.waitFor();
    expect(await refusal.textContent()).toMatch(/only admins may .*admin\.admin-only.*FORBIDDEN/s);
    const direct = await fetch(s.server.url + '/api/v1/admin/users', { headers: { authorization: `Bearer ${annToken}` } });
    expect(direct.status).toBe(403);
    await screenshot(w.page, 'admin-refused-member');
  });

  it("withholds another user's spec and output", async () => {
    await w.page.goto(`${s.server.url}/jobs/${rootJob}`);
    await w.page.getByRole('heading', { name: /Job #\d+/ }).waitFor();
    expect(await w.page.locator('main').textContent()).toContain("Only the job's owner, admins of its project and admins read its output.");
    expect(await w.page.getByRole('button', { name: 'Cancel job' }).count()).toBe(0);
    expect(await w.page.locator('main').textContent()).not.toContain('abcdef123');
    await screenshot(w.page, 'job-detail-other-user');
  });
});
