// `npm run bench:ui`: the web UI's budgets, measured in Debian's headless chromium against real
// `stint server` processes. (1) First load: gzipped JS+CSS that index.html pulls in. (2) With
// 10,000 jobs in the store, the time from navigation to the jobs page being interactive (its
// first page of rows in the DOM and the next frame painted, timed inside the page), cold cache,
// median of RUNS; and the server's own time for that page's request. (3) A log line printed by a
// running job → the same line visible in an open browser: the job prints its own clock (ms) in
// each line, a MutationObserver in the page notes when each appears; both clocks are this
// machine's. Writes bench/results/ui.json and a screenshot of the jobs page with the 10,000 jobs
// (bench/results/ui-jobs-10k.png). The load average is recorded: on a shared machine the
// browser's CPU time, not the server, is what varies.

import { readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { chromium, type Browser } from 'playwright-core';
import { percentile, REPO, round, startBenchServer, type BenchServer } from './server.js';

const JOBS = Number(process.env.STINT_BENCH_UI_JOBS ?? 10_000);
const RUNS = 7;
const TICKS = 40;
const CHROMIUM = process.env.STINT_CHROMIUM ?? '/usr/bin/chromium';
const SCREENSHOT = join(REPO, 'bench', 'results', 'ui-jobs-10k.png');
const ARGS = ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-dev-shm-usage'];

function firstLoadBytes(): { files: string[]; gzipBytes: number; rawBytes: number } {
  const dir = join(REPO, 'dist', 'web');
  const html = readFileSync(join(dir, 'index.html'), 'utf8');
  const files = [...html.matchAll(/(?:src|href)="(\/assets\/[^"]+\.(?:js|css))"/g)].map((m) => m[1]!);
  let gzipBytes = 0;
  let rawBytes = 0;
  for (const file of files) {
    const data = readFileSync(join(dir, file));
    rawBytes += data.length;
    gzipBytes += gzipSync(data, { level: 9 }).length;
  }
  return { files, gzipBytes, rawBytes };
}

async function fillJobs(server: BenchServer, count: number): Promise<void> {
  // One job holds every GPU, so the others stay queued (no 10,000 processes); a fifth are cancelled.
  await server.client.submit({ task: 'name: holder\nresources: {accelerators: A100:4}\nrun: sleep 3600\n' });
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const i = next++;
      const { id } = await server.client.submit({ task: `name: sweep-${i % 97}-lr${i}\nresources: {accelerators: A100:${1 + (i % 4)}}\nrun: python train.py --seed ${i}\n` });
      if (i % 5 === 0) await server.client.cancel(id!);
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
}

async function jobsPageInteractive(browser: Browser, url: string, token: string, screenshotPath?: string): Promise<{ interactiveMs: number; nextPageMs: number; searchMs: number }> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, bypassCSP: true }); // lets the harness poll with string predicates
  await context.addInitScript(`localStorage.setItem('stint.token', ${JSON.stringify(token)})`);
  // Measured inside the page, so the harness's own round trips are not counted: the first moment
  // 100 rows are in the DOM, then the end of the next frame after it (the page can take input).
  await context.addInitScript(`(() => {
    const check = () => {
      if (window.__rowsAt || document.querySelectorAll('table.jobs tbody tr').length < 100) return;
      window.__rowsAt = performance.now();
      requestAnimationFrame(() => setTimeout(() => { window.__interactiveAt = performance.now(); }, 0));
    };
    new MutationObserver(check).observe(document, { childList: true, subtree: true });
  })()`);
  const page = await context.newPage();
  await page.goto(url + '/jobs', { waitUntil: 'commit' });
  await page.waitForFunction('window.__interactiveAt !== undefined', undefined, { timeout: 30_000 });
  const interactiveMs = (await page.evaluate('window.__interactiveAt')) as number;
  const timings = (await page.evaluate(`(() => {
    const entries = performance.getEntriesByType('resource');
    const api = entries.find((e) => e.name.includes('/api/v1/jobs?'));
    const script = entries.find((e) => e.name.endsWith('.js'));
    return { scriptLoadedMs: script ? script.responseEnd : null, apiStartMs: api ? api.startTime : null, apiMs: api ? api.responseEnd - api.startTime : null };
  })()`)) as { scriptLoadedMs: number | null; apiStartMs: number | null; apiMs: number | null };
  if (process.env.STINT_BENCH_UI_VERBOSE) process.stderr.write(`interactive ${round(interactiveMs)} ms: ${JSON.stringify(timings)}\n`);
  if (screenshotPath) await page.screenshot({ path: screenshotPath });
  const firstId = await page.locator('table.jobs tbody tr td').first().textContent();
  let start = Date.now();
  await page.getByRole('button', { name: 'Next' }).click();
  await page.waitForFunction(`document.querySelector('table.jobs tbody tr td')?.textContent !== ${JSON.stringify(firstId)}`, undefined, { polling: 'raf' });
  const nextPageMs = Date.now() - start;
  start = Date.now();
  await page.getByLabel('Name', { exact: true }).fill('sweep-42-');
  await page.waitForFunction("[...document.querySelectorAll('table.jobs tbody td.name')].every((td) => td.textContent.startsWith('sweep-42-')) && document.querySelectorAll('table.jobs tbody tr').length > 0", undefined, { polling: 'raf' });
  const searchMs = Date.now() - start; // includes the search box's 250 ms debounce
  await context.close();
  return { interactiveMs, nextPageMs, searchMs };
}

