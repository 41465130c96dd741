// The web UI in a real browser against a real server with fake GPUs (A100:4), as an admin: log in
// with a token (exchanged for a session cookie), see the GPU board, launch a job from the form and watch its log lines arrive while
// it runs, cancel a job, see the server's validation errors on the field and the line they
// concern, page through jobs, use the admin pages, log out. A screenshot of every page goes to
// test-output/screenshots/; any browser console error fails the test that caused it.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { StintClient } from '../../src/api/client.js';
import { inProcessServer, waitForJob, type InProcessServer } from '../helpers/server.js';
import { ensureUiBuilt, launchBrowser, logIn, openPage, poll, screenshot, type WatchedPage } from './browser.js';

let s: InProcessServer;
let browser: Browser;
let w: WatchedPage;
let holder = 0;

beforeAll(async () => {
  ensureUiBuilt();
  s = await inProcessServer({ gpus: 'A100:4' });
  await s.client.addProject('vision');
  const ann = await s.client.addUser('ann', 'member');
  await s.client.setProjectMember('vision', 'ann');
  const asAnn = new StintClient(s.server.url, ann.token);
  holder = (await asAnn.submit({ task: 'name: long-training\nproject: vision\nresources: {accelerators: A100:2}\nrun: sleep 300\n' })).id!;
  const done = (await s.client.submit({ task: 'name: quick\nrun: echo finished\n' })).id!;
  await waitForJob(s.client, holder, (j) => j.state === 'RUNNING');
  await waitForJob(s.client, done, (j) => j.state === 'SUCCEEDED');
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

describe('the web UI, as an admin', () => {
  it('logs in with a pasted token and shows every GPU, busy and idle', async () => {
    await w.page.goto(s.server.url + '/');
    await w.page.getByLabel('API token').waitFor();
    await screenshot(w.page, 'login');
    await logIn(w.page, s.server.url, s.token);
    expect(await w.page.evaluate('JSON.stringify({ ...localStorage })')).not.toContain(s.token);
    const tiles = w.page.locator('.gpu-tile');
    await poll(() => tiles.count()).toBe(4);
    await poll(() => w.page.locator('.gpu-tile.idle').count()).toBe(2);
    const busy = w.page.locator('.gpu-tile.busy').first();
    await poll(() => busy.textContent()).toMatch(/long-training.*ann.*vision.*running \d+s/s);
    await screenshot(w.page, 'overview');
  });

  it('launches a job from the form and shows its log lines while it runs', async () => {
    await w.page.getByRole('link', { name: 'Launch' }).click();
    await w.page.getByLabel('Name', { exact: true }).fill('ui-demo');
    await w.page.getByLabel('GPU type').selectOption('A100');
    await w.page.getByLabel('GPU count').fill('1');
    // The job prints its second line only once the test has seen the first: deterministic liveness.
    const gate = join(s.home, 'gate');
    await w.page.getByLabel('Command', { exact: true }).fill(`echo 'line one'; while [ ! -e ${gate} ]; do sleep 0.05; done; echo 'line two'; printf '\\033[32mgreen done\\033[0m\\n'`);
    await w.page.getByPlaceholder('NAME').fill('GREETING');
    await w.page.getByPlaceholder('value').fill('hello');
    await screenshot(w.page, 'launch-form');
    await w.page.getByRole('button', { name: 'Launch', exact: true }).click();
    await w.page.waitForURL(/\/jobs\/\d+$/);
    const log = w.page.getByTestId('log');
    await log.getByText('line one').waitFor({ timeout: 15_000 });
    // The first line is on screen while the job is still running: it came over the live stream.
    expect(await log.textContent()).not.toContain('line two');
    expect(await w.page.locator('.log-status').textContent()).toContain('live');
    expect((await s.client.getJob(Number(w.page.url().split('/').pop()))).state).toBe('RUNNING');
    await writeFile(gate, '');
    await log.getByText('line two').waitFor({ timeout: 15_000 });
    await log.locator('span.fg-2', { hasText: 'green done' }).waitFor({ timeout: 15_000 });
    await poll(() => w.page.locator('.title-row .badge').first().textContent()).toBe('SUCCEEDED');
    await poll(() => w.page.locator('.summary').textContent()).toMatch(/Exit code0/);
    expect(await w.page.locator('.timeline').textContent()).toMatch(/submitted.*RUNNING.*SUCCEEDED/s);
    await screenshot(w.page, 'job-detail');
  });

  it('searches the log and highlights the match', async () => {
    await w.page.getByPlaceholder('search the log').fill('two');
    await poll(() => w.page.getByTestId('log').locator('mark').textContent()).toBe('two');
    expect(await w.page.locator('.log-tools').textContent()).toContain('1 match');
  });

  it('opens a large log at its tail and pages back', async () => {
    // About 3.9 MB of output: the page loads the last 256 KB, then earlier parts on demand.
    const id = (await s.client.submit({ task: 'name: big-log\nrun: seq 1 600000\n' })).id!;
    await waitForJob(s.client, id, (j) => j.state === 'SUCCEEDED');
    await w.page.goto(`${s.server.url}/jobs/${id}`);
    const log = w.page.getByTestId('log');
    await log.getByText('600000', { exact: true }).waitFor();
    const earlier = w.page.getByRole('button', { name: /Load earlier output \(3\.\d MB before this\)/ });
    await earlier.waitFor();
    // The second line: the first may be the end of a line cut by the tail's start.
    const firstShown = async () => Number(await log.locator('.log-line').nth(1).textContent());
    const toTop = async () => {
      await log.focus();
      await w.page.keyboard.press('Home');
    };
    await toTop();
    await poll(firstShown).toBeLessThan(599_000);
    const before = await firstShown();
    expect(before).toBeGreaterThan(500_000);
    await earlier.click();
    await toTop();
    await poll(firstShown).toBeLessThan(before - 50_000);
    await screenshot(w.page, 'job-large-log');
  });

  it('shows why a pending job waits', async () => {
    // Two of the four GPUs are held by long-training: a job that needs all four waits.
    await s.client.submit({ task: 'name: waits-for-gpus\nresources: {accelerators: A100:4}\nrun: echo never\n' });
    await w.page.getByRole('link', { name: 'Overview' }).click();
    await poll(() => w.page.getByRole('heading', { name: 'Queue by project' }).locator('..').textContent()).toMatch(/\(no project\)\s*1/);
    await w.page.getByRole('link', { name: 'waits-for-gpus' }).click();
    await poll(() => w.page.locator('.summary').textContent()).toMatch(/Why it waits\s*waiting for 4 × A100.*Estimated start.*Jobs aheadnone: first in line/s);
    await screenshot(w.page, 'job-pending');
  });

  it("shows the server's validation error on the form field it concerns", async () => {
    w.expectHttpError(400, '/api/v1/jobs');
    await w.page.getByRole('link', { name: 'Launch' }).click();
    await w.page.getByLabel('Command', { exact: true }).fill('echo x');
    await w.page.getByLabel('Max runtime').fill('soon');
    await w.page.getByRole('button', { name: 'Launch', exact: true }).click();
    const field = w.page.getByLabel('Max runtime');
    await poll(() => field.getAttribute('aria-invalid')).toBe('true');
    expect(await w.page.locator('.field.invalid .field-error').textContent()).toMatch(/duration such as/);
    await screenshot(w.page, 'launch-form-error');
  });

  it('shows a task file problem on its line', async () => {
    w.expectHttpError(400, '/api/v1/jobs');
    await w.page.getByRole('tab', { name: 'Task file (YAML)' }).click();
    await w.page.getByLabel('Task file (SkyPilot YAML with stint keys)').fill('name: bad\nreources:\n  accelerators: A100:1\nrun: echo x\n');
    await w.page.getByRole('button', { name: 'Check' }).click();
    await w.page.locator('.gutter .bad').waitFor();
    expect(await w.page.locator('.gutter .bad').textContent()).toBe('2');
    expect(await w.page.locator('.issues').textContent()).toMatch(/line 2.*reources/s);
    await screenshot(w.page, 'launch-file-error');
  });

  it('filters, searches and pages the jobs table on the server', async () => {
    await w.page.getByRole('link', { name: 'Jobs' }).click();
    await poll(() => w.page.locator('table.jobs tbody tr').count()).toBe(5);
    await screenshot(w.page, 'jobs');
    await w.page.getByLabel('Name', { exact: true }).fill('demo');
    await poll(() => w.page.locator('table.jobs tbody tr').count()).toBe(1);
    expect(await w.page.locator('table.jobs tbody').textContent()).toContain('ui-demo');
    expect(w.page.url()).toContain('q=demo');
    await w.page.getByLabel('Name', { exact: true }).fill('');
    await w.page.getByLabel('State').selectOption('SUCCEEDED');
    await poll(() => w.page.locator('.pager').textContent()).toContain('1–3 of 3');
    await w.page.getByLabel('State').selectOption('');
    await w.page.getByRole('button', { name: /^Name/ }).click();
    await poll(() => w.page.locator('table.jobs tbody tr td.name').first().textContent()).toBe('waits-for-gpus');
  });

  it('cancels a running job', async () => {
    await w.page.goto(`${s.server.url}/jobs/${holder}`);
    await w.page.getByRole('button', { name: 'Cancel job' }).click();
    await poll(() => w.page.locator('.title-row .badge').first().textContent()).toBe('CANCELLED');
    expect((await s.client.getJob(holder)).state).toBe('CANCELLED');
    await screenshot(w.page, 'job-cancelled');
  });

  it('opens every admin page', async () => {
    await w.page.getByRole('link', { name: 'Admin' }).click();
    await w.page.getByRole('cell', { name: 'ann', exact: true }).waitFor();
    await screenshot(w.page, 'admin-users');
    await w.page.getByRole('link', { name: 'Tokens' }).click();
    await w.page.getByRole('button', { name: 'Create token' }).waitFor();
    await screenshot(w.page, 'admin-tokens');
    await w.page.getByRole('link', { name: 'Projects' }).click();
    await w.page.getByRole('cell', { name: 'vision' }).waitFor();
    await screenshot(w.page, 'admin-projects');
    await w.page.getByRole('link', { name: 'Quotas' }).click();
    await w.page.getByLabel('Guaranteed').fill('A100:2');
    await w.page.getByLabel('Project').fill('vision');
    await w.page.getByRole('button', { name: 'Save quota' }).click();
    await w.page.getByRole('cell', { name: '2 × A100' }).waitFor();
    await screenshot(w.page, 'admin-quotas');
    await w.page.getByRole('link', { name: 'Usage' }).click();
    await w.page.locator('.chart canvas').waitFor();
    await poll(() => w.page.locator('table').last().textContent()).toMatch(/ann/);
    await screenshot(w.page, 'admin-usage');
  });

  it('follows the system dark theme and stays readable on a laptop screen', async () => {
    const dark = await openPage(browser, { width: 1440, height: 900, dark: true });
    try {
      await logIn(dark.page, s.server.url, s.token);
      await dark.page.locator('.gpu-tile').first().waitFor();
      const background = await dark.page.evaluate('getComputedStyle(document.body).backgroundColor');
      expect(background).toBe('rgb(14, 17, 22)');
      await screenshot(dark.page, 'overview-dark');
      await dark.page.getByRole('link', { name: 'Jobs' }).click();
      await dark.page.locator('table.jobs tbody tr').first().waitFor();
      await dark.page.locator('table.jobs tbody tr', { hasText: 'ui-demo' }).getByRole('link').click();
      await dark.page.getByTestId('log').getByText('green done').waitFor();
      await screenshot(dark.page, 'job-detail-dark');
      expect(dark.errors).toEqual([]);
    } finally {
      await dark.context.close();
    }
  });

  it('logs out and ends the session', async () => {
    await w.page.getByRole('button', { name: 'Log out' }).click();
    await w.page.getByLabel('API token').waitFor();
    expect(await w.context.cookies()).toEqual([]);
  });
});
