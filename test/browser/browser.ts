// Browser-test harness: a real stint server with fake GPUs (test/helpers/server.ts), the built UI
// (rebuilt first when web/ changed since the last build), and Debian's chromium driven by
// playwright-core (headless, no sandbox as root needs, no background networking). Every console
// error and uncaught page error is recorded; a test fails on any of them except the HTTP error
// answers it declared it expects (Chromium logs each 4xx fetch as "Failed to load resource").

import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { expect } from 'vitest';
import { REPO } from '../helpers/server.js';

export const CHROMIUM = process.env.STINT_CHROMIUM ?? '/usr/bin/chromium';
export const SCREENSHOTS = join(REPO, 'test-output', 'screenshots');
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-dev-shm-usage'];

/** Builds the UI into dist/web unless the build is newer than every file under web/. */
export function ensureUiBuilt(): void {
  const index = join(REPO, 'dist', 'web', 'index.html');
  const built = existsSync(index) ? statSync(index).mtimeMs : 0;
  if (built > newest(join(REPO, 'web'))) return;
  execFileSync(process.execPath, [join(REPO, 'node_modules', 'vite', 'bin', 'vite.js'), 'build', '--config', 'web/vite.config.ts', '--logLevel', 'warn'], { cwd: REPO, stdio: 'inherit', env: { ...process.env, NODE_ENV: 'production' } }); // vitest sets NODE_ENV=test: that would bundle React's development build
}

function newest(dir: string): number {
  let latest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    latest = Math.max(latest, entry.isDirectory() ? newest(path) : statSync(path).mtimeMs);
  }
  return latest;
}

export function launchBrowser(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
}

export interface WatchedPage {
  page: Page;
  context: BrowserContext;
  /** Console and page errors seen so far that no `expectHttpError` allowed. */
  errors: string[];
  /** Allows Chromium's "Failed to load resource" line for this status on a URL containing `path`. */
  expectHttpError(status: number, path: string): void;
}

export async function openPage(browser: Browser, options: { width?: number; height?: number; dark?: boolean } = {}): Promise<WatchedPage> {
  const context = await browser.newContext({ viewport: { width: options.width ?? 1280, height: options.height ?? 800 }, colorScheme: options.dark ? 'dark' : 'light' });
  context.setDefaultTimeout(10_000);
  const page = await context.newPage();
  const errors: string[] = [];
  const allowed: Array<{ status: number; path: string }> = [];
  page.on('console', (message) => {
    if (message.type() !== 'error') return;
    const text = message.text();
    const url = message.location().url;
    const expected = allowed.some((a) => text.includes(`status of ${a.status}`) && url.includes(a.path));
    if (!expected) errors.push(`${text} (${url})`);
  });
  page.on('pageerror', (error) => errors.push(`page error: ${error.message}`));
  return { page, context, errors, expectHttpError: (status, path) => allowed.push({ status, path }) };
}

export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  const path = join(SCREENSHOTS, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}

/** Logs in through the login page, as a person would. */
export async function logIn(page: Page, baseUrl: string, token: string): Promise<void> {
  await page.goto(baseUrl + '/');
  await page.getByLabel('API token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('button', { name: 'Log out' }).waitFor();
  await page.locator('header .who', { hasNotText: 'signing in' }).waitFor();
}

/** expect.poll with room for a loaded machine (its default gives up after one second). */
export function poll<T>(read: () => T | Promise<T>) {
  return expect.poll(read, { timeout: 15_000, interval: 100 });
}