/** The server's share: the jobs page's first request (100 rows and the total), from Node. */
async function jobsApiTimes(url: string, token: string): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < 20; i++) {
    const start = performance.now();
    const response = await fetch(`${url}/api/v1/jobs?all=true&sort=id&order=desc&offset=0&limit=100`, { headers: { authorization: `Bearer ${token}` } });
    await response.json();
    times.push(round(performance.now() - start));
  }
  return times;
}

async function logLatency(browser: Browser): Promise<number[]> {
  const server = await startBenchServer(['--gpus', 'A100:1']);
  try {
    const token = readFileSync(join(server.home, 'token'), 'utf8').trim();
    const gate = join(server.home, 'go');
    const run = `while [ ! -e ${gate} ]; do sleep 0.05; done; for i in $(seq 1 ${TICKS}); do echo "tick $i $(date +%s%3N)"; sleep 0.2; done`;
    const { id } = await server.client.submit({ task: `name: ticker\nrun: ${JSON.stringify(run)}\n` });
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, bypassCSP: true }); // lets the harness poll with string predicates
    await context.addInitScript(`localStorage.setItem('stint.token', ${JSON.stringify(token)})`);
    const page = await context.newPage();
    await page.goto(`${server.client.baseUrl}/jobs/${id}`);
    await page.waitForFunction("document.querySelector('.log-status')?.dataset.status === 'live'", undefined, { timeout: 30_000 });
    await page.evaluate(`(() => {
      window.seen = {};
      const box = document.querySelector('[data-testid=log]');
      const scan = () => {
        const now = Date.now();
        for (const line of box.querySelectorAll('.log-line')) {
          const m = /^tick (\\d+) (\\d+)$/.exec(line.textContent);
          if (m && !(m[1] in window.seen)) window.seen[m[1]] = now - Number(m[2]);
        }
      };
      new MutationObserver(scan).observe(box, { childList: true, subtree: true, characterData: true });
    })()`);
    await writeFile(gate, '');
    await page.waitForFunction(`Object.keys(window.seen).length >= ${TICKS}`, undefined, { timeout: 60_000 });
    const seen = (await page.evaluate('window.seen')) as Record<string, number>;
    await context.close();
    return Object.values(seen);
  } finally {
    await server.stop();
  }
}

const median = (values: number[]) => percentile(values, 50);

async function main(): Promise<void> {
  const bundle = firstLoadBytes();
  await mkdir(join(REPO, 'bench', 'results'), { recursive: true });
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ARGS });
  try {
    const server = await startBenchServer(['--gpus', 'A100:4']);
    const jobsPage: Array<{ interactiveMs: number; nextPageMs: number; searchMs: number }> = [];
    let apiMs: number[] = [];
    const fillStart = Date.now();
    try {
      await fillJobs(server, JOBS);
      process.stderr.write(`filled ${JOBS} jobs in ${Date.now() - fillStart} ms\n`);
      const token = readFileSync(join(server.home, 'token'), 'utf8').trim();
      apiMs = await jobsApiTimes(server.client.baseUrl, token);
      for (let i = 0; i < RUNS; i++) jobsPage.push(await jobsPageInteractive(browser, server.client.baseUrl, token, i === RUNS - 1 ? SCREENSHOT : undefined));
    } finally {
      await server.stop();
    }
    const latencies = await logLatency(browser);
    const result = {
      bench: 'web_ui',
      firstLoad: { files: bundle.files, gzipKB: round(bundle.gzipBytes / 1024), rawKB: round(bundle.rawBytes / 1024), budgetGzipKB: 500 },
      jobsPage: {
        jobs: JOBS + 1,
        runs: RUNS,
        interactiveMsMedian: round(median(jobsPage.map((r) => r.interactiveMs))),
        interactiveMsAll: jobsPage.map((r) => round(r.interactiveMs)),
        nextPageMsMedian: median(jobsPage.map((r) => r.nextPageMs)),
        nameSearchMsMedian: median(jobsPage.map((r) => r.searchMs)),
        budgetInteractiveMs: 1500,
        apiFirstPageMsMedian: median(apiMs),
      },
      logLine: { lines: latencies.length, medianMs: median(latencies), p95Ms: percentile(latencies, 95), maxMs: Math.max(...latencies), budgetMs: 1000 },
      machine: { cpus: cpus().length, loadAverage1m: round(loadavg()[0] ?? 0, 2), cpuModel: cpus()[0]?.model ?? 'unknown', node: process.version, chromium: browser.version(), date: new Date().toISOString() },
    };
    await writeFile(join(REPO, 'bench', 'results', 'ui.json'), JSON.stringify(result, null, 2) + '\n');
    process.stdout.write(JSON.stringify(result, null, 2) + '\n');
  } finally {
    await browser.close();
  }
}

await main();
