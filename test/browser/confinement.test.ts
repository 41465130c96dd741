// The Overview page never hides that a host cannot confine jobs: a server started with
// --no-confine shows "limits not enforced on this host: <reason>" for its node, in a real
// browser against a real server process.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serverProcess, tempHome, type ServerProcess } from '../helpers/server.js';
import { ensureUiBuilt, launchBrowser, logIn, openPage, poll, screenshot, type WatchedPage } from './browser.js';

let server: ServerProcess;
let browser: Browser;
let w: WatchedPage;
let home: string;

beforeAll(async () => {
  ensureUiBuilt();
  home = await tempHome();
  server = await serverProcess(home, ['--gpus', 'A100:2', '--no-confine']);
  browser = await launchBrowser();
  w = await openPage(browser);
});

afterAll(async () => {
  await browser?.close();
  server?.child.kill('SIGTERM');
});

describe('the Overview page on a host that does not confine jobs', () => {
  it('says the limits are not enforced, and why', async () => {
    await logIn(w.page, server.url, readFileSync(join(home, 'token'), 'utf8').trim());
    const warning = w.page.getByRole('status').filter({ hasText: 'limits not enforced on this host' });
    await poll(() => warning.count()).toBe(1);
    expect(await warning.textContent()).toMatch(/^local · \S+: limits not enforced on this host: .*--no-confine/);
    await screenshot(w.page, 'overview-unconfined');
    expect(w.errors).toEqual([]);
  });
});
